// Side-by-side measurement of in-process servers: a warm-up per server, then rounds in which
// every server runs for the same wall time, one request after the other, the starting server
// rotating from round to round so that drift on a shared machine is spread evenly. Per round:
// operations/s (wall), main-thread CPU µs per operation (process.threadCpuUsage: the JavaScript
// thread that serves requests) and process CPU µs per operation (process.cpuUsage: all threads,
// GC helpers and libuv's pool included). Rounds repeat until every server's 95% interval of
// operations/s is within the target (stats.mjs repeatUntilConverged), or the round limit says it
// is not. Reported: means with their intervals, and every round.
import { confidenceInterval, repeatUntilConverged, threadCpuMicros } from '../stats.mjs';

/**
 * Runs `fn` back to back for `ms` of wall time, after a GC when --expose-gc allows it (outside
 * the measured span).
 * @param {() => Promise<unknown>} fn
 * @param {number} ms
 * @returns {Promise<import('../types.ts').LoopSample>}
 */
export async function timeLoop(fn, ms) {
  globalThis.gc?.();
  const cpu = process.cpuUsage();
  const thread = threadCpuMicros();
  let n = 0;
  const started = performance.now();
  do {
    await fn();
    n++;
  } while (performance.now() - started < ms);
  const wallMs = performance.now() - started;
  const threadAfter = threadCpuMicros();
  const used = process.cpuUsage(cpu);
  return {
    n,
    wallMs,
    cpuUs: used.user + used.system,
    threadCpuUs: thread === null || threadAfter === null ? null : threadAfter - thread,
  };
}

/**
 * `runners`: name → (ms) => Promise<LoopSample> (see timeLoop).
 * @template {string} K
 * @param {Record<K, (ms: number) => Promise<import('../types.ts').LoopSample>>} runners
 * @param {{ minRounds: number, maxRounds: number, roundMs: number, warmupMs: number, target: number }} options
 * @returns {Promise<{ rounds: number, converged: boolean, wide: string[], servers: Record<K, import('../types.ts').ServerFigures> }>}
 */
export async function alternate(runners, { minRounds, maxRounds, roundMs, warmupMs, target }) {
  const entries = /** @type {[K, (ms: number) => Promise<import('../types.ts').LoopSample>][]} */ (
    Object.entries(runners)
  );
  for (const [, runner] of entries) await runner(warmupMs);
  /** @type {Record<string, { cpu: number[], thread: number[] }>} */
  const cpu = Object.fromEntries(entries.map(([name]) => [name, { cpu: [], thread: [] }]));
  const result = await repeatUntilConverged(
    async (r) => {
      /** @type {Record<string, number>} */
      const ops = {};
      // The starting runner rotates from round to round.
      for (let i = 0; i < entries.length; i++) {
        const [name, runner] = /** @type {(typeof entries)[number]} */ (entries[(i + r) % entries.length]);
        const { n, wallMs, cpuUs, threadCpuUs } = await runner(roundMs);
        ops[name] = (n * 1000) / wallMs;
        const c = /** @type {{ cpu: number[], thread: number[] }} */ (cpu[name]);
        c.cpu.push(cpuUs / n);
        if (threadCpuUs !== null) c.thread.push(threadCpuUs / n);
      }
      return /** @type {Record<K, number>} */ (ops);
    },
    { minRounds, maxRounds, target },
  );
  /** @type {(ci: ReturnType<typeof confidenceInterval>) => { mean: number, ci95: number }} */
  const brief = (ci) => ({ mean: ci.mean, ci95: ci.relative });
  return {
    rounds: result.rounds,
    converged: result.converged,
    wide: result.wide,
    servers: /** @type {Record<K, import('../types.ts').ServerFigures>} */ (
      Object.fromEntries(
        entries.map(([name]) => {
          const c = /** @type {{ cpu: number[], thread: number[] }} */ (cpu[name]);
          const ops = result.ci[name];
          const thread = confidenceInterval(c.thread);
          const proc = confidenceInterval(c.cpu);
          return [
            name,
            {
              opsPerSec: ops.mean,
              opsPerSecCi95: ops.relative,
              mainThreadCpuUsPerOp: c.thread.length ? brief(thread) : null,
              processCpuUsPerOp: brief(proc),
              rounds: result.samples[name].map((x) => Math.round(x)),
            },
          ];
        }),
      )
    ),
  };
}
