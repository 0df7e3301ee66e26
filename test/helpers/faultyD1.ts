const INNER = Symbol('inner statement');
const SQL = Symbol('sql');

/** A fault: the next `times` statements (or batches holding one) whose SQL matches fail. */
export interface Fault {
  match: RegExp;
  times?: number;
}

/**
 * Wraps a D1Database so that chosen statements fail, as a lost connection or a crash at that
 * point would: a batch holding a matching statement fails whole (nothing of it is written), a
 * matching statement run on its own fails. `failed` lists the SQL that was made to fail.
 */
export function faultyD1(db: D1Database) {
  const faults: (Fault & { left: number })[] = [];
  const failed: string[] = [];
  const trip = (sqls: string[]) => {
    for (const f of faults) {
      const hit = sqls.find((s) => f.match.test(s));
      if (hit && f.left > 0) {
        f.left -= 1;
        failed.push(hit);
        throw new Error(`injected failure: ${hit.replace(/\s+/g, ' ').slice(0, 80)}`);
      }
    }
  };
  const wrapStatement = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === 'bind') return (...values: unknown[]) => wrapStatement(target.bind(...values), sql);
        if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
          return async (...args: unknown[]) => {
            trip([sql]);
            return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        if (prop === INNER) return target;
        if (prop === SQL) return sql;
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => wrapStatement(target.prepare(sql), sql);
      if (prop === 'batch') {
        return async (stmts: D1PreparedStatement[]) => {
          const tagged = stmts as unknown as Record<symbol, unknown>[];
          trip(tagged.map((s) => String(s[SQL])));
          return target.batch(tagged.map((s) => s[INNER] as D1PreparedStatement));
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    db: wrapped as D1Database,
    failed,
    /** Arms a fault: the next `times` (default 1) matching statements or batches fail. */
    fail(match: RegExp, times = 1) {
      faults.push({ match, times, left: times });
    },
  };
}
