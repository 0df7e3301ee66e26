/**
 * Wraps a D1Database and adds up D1's own count of the rows each statement read (`meta.rows_read`:
 * rows scanned, not only returned; what D1 bills). `first()` returns no meta, so it is answered
 * through `all()` here.
 */
export function rowsReadD1(db: D1Database) {
  const counter = { rowsRead: 0, statements: 0 };
  const add = (meta: D1Meta | undefined) => {
    counter.statements += 1;
    counter.rowsRead += meta?.rows_read ?? Number.NaN;
  };
  const INNER = Symbol('inner');
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === INNER) return target;
        if (prop === 'bind') return (...values: unknown[]) => wrap(target.bind(...values));
        if (prop === 'first') {
          return async (column?: string) => {
            const res = await target.all<Record<string, unknown>>();
            add(res.meta);
            const row = res.results[0] ?? null;
            return column === undefined || row === null ? row : row[column];
          };
        }
        if (prop === 'all' || prop === 'run') {
          return async () => {
            const res = await target[prop]();
            add(res.meta);
            return res;
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => wrap(target.prepare(sql));
      if (prop === 'batch') {
        return async (stmts: D1PreparedStatement[]) => {
          const inner = stmts.map((s) => (s as unknown as Record<symbol, D1PreparedStatement>)[INNER] ?? s);
          const results = await target.batch(inner);
          for (const r of results) add(r.meta);
          return results;
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    db: wrapped as D1Database,
    counter,
    reset: () => {
      counter.rowsRead = 0;
      counter.statements = 0;
    },
  };
}
