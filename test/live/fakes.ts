import type { SocketPort, Timers } from '../../src/live/ports';
import type { SystemFigures } from '../../src/metrics/aggregator';
import type { ChangeEvent } from '../../src/usecases/ports/events';

/** Timers on a clock only the test moves: `advance` runs what falls due, in order. */
export function fakeTimers() {
  let now = 0;
  let nextId = 0;
  const scheduled = new Map<number, { at: number; every: number | null; run: () => void }>();
  const schedule = (ms: number, every: number | null, run: () => void) => {
    const id = nextId++;
    scheduled.set(id, { at: now + ms, every, run });
    return () => void scheduled.delete(id);
  };
  const timers: Timers = {
    after: (ms, run) => schedule(ms, null, run),
    every: (ms, run) => schedule(ms, ms, run),
  };
  return {
    timers,
    /** Timers waiting to fire (a ticker counts until cancelled). */
    get pending() {
      return scheduled.size;
    },
    advance(ms: number) {
      const until = now + ms;
      for (;;) {
        const due = [...scheduled.entries()]
          .filter(([, t]) => t.at <= until)
          .sort(([, a], [, b]) => a.at - b.at)[0];
        if (!due) break;
        const [id, t] = due;
        now = t.at;
        if (t.every === null) scheduled.delete(id);
        else t.at += t.every;
        t.run();
      }
      now = until;
    },
  };
}

/** System figures that say which read they are: `requestsPerMinute` counts the reads. */
export function countingFigures() {
  let reads = 0;
  return {
    get reads() {
      return reads;
    },
    systemFigures: async (): Promise<SystemFigures> => ({
      requestsPerMinute: ++reads,
      latencyP50Ms: null,
      latencyP95Ms: null,
      latencyP99Ms: null,
      errorRate: null,
      toolCalls: [],
      subscriptions: 0,
    }),
  };
}

/** A socket that records what was written to it and how it was closed. */
export function fakeSocket(opts: { failSends?: boolean } = {}) {
  const sent: string[] = [];
  const closes: { code: number; reason: string }[] = [];
  const port: SocketPort = {
    send(data) {
      if (opts.failSends) throw new Error('socket gone');
      sent.push(data);
    },
    close: (code, reason) => void closes.push({ code, reason }),
  };
  return { port, sent, closes };
}

let seq = 0;
export function changeEvent(tenantId: string, overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  seq++;
  return {
    tenantId,
    changeId: `chg-${seq}`,
    title: `Change ${seq}`,
    action: 'change.created',
    status: 'DRAFT',
    previousStatus: null,
    version: 1,
    actorId: 'rita',
    source: 'graphql',
    at: new Date(0).toISOString(),
    ...overrides,
  };
}

/** Reads a feed as a subscriber does, into `values`, until `stop` (the client leaving). */
export function subscribe<T>(feed: AsyncIterable<T>) {
  const values: T[] = [];
  const iterator = feed[Symbol.asyncIterator]();
  let ended = false;
  const reading = (async () => {
    for (;;) {
      const r = await iterator.next();
      if (r.done) break;
      values.push(r.value);
    }
    ended = true;
  })();
  return {
    values,
    get ended() {
      return ended;
    },
    async stop() {
      await iterator.return?.();
      await reading;
    },
  };
}

/** Lets pending promises (a D1 read, a stream's push) run, in real time. */
export const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));
