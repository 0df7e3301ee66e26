// Shared pieces of the side-by-side benchmarks: drive a request function with N in flight,
// record per-request latency, and summarise with medians and percentiles.
import { confidenceInterval } from './stats.mjs';

/** The median of `xs` (NaN when there are none). */
export const median = (/** @type {number[]} */ xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** The `p`th percentile of `xs` (NaN when there are none). */
export const percentile = (/** @type {number[]} */ xs, /** @type {number} */ p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

/**
 * Sends `count` requests with `concurrency` in flight; returns req/s and each request's latency (ms).
 * @param {() => Promise<unknown>} send
 * @param {number} count
 * @param {number} concurrency
 */
export async function drive(send, count, concurrency) {
  let next = 0;
  /** @type {number[]} */
  const latencies = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) {
        const t = performance.now();
        await send();
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { rate: count / ((performance.now() - started) / 1000), latencies };
}

/**
 * Runs each named variant for `rounds` alternating rounds after a warm-up, so that drift on a
 * shared machine hits every variant alike. Returns per variant the median rate, the mean rate with
 * its 95% interval relative to it (rateCi95), and latency p50/p99.
 * @template {string} K
 * @param {Record<K, () => Promise<unknown>>} variants
 * @param {{ rounds: number, requests: number, concurrency: number, warmup?: number }} options
 * @returns {Promise<Record<K, { rate: number, rateMean: number, rateCi95: number, p50: number, p99: number }>>}
 */
export async function sideBySide(variants, { rounds, requests, concurrency, warmup = 100 }) {
  const sends = /** @type {[K, () => Promise<unknown>][]} */ (Object.entries(variants));
  for (const [, send] of sends) await drive(send, warmup, concurrency);
  /** @type {Record<string, { rates: number[], latencies: number[] }>} */
  const results = Object.fromEntries(Object.keys(variants).map((k) => [k, { rates: [], latencies: [] }]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, send] of sends) {
      const { rate, latencies } = await drive(send, requests, concurrency);
      const result = /** @type {{ rates: number[], latencies: number[] }} */ (results[name]);
      result.rates.push(rate);
      result.latencies.push(...latencies);
    }
  }
  return /** @type {Record<K, { rate: number, rateMean: number, rateCi95: number, p50: number, p99: number }>} */ (
    Object.fromEntries(
      Object.entries(results).map(([name, r]) => {
        const ci = confidenceInterval(r.rates);
        return [
          name,
          {
            rate: median(r.rates),
            rateMean: ci.mean,
            rateCi95: ci.relative,
            p50: percentile(r.latencies, 50),
            p99: percentile(r.latencies, 99),
          },
        ];
      }),
    )
  );
}
