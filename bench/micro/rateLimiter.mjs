// The rate limiter's own cost per check, the ring buffer (src/ratelimit/slidingWindow.ts) against
// the plain log it replaced (test/ratelimit/slidingWindowLog.ts), side by side in one process:
// rounds alternate between them, on a simulated clock (no Date.now in the loop), and the entries
// each holds are reported. Scenarios:
//   bench      the bench's limits (1e8 a minute, 1e7 a second: nothing refused), 2,000 checks/s
//   busy       an authenticated caller's defaults (600/min, burst 20) hammered at 100 checks/s
//   batches    MCP batches of 1..40 under 10,000/min, 1,000/s, 500 checks/s
//
//   node --import tsx bench/micro/rateLimiter.mjs [--rounds 7] [--checks 200000]
import { parseArgs } from 'node:util';
import { SlidingWindow } from '../../src/ratelimit/slidingWindow.ts';
import { SlidingWindowLog } from '../../test/ratelimit/slidingWindowLog.ts';
import { confidenceInterval } from '../stats.mjs';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '7' }, checks: { type: 'string', default: '200000' } },
});
const ROUNDS = Number(values.rounds);
const CHECKS = Number(values.checks);

const SCENARIOS = {
  bench: { limits: { perMinute: 1e8, burstPerSecond: 1e7 }, perSecond: 2_000, cost: () => 1 },
  busy: { limits: { perMinute: 600, burstPerSecond: 20 }, perSecond: 100, cost: () => 1 },
  batches: {
    limits: { perMinute: 10_000, burstPerSecond: 1_000 },
    perSecond: 500,
    cost: (/** @type {number} */ i) => 1 + ((i * 7919) % 40),
  },
};
const IMPLEMENTATIONS = { log: SlidingWindowLog, ring: SlidingWindow };

/**
 * One round: a fresh window driven through a full minute first (the steady state), then CHECKS
 * timed checks. Returns ns per check, admissions, and the entries held at the end.
 * @param {new () => { check: (now: number, limits: import('../../src/ratelimit/slidingWindow.ts').Limits, cost?: number) => { allowed: boolean } }} Impl
 * @param {(typeof SCENARIOS)[keyof typeof SCENARIOS]} s
 */
function round(Impl, s) {
  const w = new Impl();
  const step = 1000 / s.perSecond;
  const t = 1_700_000_000_000;
  let i = 0;
  for (; i < s.perSecond * 61; i++) w.check(Math.floor(t + i * step), s.limits, s.cost(i));
  let admitted = 0;
  const start = process.hrtime.bigint();
  for (const end = i + CHECKS; i < end; i++) {
    if (w.check(Math.floor(t + i * step), s.limits, s.cost(i)).allowed) admitted++;
  }
  const ns = Number(process.hrtime.bigint() - start) / CHECKS;
  const held =
    w instanceof SlidingWindow
      ? w.entries
      : /** @type {{ times: number[] }} */ (/** @type {unknown} */ (w)).times.length;
  return { ns, admitted, held };
}

console.log(`rate limiter, ${ROUNDS} alternating rounds × ${CHECKS} checks after a minute of warm traffic`);
console.log('scenario  impl   ns/check (mean ±95%)   admitted  entries held');
for (const [name, s] of Object.entries(SCENARIOS)) {
  /** @type {Record<string, { ns: number[], admitted: number, held: number }>} */
  const r = { log: { ns: [], admitted: 0, held: 0 }, ring: { ns: [], admitted: 0, held: 0 } };
  for (const Impl of Object.values(IMPLEMENTATIONS)) round(Impl, s); // warm-up
  for (let k = 0; k < ROUNDS; k++) {
    const order = k % 2 ? ['ring', 'log'] : ['log', 'ring'];
    for (const impl of order) {
      const x = round(IMPLEMENTATIONS[/** @type {'log' | 'ring'} */ (impl)], s);
      const e = /** @type {{ ns: number[], admitted: number, held: number }} */ (r[impl]);
      e.ns.push(x.ns);
      e.admitted = x.admitted;
      e.held = x.held;
    }
  }
  for (const [impl, e] of Object.entries(r)) {
    const ci = confidenceInterval(e.ns);
    console.log(
      `${name.padEnd(9)} ${impl.padEnd(5)} ${ci.mean.toFixed(1).padStart(9)} ±${(ci.relative * 100).toFixed(1).padStart(4)}%   ${String(e.admitted).padStart(9)}  ${String(e.held).padStart(9)}`,
    );
  }
  const log = /** @type {{ ns: number[], admitted: number }} */ (r.log);
  const ring = /** @type {{ ns: number[], admitted: number }} */ (r.ring);
  if (log.admitted !== ring.admitted) throw new Error(`${name}: the two admitted differently`);
}
