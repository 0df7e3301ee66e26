// The physical floor of a read in Node: raw better-sqlite3 running the very statements our
// resolvers run for the operation (recorded once, with their bound values, through the graphql-js
// floor), as prepared statements, and a JSON body built from their rows by hand. No GraphQL, no
// D1 adapter, no auth, no limits, no log: what reading and serialising that data costs at least.
// Reads only (a replayed write would not be the same write).
import { createFloorVariant } from './floor.mjs';

/** @typedef {{ method: string, sql: string, params: unknown[] }} Recorded */

/**
 * A view of a SqliteD1 that records each statement executed (its SQL, values and method).
 * @param {import('../../src/runtime/node/sqlite.ts').SqliteD1} db
 * @param {Recorded[]} into
 * @returns {D1Database}
 */
function recording(db, into) {
  /** @type {(stmt: D1PreparedStatement) => D1PreparedStatement} */
  const wrap = (stmt) =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === 'bind') return (/** @type {unknown[]} */ ...v) => wrap(target.bind(...v));
        const value = Reflect.get(target, prop, target);
        if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
          return (/** @type {unknown[]} */ ...a) => {
            const s = /** @type {{ sql: string, params: unknown[] }} */ (/** @type {unknown} */ (target));
            into.push({ method: String(prop), sql: s.sql, params: [...s.params] });
            return value.apply(target, a);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return /** @type {D1Database} */ (
    new Proxy(db, {
      get(target, prop) {
        if (prop === 'prepare') return (/** @type {string} */ sql) => wrap(target.prepare(sql));
        if (prop === 'batch') throw new Error('the sqlite floor replays reads only');
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    })
  );
}

/**
 * D1's parameters (`?`, `?NNN`) as better-sqlite3 named ones (`@pN`), with the values by name:
 * better-sqlite3 binds positional values by order only, and D1 statements repeat `?1`.
 * @param {Recorded} r
 */
function named(r) {
  let next = 0;
  const sql = r.sql.replace(/\?(\d*)/g, (_, n) => `@p${n ? Number(n) : ++next}`);
  /** @type {Record<string, unknown>} */
  const values = {};
  r.params.forEach((v, i) => {
    if (sql.includes(`@p${i + 1}`)) values[`p${i + 1}`] = v;
  });
  return { sql, values };
}

/** Whether an operation writes (the floor does not replay writes). */
export const isMutation = (/** @type {import('../types.ts').BenchOperation} */ op) =>
  /^\s*mutation\b/.test(op.query);

/**
 * @param {import('../types.ts').VariantOptions} options
 * @returns {import('../types.ts').Variant}
 */
export function createSqliteFloorVariant(options) {
  const db = /** @type {import('../../src/runtime/node/sqlite.ts').SqliteD1} */ (
    /** @type {unknown} */ (options.db)
  );
  if (!db.sqlite) throw new Error('the sqlite floor needs the Node SQLite adapter (SqliteD1)');
  /** @type {Map<string, { stmt: import('better-sqlite3').Statement, method: string, values: Record<string, unknown> }[]>} */
  const plans = new Map();
  const planFor = async (/** @type {import('../types.ts').BenchOperation} */ op) => {
    let plan = plans.get(op.query);
    if (!plan) {
      /** @type {Recorded[]} */
      const recorded = [];
      await createFloorVariant({ ...options, db: recording(db, recorded) }).run(op);
      if (recorded.length === 0) throw new Error(`${op.label}: no statement recorded`);
      plan = recorded.map((r) => {
        const { sql, values } = named(r);
        return { stmt: db.sqlite.prepare(sql), method: r.method, values };
      });
      plans.set(op.query, plan);
    }
    return plan;
  };
  return {
    name: 'sqliteFloor',
    skips: isMutation,
    async run(op) {
      if (isMutation(op)) throw new Error('the sqlite floor replays reads only');
      const plan = await planFor(op);
      // Hand-built JSON: each statement's rows (one row for `first`), in order.
      let body = '{"data":[';
      for (let i = 0; i < plan.length; i++) {
        const { stmt, method, values } = /** @type {(typeof plan)[number]} */ (plan[i]);
        const rows = method === 'first' ? (stmt.get(values) ?? null) : stmt.all(values);
        body += (i ? ',' : '') + JSON.stringify(rows);
      }
      return `${body}]}`;
    },
  };
}
