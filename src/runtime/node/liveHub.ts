import type { ExecutionEvent } from '../../engine/engine';
import { createLiveFeeds, type LiveFeeds } from '../../live/feeds';
import type { Logger } from '../../log';
import type { MetricsAggregator } from '../../metrics/aggregator';
import type { ChangeEvent } from '../../usecases/ports/events';
import type { LivePort } from '../../usecases/ports/live';

/**
 * The in-process hub of the Node runtime: the live core (src/live) for every tenant of this one
 * process, as a tenant's Durable Object hub is for that tenant in a Worker. Mutations publish
 * change events here after their batch commits. Subscriptions themselves are executed through
 * Yoga elsewhere (subscriptions.ts).
 */
export class LiveHub {
  private readonly live: LiveFeeds;

  constructor(deps: { db: D1Database; metrics: MetricsAggregator; logger: Logger }) {
    this.live = createLiveFeeds({
      db: deps.db,
      systemFigures: async () => deps.metrics.figures(Date.now()),
      onSubscribers: (tenantId, count) => deps.metrics.setSubscriptions(tenantId, count),
      logger: deps.logger,
    });
  }

  /** After a mutation's batch committed. */
  publish(event: ChangeEvent): void {
    this.live.publish(event);
  }

  /** After the engine recorded an execution's progress (executions.ts). */
  publishExecution(event: ExecutionEvent): void {
    this.live.publishExecution(event);
  }

  /** The live feeds of one tenant, for the context of that tenant's subscriptions. */
  livePort(tenantId: string): LivePort {
    return this.live.port(tenantId);
  }

  /** For /health: fails once shutdown began, so a balancer stops sending new work. */
  async ping(): Promise<'ok'> {
    if (this.live.closed) throw new Error('shutting down');
    return 'ok';
  }

  /** Ends every subscription (their streams complete) and stops the timers. */
  close(): void {
    this.live.close();
  }
}
