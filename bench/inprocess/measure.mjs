// Side-by-side measurement of in-process servers: a warm-up per server, then rounds in which
// every server runs for the same wall time, one request after the other, the starting server
// rotating from round to round so that drift on a shared machine is spread evenly. Per round:
// operations/s (wall) and CPU µs per operation (process.cpuUsage of the process that ran them:
// user + system, all its threads). Reported: medians over rounds.
import { median } from '../lib.mjs';

/**
 * Runs `fn` back to back for `ms` of wall time, after a GC when --expose-gc allows it.
 * @param {() => Promise<unknown>} fn
 * @param {number} ms
 * @returns {Promise<import('../types.ts').LoopSample>}
 */
export async function timeLoop(fn, ms) {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  let n = 0;
  const started = performance.now();
  do {
    await fn();
    n++;
  } while (performance.now() - started < ms);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { n, wallMs, cpuUs: used.user + used.system };
}

/**
 * `runners`: name → (ms) => Promise<{ n, wallMs, cpuUs }> (see timeLoop).
 * @template {string} K
 * @param {Record<K, (ms: number) => Promise<import('../types.ts').LoopSample>>} runners
 * @param {{ rounds: number, roundMs: number, warmupMs: number }} options
 * @returns {Promise<Record<K, { opsPerSec: number, cpuUsPerOp: number, rounds: number[] }>>}
 */
export async function alternate(runners, { rounds, roundMs, warmupMs }) {
  const entries = /** @type {[K, (ms: number) => Promise<import('../types.ts').LoopSample>][]} */ (
    Object.entries(runners)
  );
  for (const [, runner] of entries) await runner(warmupMs);
  const samples = entries.map(([name, runner]) => ({
    name,
    runner,
    /** @type {number[]} */ opsPerSec: [],
    /** @type {number[]} */ cpuUsPerOp: [],
  }));
  for (let r = 0; r < rounds; r++) {
    // The starting runner rotates from round to round.
    for (let i = 0; i < samples.length; i++) {
      const sample = /** @type {(typeof samples)[number]} */ (samples[(i + r) % samples.length]);
      const { n, wallMs, cpuUs } = await sample.runner(roundMs);
      sample.opsPerSec.push((n * 1000) / wallMs);
      sample.cpuUsPerOp.push(cpuUs / n);
    }
  }
  return /** @type {Record<K, { opsPerSec: number, cpuUsPerOp: number, rounds: number[] }>} */ (
    Object.fromEntries(
      samples.map((s) => [
        s.name,
        {
          opsPerSec: median(s.opsPerSec),
          cpuUsPerOp: median(s.cpuUsPerOp),
          rounds: s.opsPerSec.map((x) => Math.round(x)),
        },
      ]),
    )
  );
}
