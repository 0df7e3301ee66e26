// The logic of the scale runner (bench/scale/run.mjs), apart from servers and sockets so that it is
// tested on its own (test/node/scaleBench.test.mjs): the scenarios, which tenant each writer
// writes to, the closed-loop writers, the summary of rounds, and the check that every
// acknowledged write is stored (and nothing else is).
import { median, percentile } from '../lib.mjs';
import { confidenceInterval } from '../stats.mjs';

/**
 * Each writer count twice: all writers in one tenant (they share its write turn), and each writer
 * in a tenant of its own (only the database is shared). One writer is the same either way: once.
 * @param {number[]} writerCounts
 * @returns {{ writers: number, tenants: number }[]}
 */
export function scenarios(writerCounts) {
  /** @type {{ writers: number, tenants: number }[]} */
  const out = [];
  for (const writers of writerCounts) {
    if (!Number.isInteger(writers) || writers < 1 || writers > 256) {
      throw new Error(`writers must be integers in 1–256, not ${writers}`);
    }
    out.push({ writers, tenants: 1 });
    if (writers > 1) out.push({ writers, tenants: writers });
  }
  return out;
}

/**
 * The tenants of one variant's scenario: lower-case, so that every runtime accepts them as ids.
 * @param {{ runId: string, variant: string, writers: number, tenants: number }} s
 * @returns {string[]}
 */
export const tenantNames = ({ runId, variant, writers, tenants }) =>
  Array.from({ length: tenants }, (_, i) =>
    `s${runId}-${variant}-w${writers}x${tenants}-t${i}`.toLowerCase(),
  );

/**
 * Writer i writes to tenant i mod T: with one tenant all share it, with T = writers each has its own.
 * @param {number} writer
 * @param {string[]} tenants
 */
export const tenantOf = (writer, tenants) => /** @type {string} */ (tenants[writer % tenants.length]);

/**
 * Closed loop: `writers` callers, each with one request in flight, until `durationMs` has passed
 * since the start (a request running then is awaited and counted). `send(writer)` resolves with
 * 'ok' or an error label; a thrown error counts under its message. Latencies in ms.
 * @param {{ writers: number, durationMs: number, send: (writer: number) => Promise<string> }} options
 */
export async function closedLoop({ writers, durationMs, send }) {
  /** @type {number[]} */
  const latencies = [];
  /** @type {Record<string, number>} */
  const errors = {};
  /** @type {number[]} */
  const okPerWriter = Array.from({ length: writers }, () => 0);
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      while (performance.now() < end) {
        const t = performance.now();
        let outcome;
        try {
          outcome = await send(w);
        } catch (e) {
          outcome = `thrown: ${String(/** @type {Error} */ (e)?.message ?? e).slice(0, 120)}`;
        }
        if (outcome === 'ok') {
          latencies.push(performance.now() - t);
          okPerWriter[w] = (okPerWriter[w] ?? 0) + 1;
        } else {
          errors[outcome] = (errors[outcome] ?? 0) + 1;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const ok = latencies.length;
  return { ok, okPerWriter, errors, elapsedMs, rate: ok / (elapsedMs / 1000), latencies };
}

/**
 * One variant's scenario over its rounds: the median rate (acknowledged writes per second), the
 * mean with its 95% interval relative to it, latency percentiles over every acknowledged write,
 * the errors summed, and (where the rounds measured the server's CPU time, `cpuMs`) the server's
 * CPU per acknowledged write: less disturbed by other load on a shared machine than the rate.
 * @param {{ ok: number, errors: Record<string, number>, rate: number, latencies: number[], cpuMs?: number }[]} rounds
 */
export function summarise(rounds) {
  const rates = rounds.map((r) => r.rate);
  const latencies = rounds.flatMap((r) => r.latencies);
  /** @type {Record<string, number>} */
  const errors = {};
  for (const r of rounds) for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
  const ci = confidenceInterval(rates);
  const acknowledged = rounds.reduce((n, r) => n + r.ok, 0);
  const cpu = rounds.flatMap((r) => (typeof r.cpuMs === 'number' ? [r.cpuMs] : []));
  const sum = (/** @type {number[]} */ xs) => xs.reduce((a, b) => a + b, 0);
  const round2 = (/** @type {number} */ x) => Math.round(x * 100) / 100;
  return {
    writesPerSecond: round2(median(rates)),
    rates: rates.map(round2),
    meanCi95Relative: Number.isFinite(ci.relative) ? round2(ci.relative) : null,
    acknowledged,
    p50Ms: round2(percentile(latencies, 50)),
    p99Ms: round2(percentile(latencies, 99)),
    cpuMsPerWrite: cpu.length === rounds.length && acknowledged > 0 ? round2(sum(cpu) / acknowledged) : null,
    errors,
  };
}

/**
 * Compares what each tenant stores with what was acknowledged to it. A tenant must hold at least
 * every acknowledged change (fewer: a write was lost) and at most those plus the failed attempts
 * (a failed request may still have committed); one audit event per change; a chain that verifies.
 * @param {Record<string, { acknowledged: number, failed: number }>} sent
 * @param {Record<string, { changes: number, events: number, valid: boolean }>} stored
 * @returns {string[]} the problems found; none when every tenant matches
 */
export function storedProblems(sent, stored) {
  /** @type {string[]} */
  const problems = [];
  for (const [tenant, { acknowledged, failed }] of Object.entries(sent)) {
    const s = stored[tenant];
    if (!s) {
      problems.push(`${tenant}: not verified`);
      continue;
    }
    if (s.changes < acknowledged)
      problems.push(`${tenant}: ${acknowledged} acknowledged, ${s.changes} stored`);
    if (s.changes > acknowledged + failed) {
      problems.push(`${tenant}: ${s.changes} stored, only ${acknowledged} acknowledged and ${failed} failed`);
    }
    if (s.events !== s.changes) problems.push(`${tenant}: ${s.changes} changes but ${s.events} audit events`);
    if (!s.valid) problems.push(`${tenant}: the audit chain does not verify`);
  }
  return problems;
}
