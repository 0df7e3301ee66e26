import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { ExecutionEvent } from '../engine/engine';
import type { SystemFigures } from '../metrics/aggregator';
import { type AuthedContext, createRequestContext } from '../usecases/context';
import type { ChangeEvent } from '../usecases/ports/events';
import type { LiveMetrics, LivePort } from '../usecases/ports/live';
import { changeKpis } from '../usecases/reports';
import { type LiveLogger, systemTimers, type Timers } from './ports';
import { hubPrincipal } from './principal';

export interface LiveFeedsOptions {
  db: D1Database;
  /** The service's figures now (the metrics recorder of the runtime). */
  systemFigures: () => Promise<SystemFigures>;
  /** Told each time a tenant's count of open subscriptions changes. */
  onSubscribers: (tenantId: string, count: number) => void;
  logger: LiveLogger;
  /** @default the platform's setTimeout/setInterval */
  timers?: Timers;
  /** The clock a snapshot is dated by. @default () => new Date() */
  now?: () => Date;
  /** Coalesces bursts of change events into at most a few KPI updates per second. @default 250 */
  debounceMs?: number;
  /** Cadence of snapshot updates while anyone subscribes to metrics. @default 5000 */
  tickMs?: number;
  /** Updates a slow subscriber may fall behind by before the oldest are dropped. @default 16 */
  buffer?: number;
}

/** The feeds of one tenant as a LivePort, every feed present. */
export type TenantLivePort = Required<LivePort>;

export interface LiveFeeds {
  /** A change committed: to its tenant's change subscribers, and a KPI recompute (debounced). */
  publish(event: ChangeEvent): void;
  /** An execution moved: to its tenant's execution subscribers. */
  publishExecution(event: ExecutionEvent): void;
  /** The live feeds of one tenant, for the context of that tenant's subscriptions. */
  port(tenantId: string): TenantLivePort;
  /** Open subscriptions, of one tenant or of all. */
  subscribers(tenantId?: string): number;
  /** Ends every subscription (their streams complete) and stops the timers; later ones end at once. */
  close(): void;
  readonly closed: boolean;
}

interface Listener<T> {
  push: (value: T) => void;
  accepts: (value: T) => boolean;
  stop: () => void;
}

/** One tenant's subscribers and the timers that feed them; dropped when nobody listens. */
class TenantFeeds {
  readonly metrics = new Set<Listener<LiveMetrics>>();
  readonly changes = new Set<Listener<ChangeEvent>>();
  readonly executions = new Set<Listener<ExecutionEvent>>();
  latest: LiveMetrics | null = null;
  cancelRecompute: (() => void) | null = null;
  cancelTicker: (() => void) | null = null;

  get subscribers() {
    return this.metrics.size + this.changes.size + this.executions.size;
  }

  listeners() {
    return [...this.metrics, ...this.changes, ...this.executions];
  }

  stopTimers() {
    this.cancelRecompute?.();
    this.cancelTicker?.();
    this.cancelRecompute = null;
    this.cancelTicker = null;
  }
}

const acceptChange =
  (filter: Parameters<TenantLivePort['changeEvents']>[0]) =>
  (e: ChangeEvent): boolean => {
    if (filter?.changeId && e.changeId !== filter.changeId) return false;
    return !filter?.statuses?.length || filter.statuses.includes(e.status);
  };

const acceptExecution =
  (filter: Parameters<TenantLivePort['executionEvents']>[0]) =>
  (e: ExecutionEvent): boolean =>
    (!filter?.executionId || e.executionId === filter.executionId) &&
    (!filter?.workflowId || e.workflowId === filter.workflowId);

/**
 * The live feeds of every tenant a runtime serves: subscribers of KPI snapshots, change events
 * and execution events. Runtime-agnostic, like graphql-ws's makeServer: a Worker's tenant hub
 * (one tenant per Durable Object) and the Node process (every tenant) are thin adapters that
 * give it their timers, metrics and database.
 */
