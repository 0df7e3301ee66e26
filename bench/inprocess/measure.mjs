// Side-by-side measurement of in-process servers: a warm-up per server, then rounds in which
// every server runs for the same wall time, one request after the other, the starting server
// rotating from round to round so that drift on a shared machine is spread evenly. Per round:
// operations/s (wall) and CPU µs per operation (process.cpuUsage of the process that ran them:
// user + system, all its threads). Reported: medians over rounds.
import { median } from '../lib.mjs';

/** Runs `fn` back to back for `ms` of wall time, after a GC when --expose-gc allows it. */
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

/** `runners`: name → (ms) => Promise<{ n, wallMs, cpuUs }> (see timeLoop). */
export async function alternate(runners, { rounds, roundMs, warmupMs }) {
  const names = Object.keys(runners);
  for (const name of names) await runners[name](warmupMs);
  const samples = Object.fromEntries(names.map((n) => [n, { opsPerSec: [], cpuUsPerOp: [] }]));
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const name of order) {
      const { n, wallMs, cpuUs } = await runners[name](roundMs);
      samples[name].opsPerSec.push((n * 1000) / wallMs);
      samples[name].cpuUsPerOp.push(cpuUs / n);
    }
  }
  return Object.fromEntries(
    names.map((name) => [
      name,
      {
        opsPerSec: median(samples[name].opsPerSec),
        cpuUsPerOp: median(samples[name].cpuUsPerOp),
        rounds: samples[name].opsPerSec.map((x) => Math.round(x)),
      },
    ]),
  );
}
