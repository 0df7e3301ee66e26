import type { ExecutionEvent } from '../../engine/engine';
import type { SystemFigures } from '../../metrics/aggregator';
import type { ChangeKpis } from '../reports';
import type { ChangeEvent } from './events';

/** One live metrics update: the tenant's change KPIs and the service's system figures. */
export interface LiveMetrics {
  kpis: ChangeKpis;
  system: SystemFigures;
  generatedAt: string;
}

/**
 * Live data for subscriptions and the live snapshot, provided by the runtime: the live core
 * (src/live/feeds.ts) behind the tenant's hub (a Durable Object) in a Worker, behind the
 * in-process hub in Node. Resolvers never import it.
 */
export interface LivePort {
  /** The system figures now (requests/min, latency percentiles, error rate, tool calls). */
  systemFigures(): Promise<SystemFigures>;
  /** Only where subscriptions are executed (inside the hub): a snapshot now, then each update. */
  metrics?(): AsyncIterable<LiveMetrics>;
  changeEvents?(filter?: {
    changeId?: string | null;
    statuses?: string[] | null;
  }): AsyncIterable<ChangeEvent>;
  executionEvents?(filter?: {
    executionId?: string | null;
    workflowId?: string | null;
  }): AsyncIterable<ExecutionEvent>;
}
