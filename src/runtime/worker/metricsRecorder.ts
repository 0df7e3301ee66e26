import { DurableObject } from 'cloudflare:workers';
import { MetricsAggregator, type SystemFigures } from '../../metrics/aggregator';
import type { RequestSample } from '../../metrics/observation';
import { renderPrometheus } from '../../metrics/prometheus';

/**
 * The service's request figures, in one object (`idFromName('global')`). Isolates send samples in
 * batches, so recording costs no D1 write and no round trip on a request's critical path. Held in
 * memory: a restart resets the counters, which Prometheus reads as a counter reset.
 */
export class MetricsRecorder extends DurableObject {
  private readonly metrics = new MetricsAggregator();

  record(samples: RequestSample[]): void {
    for (const s of samples) this.metrics.record(s);
  }

  setSubscriptions(hub: string, count: number): void {
    this.metrics.setSubscriptions(hub, count);
  }

  figures(): SystemFigures {
    return this.metrics.figures(Date.now());
  }

  prometheus(): string {
    return renderPrometheus(this.metrics);
  }
}