export function createLiveFeeds({
  db,
  systemFigures,
  onSubscribers,
  logger,
  timers = systemTimers,
  now = () => new Date(),
  debounceMs = 250,
  tickMs = 5_000,
  buffer = 16,
}: LiveFeedsOptions): LiveFeeds {
  const tenants = new Map<string, TenantFeeds>();
  let closed = false;

  const feedsOf = (tenantId: string) => {
    let feeds = tenants.get(tenantId);
    if (!feeds) {
      feeds = new TenantFeeds();
      tenants.set(tenantId, feeds);
    }
    return feeds;
  };

  async function snapshot(tenantId: string): Promise<LiveMetrics> {
    const ctx = createRequestContext({
      db,
      requestId: 'hub',
      principal: hubPrincipal(tenantId),
    }) as AuthedContext;
    ctx.now = now;
    const [kpis, system] = await Promise.all([changeKpis(ctx), systemFigures()]);
    const latest = { kpis, system, generatedAt: kpis.generatedAt };
    const feeds = tenants.get(tenantId);
    if (feeds) feeds.latest = latest;
    return latest;
  }

  async function broadcastSnapshot(tenantId: string, feeds: TenantFeeds) {
    try {
      const latest = await snapshot(tenantId);
      for (const l of feeds.metrics) l.push(latest);
    } catch (e) {
      logger.log('error', 'metrics snapshot failed', { tenant: tenantId, error: String(e) });
    }
  }

  function subscribersChanged(tenantId: string, feeds: TenantFeeds) {
    const count = feeds.subscribers;
    onSubscribers(tenantId, count);
    if (count === 0) {
      feeds.stopTimers();
      if (tenants.get(tenantId) === feeds) tenants.delete(tenantId);
    } else if (feeds.metrics.size > 0 && !feeds.cancelTicker && !closed) {
      feeds.cancelTicker = timers.every(tickMs, () => void broadcastSnapshot(tenantId, feeds));
    } else if (feeds.metrics.size === 0 && feeds.cancelTicker) {
      feeds.cancelTicker();
      feeds.cancelTicker = null;
    }
  }

  /**
   * A subscriber's stream: registered while iterated, removed the moment the client leaves. The
   * tenant's feeds are looked up when iteration starts, not before: they may have been dropped
   * in between.
   */
  function feed<T>(
    tenantId: string,
    listenersOf: (feeds: TenantFeeds) => Set<Listener<T>>,
    accepts: (v: T) => boolean,
    first?: (feeds: TenantFeeds) => Promise<T> | T,
  ): AsyncIterable<T> {
    return new Repeater<T>(async (push, stop) => {
      if (closed) return stop();
      const feeds = feedsOf(tenantId);
      const listeners = listenersOf(feeds);
      const listener: Listener<T> = { push: (v) => void push(v), accepts, stop: () => stop() };
      listeners.add(listener);
      subscribersChanged(tenantId, feeds);
      try {
        if (first) void push(await first(feeds));
        await stop;
      } finally {
        // Also when the first snapshot failed: a listener must never outlive its subscriber.
        listeners.delete(listener);
        subscribersChanged(tenantId, feeds);
      }
    }, new SlidingBuffer(buffer));
  }

  return {
    publish(event) {
      const feeds = tenants.get(event.tenantId);
      if (!feeds) return;
      for (const l of feeds.changes) if (l.accepts(event)) l.push(event);
      if (feeds.metrics.size > 0 && !feeds.cancelRecompute) {
        feeds.cancelRecompute = timers.after(debounceMs, () => {
          feeds.cancelRecompute = null;
          void broadcastSnapshot(event.tenantId, feeds);
        });
      }
    },

    publishExecution(event) {
      const feeds = tenants.get(event.tenantId);
      if (!feeds) return;
      for (const l of feeds.executions) if (l.accepts(event)) l.push(event);
    },

    port: (tenantId) => ({
      systemFigures,
      metrics: () =>
        feed(
          tenantId,
          (feeds) => feeds.metrics,
          () => true,
          (feeds) => feeds.latest ?? snapshot(tenantId),
        ),
      changeEvents: (filter) => feed(tenantId, (feeds) => feeds.changes, acceptChange(filter)),
      executionEvents: (filter) => feed(tenantId, (feeds) => feeds.executions, acceptExecution(filter)),
    }),

    subscribers(tenantId) {
      if (tenantId !== undefined) return tenants.get(tenantId)?.subscribers ?? 0;
      let n = 0;
      for (const feeds of tenants.values()) n += feeds.subscribers;
      return n;
    },

    close() {
      closed = true;
      for (const feeds of tenants.values()) {
        feeds.stopTimers();
        for (const l of feeds.listeners()) l.stop();
      }
    },

    get closed() {
      return closed;
    },
  };
}
