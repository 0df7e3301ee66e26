const INNER = Symbol('inner statement');
const SQL = Symbol('sql');

/** Wraps a D1Database and records every SQL statement that reaches it. */
export function countingD1(db: D1Database) {
  const statements: string[] = [];
  const wrapStatement = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === 'bind') {
          return (...values: unknown[]) => wrapStatement(target.bind(...values), sql);
        }
        if (prop === 'first' || prop === 'all' || prop === 'run' || prop === 'raw') {
          return (...args: unknown[]) => {
            statements.push(sql);
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
      if (prop === 'prepare') {
        return (sql: string) => wrapStatement(target.prepare(sql), sql);
      }
      if (prop === 'batch') {
        return (stmts: D1PreparedStatement[]) => {
          const tagged = stmts as unknown as Record<symbol, unknown>[];
          for (const s of tagged) statements.push(String(s[SQL]));
          return target.batch(tagged.map((s) => s[INNER] as D1PreparedStatement));
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    db: wrapped as D1Database,
    statements,
    reset: () => {
      statements.length = 0;
    },
  };
}
