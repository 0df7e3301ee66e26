/**
 * The subset of D1Database that the write path uses (prepare/bind/first/all/run/raw, batch as one
 * transaction), over a SQLite-backed Durable Object's own database (ctx.storage.sql). With it the
 * very use case the service runs (createChange → commitWithAudit: the same statements from src/db,
 * the same audit hash from src/domain/auditChain) runs inside a per-tenant Durable Object, which is
 * what bench/scale measures against D1. A prototype for the scale plan (docs/scaling.md), not a
 * runtime of the service: it covers what that write path and the chain verification call.
 *
 * SQLite numbers `?NNN` parameters itself, so values are bound by position as D1 binds them; a
 * batch runs in `transactionSync` (the Durable Object refuses BEGIN/COMMIT statements); errors are
 * prefixed `D1_ERROR: ` as D1's are, SQLite's own text kept. The prototype's writes never race (its
 * turn is the object's in-memory queue), so the retry path of commitWithAudit, which classifies
 * those texts (src/db/errors.ts), is not exercised through this adapter.
 */

type Row = Record<string, unknown>;
type Bindable = string | number | null | ArrayBuffer;

/** D1's bind-time conversion, for the values the write path binds. */
function toBindable(value: unknown): Bindable {
  switch (typeof value) {
    case 'string':
    case 'number':
      return value;
    case 'boolean':
      return value ? 1 : 0;
    case 'object':
      if (value === null) return null;
      if (value instanceof ArrayBuffer) return value;
      if (ArrayBuffer.isView(value))
        return new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice().buffer;
  }
  throw new Error(`D1_TYPE_ERROR: Type '${typeof value}' not supported for value '${String(value)}'`);
}

/** D1 returns blobs as arrays of byte values. */
const fromCell = (v: unknown) => (v instanceof ArrayBuffer ? Array.from(new Uint8Array(v)) : v);

const d1Error = (e: unknown) => {
  const message = String((e as Error)?.message ?? e);
  return message.startsWith('D1_') ? e : new Error(`D1_ERROR: ${message}`, { cause: e });
};

class SqlStatement implements D1PreparedStatement {
  constructor(
    private readonly db: SqlStorageD1,
    readonly sql: string,
    readonly params: Bindable[] = [],
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return new SqlStatement(this.db, this.sql, values.map(toBindable));
  }

  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  async first<T>(colName?: string): Promise<T | null> {
    const row = this.db.run(this).results[0];
    if (!row) return null;
    if (colName === undefined) return row as T;
    if (!(colName in row)) throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${colName})`);
    return row[colName] as T;
  }

  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.db.run(this) as D1Result<T>;
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.db.run(this) as D1Result<T>;
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  async raw<T>(options?: { columnNames?: boolean }): Promise<unknown> {
    const { columns, rows } = this.db.rawRows(this);
    return (options?.columnNames ? [columns, ...rows] : rows) as T[];
  }
}

export class SqlStorageD1 implements D1Database {
  constructor(private readonly storage: DurableObjectStorage) {}

  prepare(query: string): D1PreparedStatement {
    return new SqlStatement(this, query);
  }

  async batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    if (statements.length === 0) throw new Error('D1_ERROR: No SQL statements detected.');
    const own = statements.map((s) => {
      if (!(s instanceof SqlStatement)) throw new TypeError('batch() takes statements of this database');
      return s;
    });
    return this.storage.transactionSync(() => own.map((s) => this.run(s))) as D1Result<T>[];
  }

  async exec(query: string): Promise<D1ExecResult> {
    const started = performance.now();
    try {
      this.storage.sql.exec(query);
    } catch (e) {
      throw d1Error(e);
    }
    return { count: 1, duration: performance.now() - started };
  }

  withSession(): D1DatabaseSession {
    return {
      prepare: (query) => this.prepare(query),
      batch: (statements) => this.batch(statements),
      getBookmark: () => null,
    };
  }

  async dump(): Promise<ArrayBuffer> {
    throw new Error('dump() is not part of the prototype');
  }

  run(s: SqlStatement): D1Result<Row> {
    const started = performance.now();
    try {
      const cursor = this.storage.sql.exec(s.sql, ...s.params);
      const results = cursor.toArray().map((row) => {
        const out: Row = {};
        for (const key in row) out[key] = fromCell(row[key]);
        return out;
      });
      return {
        success: true,
        meta: {
          served_by: 'durable-object-sqlite',
          duration: performance.now() - started,
          changes: cursor.rowsWritten,
          last_row_id: 0,
          changed_db: cursor.rowsWritten > 0,
          size_after: this.storage.sql.databaseSize,
          rows_read: cursor.rowsRead,
          rows_written: cursor.rowsWritten,
        },
        results,
      };
    } catch (e) {
      throw d1Error(e);
    }
  }

  rawRows(s: SqlStatement): { columns: string[]; rows: unknown[][] } {
    try {
      const cursor = this.storage.sql.exec(s.sql, ...s.params);
      const rows = [...cursor.raw()].map((r) => r.map(fromCell));
      return { columns: cursor.columnNames, rows };
    } catch (e) {
      throw d1Error(e);
    }
  }
}
