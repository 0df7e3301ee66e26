// The cost curves' verdict (issue 17 item 3): is an operation's cost per item flat from the
// smallest data set to the largest? Pure, so test/node/curves.test.mjs checks it on synthetic
// curves. A read through an index costs O(log n) B-tree steps per item: from 100 to 100,000
// changes a page of 50 may cost a little more (a deeper tree, a cache that holds less of it) but
// never in proportion to the data. A full scan, or a walk of a tenant's whole range, grows with it.

/**
 * How much more an operation may cost per item at the largest size than at the smallest and still
 * be called flat: 2× over a thousandfold growth of the data is a log-log slope of 0.1, what a
 * deeper B-tree and a colder cache explain; a scan of the data would be a slope near 1.
 */
export const FLAT_GROWTH = 2;

/**
 * @typedef {{ size: number, micros: number, items?: number }} CurvePoint
 *   One measurement: the data size (changes of the tenant), the operation's cost (µs, a median)
 *   and how many items it returned or wrote (per-item cost divides by it; default 1).
 */

/**
 * The verdict for one operation's curve: its cost per item at the smallest and largest sizes,
 * their ratio, the log-log slope between them, and `flat` (ratio ≤ maxGrowth). Fewer than two
 * sizes, or sizes less than tenfold apart, give `flat: null` (not measured, never "flat").
 * @param {CurvePoint[]} points
 * @param {{ maxGrowth?: number }} [options]
 */
export function flatness(points, { maxGrowth = FLAT_GROWTH } = {}) {
  const valid = points.filter((p) => p.size > 0 && Number.isFinite(p.micros) && p.micros > 0);
  const sorted = [...valid].sort((a, b) => a.size - b.size);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (!first || !last || last.size < first.size * 10) {
    return {
      flat: null,
      ratio: Number.NaN,
      slope: Number.NaN,
      perItem: [],
      reason: 'needs two sizes at least tenfold apart',
    };
  }
  const perItem = sorted.map((p) => ({ size: p.size, micros: p.micros / Math.max(1, p.items ?? 1) }));
  const lo = /** @type {{ micros: number }} */ (perItem[0]).micros;
  const hi = /** @type {{ micros: number }} */ (perItem.at(-1)).micros;
  const ratio = hi / lo;
  const slope = Math.log(ratio) / Math.log(last.size / first.size);
  const flat = ratio <= maxGrowth;
  return {
    flat,
    ratio,
    slope,
    perItem,
    reason: flat
      ? `per-item cost ×${ratio.toFixed(2)} from ${first.size} to ${last.size} (≤ ×${maxGrowth})`
      : `per-item cost ×${ratio.toFixed(2)} from ${first.size} to ${last.size} (> ×${maxGrowth}; log-log slope ${slope.toFixed(2)})`,
  };
}

/**
 * Every operation's verdict, and whether every one expected to be flat (an indexed read or write)
 * is: `allFlat` is false when one is not, null when one could not be judged.
 * @param {Record<string, { expectFlat: boolean, points: CurvePoint[] }>} curves
 * @param {{ maxGrowth?: number }} [options]
 */
export function curveVerdicts(curves, options) {
  /** @type {Record<string, ReturnType<typeof flatness> & { expectFlat: boolean }>} */
  const verdicts = {};
  for (const [name, c] of Object.entries(curves))
    verdicts[name] = { expectFlat: c.expectFlat, ...flatness(c.points, options) };
  const expected = Object.values(verdicts).filter((v) => v.expectFlat);
  const allFlat = expected.some((v) => v.flat === null) ? null : expected.every((v) => v.flat === true);
  return {
    verdicts,
    allFlat,
    notFlat: Object.entries(verdicts)
      .filter(([, v]) => v.expectFlat && v.flat === false)
      .map(([k]) => k),
  };
}
