import type { RequestSample } from './observation';

/** Upper bounds (seconds) of the request-duration histogram. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const WINDOW_MS = 60_000;
/** Latencies kept per second for percentiles; beyond it a reservoir keeps a fair sample. */
const MAX_PER_SECOND = 200;

export interface SystemFigures {
  requestsPerMinute: number;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  latencyP99Ms: number | null;
  /** Share of requests in the last minute answered 5xx or with a GraphQL error, 0–1. */
  errorRate: number | null;
  toolCalls: { tool: string; calls: number; errors: number }[];
  subscriptions: number;
}

interface SecondBucket {
  second: number;
  count: number;
  errors: number;
  latencies: number[];
}

const key = (labels: Record<string, string | number>) => JSON.stringify(labels);

/** Counters, a histogram and a one-minute sliding view of requests, for /metrics and the dashboard. */
export class MetricsAggregator {
  readonly requests = new Map<string, { route: string; status: number; count: number }>();
  readonly errors = new Map<string, number>();
  readonly tools = new Map<string, { tool: string; outcome: string; count: number }>();
  readonly histogram = new Map<string, { buckets: number[]; sum: number; count: number }>();
  private recent: SecondBucket[] = [];
  private subscriptionsByHub = new Map<string, number>();

  record(s: RequestSample): void {
    const rk = key({ route: s.route, status: s.status });
    const r = this.requests.get(rk) ?? { route: s.route, status: s.status, count: 0 };
    r.count++;
    this.requests.set(rk, r);
    for (const code of s.errorCodes) this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
    for (const t of s.toolCalls) {
      const tk = key(t);
      const entry = this.tools.get(tk) ?? { tool: t.tool, outcome: t.outcome, count: 0 };
      entry.count++;
      this.tools.set(tk, entry);
    }
    const h = this.histogram.get(s.route) ?? { buckets: LATENCY_BUCKETS_S.map(() => 0), sum: 0, count: 0 };
    const seconds = s.durationMs / 1000;
    LATENCY_BUCKETS_S.forEach((le, i) => {
      if (seconds <= le) h.buckets[i] = (h.buckets[i] ?? 0) + 1;
    });
    h.sum += seconds;
    h.count++;
    this.histogram.set(s.route, h);

    const second = Math.floor(s.at / 1000);
    let bucket = this.recent.at(-1);
    if (!bucket || bucket.second !== second) {
      bucket = { second, count: 0, errors: 0, latencies: [] };
      this.recent.push(bucket);
      this.prune(s.at);
    }
    bucket.count++;
    if (s.status >= 500 || s.errorCodes.length > 0) bucket.errors++;
    if (bucket.latencies.length < MAX_PER_SECOND) bucket.latencies.push(s.durationMs);
    else {
      const slot = Math.floor(Math.random() * bucket.count);
      if (slot < MAX_PER_SECOND) bucket.latencies[slot] = s.durationMs;
    }
  }

  setSubscriptions(hub: string, count: number): void {
    if (count > 0) this.subscriptionsByHub.set(hub, count);
    else this.subscriptionsByHub.delete(hub);
  }

  get subscriptions(): number {
    let n = 0;
    for (const c of this.subscriptionsByHub.values()) n += c;
    return n;
  }

  private prune(now: number): void {
    const oldest = Math.floor((now - WINDOW_MS) / 1000);
    while (this.recent.length > 0 && (this.recent[0] as SecondBucket).second <= oldest) this.recent.shift();
  }

  figures(now: number): SystemFigures {
    this.prune(now);
    const latencies = this.recent.flatMap((b) => b.latencies).sort((a, b) => a - b);
    const count = this.recent.reduce((n, b) => n + b.count, 0);
    const errors = this.recent.reduce((n, b) => n + b.errors, 0);
    const pct = (p: number) =>
      latencies.length === 0
        ? null
        : Math.round(
            (latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] as number) * 100,
          ) / 100;
    const byTool = new Map<string, { tool: string; calls: number; errors: number }>();
    for (const t of this.tools.values()) {
      const e = byTool.get(t.tool) ?? { tool: t.tool, calls: 0, errors: 0 };
      e.calls += t.count;
      if (t.outcome === 'error') e.errors += t.count;
      byTool.set(t.tool, e);
    }
    return {
      requestsPerMinute: count,
      latencyP50Ms: pct(0.5),
      latencyP95Ms: pct(0.95),
      latencyP99Ms: pct(0.99),
      errorRate: count === 0 ? null : Math.round((errors / count) * 10_000) / 10_000,
      toolCalls: [...byTool.values()].sort((a, b) => b.calls - a.calls),
      subscriptions: this.subscriptions,
    };
  }
}
