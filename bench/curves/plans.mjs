// EXPLAIN QUERY PLAN of the statements a request ran, as SQLite plans them on the Node runtime's
// database. Shared by test/node/queryPlans.test.mjs (no full scan of a growing table on the
// request path) and the cost curves (bench/curves.mjs: each operation's statements and plans).

/**
 * The plan of a statement, its parameters bound to null: numbered ones (`?1`, which
 * better-sqlite3 binds by name) as an object, plain `?` by position, as many as it takes (a `?`
 * may sit in a string literal), found by trying from the most.
 * @param {import('better-sqlite3').Database} sqlite
 * @param {string} sql
 * @returns {{ id: number, parent: number, detail: string }[]}
 */
export function planOf(sqlite, sql) {
  /** @type {import('better-sqlite3').Statement<unknown[], { id: number, parent: number, detail: string }>} */
  const statement = sqlite.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  const numbered = [...new Set(sql.match(/\?\d+/g) ?? [])];
  if (numbered.length) return statement.all(Object.fromEntries(numbered.map((p) => [p.slice(1), null])));
  for (let n = (sql.match(/\?/g) ?? []).length; n >= 0; n--) {
    try {
      return statement.all(...new Array(n).fill(null));
    } catch (e) {
      if (!/parameter/i.test(String(/** @type {Error} */ (e)?.message))) throw e;
    }
  }
  throw new Error(`no parameter count fits: ${sql}`);
}

/**
 * Records the SQL text of every statement prepared on `db` (a D1Database over SQLite) from now
 * on, in `seen`; returns a function that stops recording.
 * @param {{ prepare: (sql: string) => unknown }} db
 * @param {Set<string>} seen
 */
export function captureStatements(db, seen) {
  const prepare = db.prepare;
  db.prepare = (sql) => {
    seen.add(sql);
    return prepare.call(db, sql);
  };
  return () => {
    db.prepare = prepare;
  };
}

/** Whether a statement reads or writes rows (a plan is worth taking). */
export const isDml = (/** @type {string} */ sql) => /^\s*(SELECT|UPDATE|DELETE|WITH|INSERT)/i.test(sql);

/**
 * The tables a plan walks whole (`SCAN t`, not a SEARCH of a range). A virtual table (json_each
 * of a bound parameter: the ids or values the statement was given) is not one.
 * @param {{ detail: string }[]} plan
 */
export const scannedTables = (plan) =>
  plan.flatMap((row) => {
    const m = /^SCAN (\w+)/.exec(row.detail);
    return m && !/VIRTUAL TABLE/.test(row.detail) ? [/** @type {string} */ (m[1])] : [];
  });
