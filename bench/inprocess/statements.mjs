// SQL statements per operation: each variant is built again over a counting proxy of the same
// database and runs each operation once (after one uncounted run, so that nothing lazy is
// counted). All servers run the same resolvers, so their counts must agree; the section reports
// any mismatch. Also returns the statements themselves (shortened) as seen through the Yoga path.
// The suite's own counting proxy (test/helpers/countingD1.ts): one definition of what a statement is.
import { countingD1 } from '../../test/helpers/countingD1.ts';

const short = (/** @type {string} */ sql) => sql.replace(/\s+/g, ' ').trim().slice(0, 100);

/**
 * `factories`: variant name → (db) => variant; `extra`: label → async (db) => run once, so that
 * other entry points (MCP tools/call) are counted the same way.
 * @param {{
 *   factories: Record<string, (db: D1Database) => Promise<import('../types.ts').Variant> | import('../types.ts').Variant>,
 *   operations: Record<string, import('../types.ts').BenchOperation>,
 *   db: D1Database,
 *   extra?: Record<string, (db: D1Database) => Promise<unknown>>,
 * }} options
 */
export async function countStatements({ factories, operations, db, extra = {} }) {
  const counter = countingD1(db);
  /** @type {Record<string, Record<string, number>>} */
  const counts = {};
  /** @type {Record<string, string[]>} */
  const sql = {};
  for (const [opName, op] of Object.entries(operations)) {
    /** @type {Record<string, number>} */
    const opCounts = {};
    counts[opName] = opCounts;
    for (const [name, factory] of Object.entries(factories)) {
      const variant = await factory(counter.db);
      if (variant.skips?.(op)) {
        await variant.close?.();
        continue;
      }
      await variant.run(op);
      counter.reset();
      await variant.run(op);
      opCounts[name] = counter.statements.length;
      if (name === 'yoga') sql[opName] = counter.statements.map(short);
      await variant.close?.();
    }
  }
  for (const [label, runOnce] of Object.entries(extra)) {
    await runOnce(counter.db);
    counter.reset();
    await runOnce(counter.db);
    counts[label] = { yoga: counter.statements.length };
    sql[label] = counter.statements.map(short);
  }
  return { counts, sql };
}
