// The bench's statistics and its refusal to record figures that cannot be reproduced: a 95%
// confidence interval of a mean (Student's t, since rounds are few), the loop that repeats rounds
// until every variant's interval is within the target (or says it is not), and the git state a
// result is recorded against (a dirty tree is refused: nobody could rebuild what was measured).
// Pure functions apart from gitState; test/node/benchStats.test.mjs checks them.
import { execFileSync } from 'node:child_process';

/** Two-sided 97.5% quantiles of Student's t for 1–30 degrees of freedom (then 1.96 from 120). */
const T975 = [
  Number.NaN,
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/**
 * The t quantile for a two-sided 95% interval with `df` degrees of freedom: exact from the table
 * up to 30, then interpolated in 1/df towards 2.021 (40), 2.000 (60), 1.980 (120) and 1.960.
 * @param {number} df
 */
export function tQuantile95(df) {
  if (!Number.isInteger(df) || df < 1) return Number.NaN;
  if (df <= 30) return /** @type {number} */ (T975[df]);
  const knots = [
    [30, 2.042],
    [40, 2.021],
    [60, 2.0],
    [120, 1.98],
    [Number.POSITIVE_INFINITY, 1.96],
  ];
  for (let i = 1; i < knots.length; i++) {
    const [d0, t0] = /** @type {[number, number]} */ (knots[i - 1]);
    const [d1, t1] = /** @type {[number, number]} */ (knots[i]);
    if (df <= d1) {
      const x = (1 / df - 1 / d0) / (1 / d1 - 1 / d0);
      return t0 + x * (t1 - t0);
    }
  }
  return 1.96;
}

/**
 * The mean of `xs` and its 95% confidence interval: `halfWidth` absolute, `relative` as a fraction
 * of the mean (0.05 is ±5%). Fewer than two samples: no interval (NaN), never a false "converged".
 * @param {number[]} xs
 * @returns {{ n: number, mean: number, sd: number, halfWidth: number, relative: number, low: number, high: number }}
 */
export function confidenceInterval(xs) {
  const n = xs.length;
  const mean = n ? xs.reduce((a, b) => a + b, 0) / n : Number.NaN;
  if (n < 2) {
    return {
      n,
      mean,
      sd: Number.NaN,
      halfWidth: Number.NaN,
      relative: Number.NaN,
      low: Number.NaN,
      high: Number.NaN,
    };
  }
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  const sd = Math.sqrt(variance);
  const halfWidth = (tQuantile95(n - 1) * sd) / Math.sqrt(n);
  return {
    n,
    mean,
    sd,
    halfWidth,
    relative: mean === 0 ? Number.POSITIVE_INFINITY : halfWidth / Math.abs(mean),
    low: mean - halfWidth,
    high: mean + halfWidth,
  };
}

/**
 * Whether an interval is within ±`target` of its mean (NaN never is).
 * @param {{ relative: number }} ci
 * @param {number} target
 */
export const withinTarget = (ci, target) => Number.isFinite(ci.relative) && ci.relative <= target;

/**
 * Repeats `round(r)` (which measures every variant once and returns name → value) until each
 * variant's 95% interval is within ±target, at least `minRounds` and at most `maxRounds` times.
 * Returns every variant's samples and interval, and `converged`: false says the figures are not
 * within the target (the caller reports it; nothing is hidden).
 * @template {string} K
 * @param {(round: number) => Promise<Record<K, number>>} round
 * @param {{ minRounds: number, maxRounds: number, target: number }} options
 */
export async function repeatUntilConverged(round, { minRounds, maxRounds, target }) {
  if (!(minRounds >= 2) || maxRounds < minRounds) throw new Error('need 2 ≤ minRounds ≤ maxRounds');
  /** @type {Record<string, number[]>} */
  const samples = {};
  let rounds = 0;
  const intervals = () =>
    Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, confidenceInterval(xs)]));
  while (rounds < maxRounds) {
    const values = await round(rounds);
    rounds++;
    for (const [k, v] of Object.entries(values)) {
      const xs = samples[k] ?? [];
      xs.push(/** @type {number} */ (v));
      samples[k] = xs;
    }
    if (rounds >= minRounds && Object.values(intervals()).every((ci) => withinTarget(ci, target))) break;
  }
  const ci = intervals();
  const converged = Object.values(ci).every((c) => withinTarget(c, target));
  return {
    rounds,
    target,
    converged,
    /** The variants whose interval is wider than the target (empty when converged). */
    wide: Object.entries(ci)
      .filter(([, c]) => !withinTarget(c, target))
      .map(([k]) => k),
    samples: /** @type {Record<K, number[]>} */ (samples),
    ci: /** @type {Record<K, ReturnType<typeof confidenceInterval>>} */ (ci),
  };
}

/**
 * The ratio a/b of two means with an approximate 95% interval (first-order propagation of the
 * two relative half-widths, assuming independent rounds).
 * @param {{ mean: number, relative: number }} a
 * @param {{ mean: number, relative: number }} b
 */
export function ratioInterval(a, b) {
  const ratio = a.mean / b.mean;
  const relative = Math.sqrt(a.relative ** 2 + b.relative ** 2);
  return { ratio, relative, low: ratio * (1 - relative), high: ratio * (1 + relative) };
}

/**
 * The commit and whether the working tree differs from it (tracked changes or untracked files
 * outside ignored paths). `git` is injectable for the tests.
 * @param {string} root
 * @param {(args: string[]) => string} [git]
 */
export function gitState(root, git = (args) => execFileSync('git', args, { cwd: root, encoding: 'utf8' })) {
  const commit = git(['rev-parse', 'HEAD']).trim();
  const changed = git(['status', '--porcelain', '--untracked-files=normal'])
    .split('\n')
    .filter((l) => l.trim() !== '');
  return { commit, dirty: changed.length > 0, changed: changed.slice(0, 20) };
}

/**
 * Throws unless results may be recorded against this tree: a dirty tree is refused unless the
 * run is explicitly a smoke run (whose file says so and is never `latest`).
 * @param {{ commit: string, dirty: boolean, changed: string[] }} state
 * @param {{ smoke: boolean }} options
 */
export function assertRecordable(state, { smoke }) {
  if (!state.dirty || smoke) return;
  throw new Error(
    `refusing to record bench results from a dirty tree at ${state.commit.slice(0, 12)} ` +
      `(${state.changed.length} changed: ${state.changed.slice(0, 5).join(', ')}); commit first, ` +
      'or pass --smoke to write a result labelled as a smoke run',
  );
}

/**
 * Thread CPU (µs) of the calling thread, or null where Node lacks process.threadCpuUsage (< 23.9).
 * @returns {number | null}
 */
export function threadCpuMicros() {
  const fn = /** @type {{ threadCpuUsage?: () => { user: number, system: number } }} */ (process)
    .threadCpuUsage;
  if (typeof fn !== 'function') return null;
  const u = fn.call(process);
  return u.user + u.system;
}
