import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { Principal } from '../../auth/principal';
import type { Logger } from '../../log';
import type { MetricsAggregator } from '../../metrics/aggregator';
import { type AuthedContext, createRequestContext } from '../../usecases/context';
import type { ChangeEvent } from '../../usecases/ports/events';
import type { LiveMetrics, LivePort } from '../../usecases/ports/live';
import { changeKpis } from '../../usecases/reports';

/** Coalesces bursts of change events into at most a few KPI updates per second. */
const RECOMPUTE_DEBOUNCE_MS = 250;
/** Cadence of system-figure updates while anyone is subscribed. */
const TICK_MS = 5_000;
/** Updates a slow subscriber may fall behind by before the oldest are dropped. */
const BUFFER = 16;

interface Listener<T> {
  push: (value: T) => void;
  accepts: (value: T) => boolean;
  stop: () => void;
}

/** One tenant's subscribers and the timers that feed them; dropped when nobody listens. */
class TenantFeeds {
  readonly metrics = new Set<Listener<LiveMetrics>>();
  readonly changes = new Set<Listener<ChangeEvent>>();
  latest: LiveMetrics | null = null;
  recompute: ReturnType<typeof setTimeout> | null = null;
  ticker: ReturnType<typeof setInterval> | null = null;

  get subscribers() {
    return this.metrics.size + this.changes.size;
  }

  stopTimers() {
    if (this.recompute) clearTimeout(this.recompute);
    if (this.ticker) clearInterval(this.ticker);
    this.recompute = null;
    this.ticker = null;
  }
}

/**
 * The in-process pubsub of the Node runtime: what a tenant's Durable Object hub does in a Worker
 * (src/runtime/worker/tenantHub.ts), for every tenant of this one process. Mutations publish change events
 * here after their batch commits; subscribers of a tenant get them and, debounced, fresh KPI
 * snapshots. Subscriptions themselves are executed through Yoga elsewhere (subscriptions.ts).
 */
export class LiveHub {
  private readonly tenants = new Map<string, TenantFeeds>();
  private closed = false;

  constructor(private readonly deps: { db: D1Database; metrics: MetricsAggregator; logger: Logger }) {}

  /** After a mutation's batch committed. */
  publish(event: ChangeEvent): void {
    const feeds = this.tenants.get(event.tenantId);
    if (!feeds) return;
    for (const l of feeds.changes) if (l.accepts(event)) l.push(event);
    if (feeds.metrics.size > 0 && !feeds.recompute) {
      feeds.recompute = setTimeout(() => {
        feeds.recompute = null;
        void this.broadcastSnapshot(event.tenantId, feeds);
      }, RECOMPUTE_DEBOUNCE_MS);
    }
  }

  /** The live feeds of one tenant, for the context of that tenant's subscriptions. */
  livePort(tenantId: string): LivePort {
    return {
      systemFigures: async () => this.deps.metrics.figures(Date.now()),
      metrics: () =>
        this.feed(
          tenantId,
          (feeds) => feeds.metrics,
          () => true,
          (feeds) => feeds.latest ?? this.snapshot(tenantId),
        ),
      changeEvents: (filter) =>
        this.feed(
          tenantId,
          (feeds) => feeds.changes,
          (e) => {
            if (filter?.changeId && e.changeId !== filter.changeId) return false;
            return !filter?.statuses?.length || filter.statuses.includes(e.status);
          },
        ),
    };
  }

  /** For /health: fails once shutdown began, so a balancer stops sending new work. */
  async ping(): Promise<'ok'> {
    if (this.closed) throw new Error('shutting down');
    return 'ok';
  }

  /** Ends every subscription (their streams complete) and stops the timers. */
  close(): void {
    this.closed = true;
    for (const feeds of this.tenants.values()) {
      feeds.stopTimers();
      for (const l of [...feeds.metrics, ...feeds.changes]) l.stop();
    }
  }

  private feeds(tenantId: string): TenantFeeds {
    let feeds = this.tenants.get(tenantId);
    if (!feeds) {
      feeds = new TenantFeeds();
      this.tenants.set(tenantId, feeds);
    }
    return feeds;
  }

  /**
   * A subscriber's stream: registered while iterated, removed the moment the client leaves. The
   * tenant's feeds are looked up when iteration starts, not before: they may have been dropped
   * in between.
   */
  private feed<T>(
    tenantId: string,
    listenersOf: (feeds: TenantFeeds) => Set<Listener<T>>,
    accepts: (v: T) => boolean,
    first?: (feeds: TenantFeeds) => Promise<T> | T,
  ) {
    return new Repeater<T>(async (push, stop) => {
      if (this.closed) return stop();
      const feeds = this.feeds(tenantId);
      const listeners = listenersOf(feeds);
      const listener: Listener<T> = { push: (v) => void push(v), accepts, stop: () => stop() };
      listeners.add(listener);
      this.subscribersChanged(tenantId, feeds);
      try {
        if (first) void push(await first(feeds));
        await stop;
      } finally {
        listeners.delete(listener);
        this.subscribersChanged(tenantId, feeds);
      }
    }, new SlidingBuffer(BUFFER));
  }

  private subscribersChanged(tenantId: string, feeds: TenantFeeds) {
    const count = feeds.subscribers;
    this.deps.metrics.setSubscriptions(tenantId, count);
    if (count === 0) {
      feeds.stopTimers();
      if (this.tenants.get(tenantId) === feeds) this.tenants.delete(tenantId);
    } else if (feeds.metrics.size > 0 && !feeds.ticker && !this.closed) {
      feeds.ticker = setInterval(() => void this.broadcastSnapshot(tenantId, feeds), TICK_MS);
    } else if (feeds.metrics.size === 0 && feeds.ticker) {
      clearInterval(feeds.ticker);
      feeds.ticker = null;
    }
  }

  private async snapshot(tenantId: string): Promise<LiveMetrics> {
    // Reads as a viewer of the tenant, like the Worker's hub: the KPIs need no more.
    const principal: Principal = {
      id: 'changeflow-hub',
      tenantId,
      roles: ['viewer'],
      kind: 'user',
      name: null,
      email: null,
    };
    const ctx = createRequestContext({ db: this.deps.db, requestId: 'hub', principal }) as AuthedContext;
    const kpis = await changeKpis(ctx);
    const latest = { kpis, system: this.deps.metrics.figures(Date.now()), generatedAt: kpis.generatedAt };
    const feeds = this.tenants.get(tenantId);
    if (feeds) feeds.latest = latest;
    return latest;
  }

  private async broadcastSnapshot(tenantId: string, feeds: TenantFeeds) {
    try {
      const snapshot = await this.snapshot(tenantId);
      for (const l of feeds.metrics) l.push(snapshot);
    } catch (e) {
      this.deps.logger.log('error', 'metrics snapshot failed', { tenant: tenantId, error: String(e) });
    }
  }
}
