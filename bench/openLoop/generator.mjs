// An open-loop load generator (issue 17 item 3): requests are due at a fixed arrival rate,
// whatever the server does, and each one's latency is measured from the time it was due (its
// intended send time), not from when it was actually sent. A closed-loop tool (autocannon, or
// `drive` in bench/lib.mjs) sends the next request only when one comes back, so a stalled server
// also stalls the clock and the requests that would have queued behind the stall are never
// measured: "coordinated omission". Here a request that cannot be sent at its time (every slot
// in flight) waits in a backlog, and that wait is part of its latency.
//
// Bounded: at most `maxRequests` requests, none due after `durationMs`, and at most `graceMs`
// after the last one was due before whatever is still out is counted as unfinished.

/**
 * @typedef {{ ok: boolean, status?: number, error?: string }} SendOutcome
 * @typedef {{ intended: number, started: number, ended: number, ok: boolean, status?: number, error?: string }} RequestRecord
 */

/**
 * Runs one level: `send()` at `rate` per second for `durationMs` with at most `maxInFlight` in
 * flight. `now` and `sleep` are injectable (tests); times are in ms.
 * @param {{
 *   send: () => Promise<SendOutcome>,
 *   rate: number,
 *   durationMs: number,
 *   maxInFlight: number,
 *   maxRequests?: number,
 *   graceMs?: number,
 *   now?: () => number,
 *   sleep?: (ms: number) => Promise<void>,
 * }} o
 */
export async function openLoop(o) {
  const now = o.now ?? (() => performance.now());
  const sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  if (!(o.rate > 0) || !(o.durationMs > 0) || !(o.maxInFlight >= 1))
    throw new Error('rate, durationMs and maxInFlight must be positive');
  const count = Math.min(
    o.maxRequests ?? Number.POSITIVE_INFINITY,
    Math.max(1, Math.floor((o.rate * o.durationMs) / 1000)),
  );
  const interval = 1000 / o.rate;
  const t0 = now();
  const intendedAt = (/** @type {number} */ i) => t0 + i * interval;
  /** @type {RequestRecord[]} */
  const done = [];
  /** @type {number[]} */
  const backlog = [];
  let inFlight = 0;
  let maxInFlightSeen = 0;
  let maxBacklog = 0;
  let finished = 0;
  /** @type {() => void} */
  let wake = () => {};

  const start = (/** @type {number} */ i) => {
    inFlight++;
    maxInFlightSeen = Math.max(maxInFlightSeen, inFlight);
    const started = now();
    const intended = intendedAt(i);
    Promise.resolve()
      .then(o.send)
      .then(
        (r) => ({ ok: r.ok, status: r.status }),
        (e) => ({ ok: false, error: String(e?.message ?? e) }),
      )
      .then((r) => {
        done.push({ intended, started, ended: now(), ...r });
        inFlight--;
        finished++;
        const next = backlog.shift();
        if (next !== undefined) start(next);
        wake();
      });
  };

  // The schedule: each request at its time; one that finds every slot busy waits in the backlog.
  for (let i = 0; i < count; i++) {
    const wait = intendedAt(i) - now();
    if (wait > 0) await sleep(wait);
    if (inFlight < o.maxInFlight) start(i);
    else {
      backlog.push(i);
      maxBacklog = Math.max(maxBacklog, backlog.length);
    }
  }
  // Then until all are back, or the grace period after the last one was due.
  const deadline = intendedAt(count - 1) + (o.graceMs ?? 10_000);
  while (finished < count && now() < deadline) {
    await Promise.race([
      new Promise((/** @type {(v?: unknown) => void} */ r) => (wake = r)),
      sleep(Math.max(1, Math.min(50, deadline - now()))),
    ]);
  }
  const end = now();
  return summarise({
    records: [...done],
    count,
    t0,
    end,
    rate: o.rate,
    maxInFlight: o.maxInFlight,
    maxInFlightSeen,
    maxBacklog,
  });
}

/** The `p`th percentile of sorted `xs` (nearest rank), NaN when empty. */
const pct = (/** @type {number[]} */ xs, /** @type {number} */ p) =>
  xs.length
    ? /** @type {number} */ (xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)])
    : Number.NaN;

/**
 * One level's figures: latency from the intended time (what a user waiting for the answer sees)
 * and from the actual send (what a closed-loop tool would report) side by side.
 * @param {{ records: RequestRecord[], count: number, t0: number, end: number, rate: number,
 *   maxInFlight: number, maxInFlightSeen: number, maxBacklog: number }} r
 */
export function summarise(r) {
  const ok = r.records.filter((x) => x.ok);
  const fromIntended = ok.map((x) => x.ended - x.intended).sort((a, b) => a - b);
  const fromSend = ok.map((x) => x.ended - x.started).sort((a, b) => a - b);
  const lastEnd = r.records.reduce((m, x) => Math.max(m, x.ended), r.t0);
  const seconds = Math.max(1e-9, (lastEnd - r.t0) / 1000);
  const statuses = /** @type {Record<string, number>} */ ({});
  for (const x of r.records.filter((y) => !y.ok)) {
    const key = x.error ? `error: ${x.error.slice(0, 80)}` : `status ${x.status}`;
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  return {
    offeredRate: r.rate,
    maxInFlight: r.maxInFlight,
    requests: r.count,
    completed: r.records.length,
    ok: ok.length,
    errors: r.records.length - ok.length,
    unfinished: r.count - r.records.length,
    errorKinds: statuses,
    throughput: ok.length / seconds,
    latencyMs: {
      p50: pct(fromIntended, 50),
      p99: pct(fromIntended, 99),
      max: fromIntended.at(-1) ?? Number.NaN,
    },
    serviceMs: { p50: pct(fromSend, 50), p99: pct(fromSend, 99) },
    maxInFlightSeen: r.maxInFlightSeen,
    maxBacklog: r.maxBacklog,
    durationMs: r.end - r.t0,
  };
}
