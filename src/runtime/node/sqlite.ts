/**
 * The subset of Cloudflare's D1Database that ChangeFlow uses, on a local SQLite file
 * (better-sqlite3), so that the same db layer and use cases run on Node. Where D1 has a behaviour the code
 * can observe, this matches it (checked against miniflare's D1): numbered `?NNN` parameters bound
 * by position, the bind-time type rules (`undefined` and objects refused, booleans become 1/0,
 * byte arrays become blobs), blobs read back as arrays of bytes, `batch()` as one transaction,
 * lazy errors (a bad statement fails when run, not when prepared) and the error texts
 * (`D1_ERROR: UNIQUE constraint failed: t.c: SQLITE_CONSTRAINT (extended: …)`, trigger RAISE
 * messages likewise), which the use cases match on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

type Row = Record<string, unknown>;
type Bindable = number | string | null | Buffer;

export interface SqliteD1Options {
  /** How long a statement waits for another connection's lock before SQLITE_BUSY. @default 5000 */
  busyTimeoutMs?: number;
  /**
   * SQLite's `synchronous` in WAL mode. FULL (the default) makes every committed batch durable
   * across a power loss, as D1's acknowledged writes are; NORMAL is faster but may lose the last
   * commits on a power loss (never on a process crash).
   */
  synchronous?: 'FULL' | 'NORMAL';
}

/** A D1Database over SQLite, plus what only a local file has. */
export interface SqliteD1 extends D1Database {
  /** The underlying connection (migrations, backups). */
  readonly sqlite: Database.Database;
  close(): void;
}

const d1Error = (message: string, prefix = 'D1_ERROR') =>
  new Error(`${prefix}: ${message}`, { cause: new Error(message) });

/** `UNIQUE constraint failed: t.c: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)`, as D1 words it. */
function sqliteMessage(e: unknown): string {
  if (e instanceof Database.SqliteError) {
    const primary = e.code.split('_').slice(0, 2).join('_');
    return `${e.message}: ${primary === e.code ? primary : `${primary} (extended: ${e.code})`}`;
  }
  const message = String((e as Error)?.message ?? e);
  return /contains no statements/.test(message) ? 'No SQL statements detected.' : message;
}

/** Errors of ours (already worded as D1's) pass through; SQLite's are reworded. */
const asD1Error = (e: unknown) => ((e as Error)?.message?.startsWith('D1_') ? e : d1Error(sqliteMessage(e)));

/** D1's bind-time conversion: the same values are accepted, refused and converted. */
function toBindable(value: unknown): Bindable {
  switch (typeof value) {
    case 'number':
    case 'string':
      return value;
    case 'boolean':
      return value ? 1 : 0;
    case 'object':
      if (value === null) return null;
      if (Array.isArray(value) && value.every((b) => typeof b === 'number' && b >= 0 && b < 256))
        return Buffer.from(value);
      if (value instanceof ArrayBuffer) return Buffer.from(new Uint8Array(value));
      // D1 sends a view's elements (not its bytes), each then stored as one byte.
      if (ArrayBuffer.isView(value))
        return Buffer.from(Uint8Array.from(value as unknown as ArrayLike<number>));
  }
  const message = `Type '${typeof value}' not supported for value '${String(value)}'`;
  throw d1Error(message, 'D1_TYPE_ERROR');
}

/** D1 returns blobs as arrays of byte values (a blob is the only object SQLite hands back). */
function fromSqliteRow(row: Row, columns: readonly string[]): Row {
  for (let i = 0; i < columns.length; i++) {
    const key = columns[i] as string;
    const v = row[key];
    if (typeof v === 'object' && v !== null) row[key] = Array.from(v as Uint8Array);
  }
  return row;
}

const fromSqliteCells = (cells: unknown[]): unknown[] =>
  cells.map((v) => (typeof v === 'object' && v !== null ? Array.from(v as Uint8Array) : v));

const IDENT = /[A-Za-z0-9_$]/;

/**
 * D1 binds values by position: `?NNN` takes the NNN-th value, a bare `?` (or a `:name`) the next
 * number after the largest so far, as in SQLite. better-sqlite3 binds numbered parameters only by
 * name, so each one is renamed `@pN` and bound from an object. String literals, quoted
 * identifiers and comments are skipped. Returns the rewritten SQL and how many values it takes.
 * When the parameters name the values 1, 2, … N once each and in that order (most statements:
 * `?1 … ?N` or bare `?`s), each is a bare `?` instead, bound from the values as they are
 * (`positional`): no object per statement run.
 */
function numberParameters(sql: string): { sql: string; count: number; positional: boolean } {
  if (!/[?:@$]/.test(sql)) return { sql, count: 0, positional: true };
  let out = '';
  let bare = '';
  let inOrder = true;
  let seen = 0;
  let max = 0;
  const named = new Map<string, number>();
  let i = 0;
  const skipTo = (end: string, from: number) => {
    const at = sql.indexOf(end, from);
    return at < 0 ? sql.length : at + end.length;
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    let next = i + 1;
    if (c === "'" || c === '"' || c === '`') {
      next = skipTo(c, i + 1); // a doubled quote inside reads as two adjacent literals
    } else if (c === '[') {
      next = skipTo(']', i + 1);
    } else if (c === '-' && sql[i + 1] === '-') {
      next = skipTo('\n', i + 2);
    } else if (c === '/' && sql[i + 1] === '*') {
      next = skipTo('*/', i + 2);
    } else if (c === '?') {
      while (next < sql.length && /[0-9]/.test(sql[next] as string)) next++;
      const n = next > i + 1 ? Number(sql.slice(i + 1, next)) : max + 1;
      max = Math.max(max, n);
      out += `@p${n}`;
      bare += '?';
      inOrder &&= n === ++seen;
      i = next;
      continue;
    } else if ((c === ':' || c === '@' || c === '$') && IDENT.test(sql[i + 1] ?? '')) {
      while (next < sql.length && IDENT.test(sql[next] as string)) next++;
      const name = sql.slice(i, next);
      let n = named.get(name);
      if (n === undefined) {
        n = max + 1;
        named.set(name, n);
      }
      max = Math.max(max, n);
      out += `@p${n}`;
      bare += '?';
      inOrder &&= n === ++seen;
      i = next;
      continue;
    }
    out += sql.slice(i, next);
    bare += sql.slice(i, next);
    i = next;
  }
  const positional = inOrder && seen === max;
  return { sql: positional ? bare : out, count: max, positional };
}

/** D1 runs each statement on its own and a batch as one transaction; it refuses explicit ones. */
const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;

interface Compiled {
  stmt: Database.Statement<unknown[], Row>;
  /** How many values it takes. */
  count: number;
  /** Bound by name (`@pN`), or null: by position, from the values as they are. */
  names: string[] | null;
  /** The result's column names (none for a statement that returns no rows). */
  columns: string[];
}

/** Statements kept compiled, per SQL text (the code's statements are few; IN lists vary). */
const MAX_CACHED_STATEMENTS = 500;

class SqlitePreparedStatement implements D1PreparedStatement {
  constructor(
    private readonly db: SqliteDatabase,
    readonly sql: string,
    readonly params: Bindable[] = [],
  ) {}

  bind(...values: unknown[]): D1PreparedStatement {
    return new SqlitePreparedStatement(this.db, this.sql, values.map(toBindable));
  }

  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  async first<T>(colName?: string): Promise<T | null> {
    const row = this.db.firstRow(this);
    if (!row) return null;
    if (colName === undefined) return row as T;
    if (row[colName] === undefined) {
      throw new Error(`D1_COLUMN_NOTFOUND: Column not found (${colName})`, {
        cause: new Error('Column not found'),
      });
    }
    return row[colName] as T;
  }

  async run<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.db.execute(this) as D1Result<T>;
  }

  async all<T = Record<string, unknown>>(): Promise<D1Result<T>> {
    return this.db.execute(this) as D1Result<T>;
  }

  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
  async raw<T>(options?: { columnNames?: boolean }): Promise<unknown> {
    const { columns, rows } = this.db.rawRows(this);
    return (options?.columnNames ? [columns, ...rows] : rows) as T[];
  }
}

class SqliteDatabase implements SqliteD1 {
  private readonly cache = new Map<string, Compiled>();
  private readonly sizeStmt: Database.Statement<unknown[], { size: number }>;
  private readonly changesStmt: Database.Statement<unknown[], { changes: number; rowid: number }>;
  /** Runs `work` in one transaction (BEGIN … COMMIT, ROLLBACK when it throws). */
  private readonly transact: Database.Transaction<(work: () => unknown) => unknown>;
  private sizeAfter: number;
  private lastRowId = 0;

  constructor(readonly sqlite: Database.Database) {
    this.transact = sqlite.transaction((work: () => unknown) => work());
    this.sizeStmt = sqlite.prepare(
      'SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()',
    );
    this.changesStmt = sqlite.prepare('SELECT changes() AS changes, last_insert_rowid() AS rowid');
    this.sizeAfter = this.sizeStmt.get()?.size ?? 0;
  }

  prepare(query: string): D1PreparedStatement {
    return new SqlitePreparedStatement(this, query);
  }

  async batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    if (statements.length === 0) throw d1Error('No SQL statements detected.');
    const own = statements.map((s) => {
      if (!(s instanceof SqlitePreparedStatement))
        throw new TypeError('batch() takes statements of this database');
      return s;
    });
    const compiled = own.map((s) => this.compile(s.sql));
    // A batch that writes takes the write lock up front (BEGIN IMMEDIATE), so a busy database
    // makes it wait out the busy timeout instead of failing half-way on a lock upgrade.
    const writes = compiled.some((c) => !c.stmt.readonly);
    const work = () => own.map((s, i) => this.run(s, compiled[i] as Compiled, true));
    let results: D1Result<Row>[];
    try {
      results = (writes ? this.transact.immediate(work) : this.transact.deferred(work)) as D1Result<Row>[];
    } catch (e) {
      throw asD1Error(e);
    }
    if (writes) {
      // One read of the size for the whole batch (one transaction): what it is after the commit.
      this.sizeAfter = this.sizeStmt.get()?.size ?? this.sizeAfter;
      for (const r of results) r.meta.size_after = this.sizeAfter;
    }
    return results as D1Result<T>[];
  }

  /** As D1: each line is one statement, all in one transaction. */
  async exec(query: string): Promise<D1ExecResult> {
    const lines = query
      .trim()
      .split('\n')
      .filter((l) => l.replace(/^\s*--.*$/, '').trim().length > 0);
    if (lines.length === 0) throw d1Error('No SQL statements detected.');
    const started = performance.now();
    let line = 0;
    try {
      this.transact(() => {
        for (; line < lines.length; line++) this.sqlite.exec(lines[line] as string);
      });
    } catch (e) {
      const message = `Error in line ${line + 1}: ${lines[line]}: ${sqliteMessage(e)}`;
      throw d1Error(message, 'D1_EXEC_ERROR');
    }
    return { count: lines.length, duration: performance.now() - started };
  }

  /** One process, one file: every read sees every committed write, so a session is the database. */
  withSession(): D1DatabaseSession {
    return {
      prepare: (query) => this.prepare(query),
      batch: (statements) => this.batch(statements),
      getBookmark: () => null,
    };
  }

  async dump(): Promise<ArrayBuffer> {
    const bytes = this.sqlite.serialize();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  close(): void {
    this.cache.clear();
    if (this.sqlite.open) this.sqlite.close();
  }

  /** Compiles once per SQL text; errors surface when a statement runs, as D1's do. */
  private compile(sql: string): Compiled {
    const cached = this.cache.get(sql);
    if (cached) return cached;
    if (TRANSACTION_CONTROL.test(sql)) {
      throw d1Error('Transactions are not run statement by statement on D1: use db.batch(), one transaction');
    }
    const numbered = numberParameters(sql);
    let stmt: Database.Statement<unknown[], Row>;
    try {
      stmt = this.sqlite.prepare<unknown[], Row>(numbered.sql);
    } catch (e) {
      throw asD1Error(e);
    }
    const compiled: Compiled = {
      stmt,
      count: numbered.count,
      names: numbered.positional ? null : Array.from({ length: numbered.count }, (_, i) => `p${i + 1}`),
      columns: stmt.reader ? stmt.columns().map((col) => col.name) : [],
    };
    if (this.cache.size >= MAX_CACHED_STATEMENTS) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(sql, compiled);
    return compiled;
  }

  private args(c: Compiled, params: Bindable[]): [Record<string, Bindable>] | Bindable[] {
    if (params.length !== c.count) throw d1Error('Wrong number of parameter bindings for SQL query.');
    if (c.names === null || params.length === 0) return params;
    const named: Record<string, Bindable> = {};
    for (let i = 0; i < c.names.length; i++) named[c.names[i] as string] = params[i] as Bindable;
    return [named];
  }

  /**
   * Runs one statement and describes it as D1 does. `inBatch`: the database's size after it is
   * read once the batch committed (batch() sets it on every result), not after each statement.
   */
  private run(s: SqlitePreparedStatement, c: Compiled, inBatch = false): D1Result<Row> {
    const started = performance.now();
    let results: Row[] = [];
    let changes = 0;
    try {
      const args = this.args(c, s.params);
      if (c.stmt.reader) {
        results = c.stmt.all(...args);
        for (const row of results) fromSqliteRow(row, c.columns);
        if (!c.stmt.readonly) {
          // INSERT … RETURNING: better-sqlite3 reports no counts for statements that return rows.
          const after = this.changesStmt.get() as { changes: number; rowid: number };
          changes = after.changes;
          this.lastRowId = after.rowid;
        }
      } else {
        const info = c.stmt.run(...args);
        changes = info.changes;
        this.lastRowId = Number(info.lastInsertRowid);
      }
    } catch (e) {
      throw asD1Error(e);
    }
    if (!c.stmt.readonly && !inBatch) this.sizeAfter = this.sizeStmt.get()?.size ?? this.sizeAfter;
    return {
      success: true,
      meta: {
        served_by: 'better-sqlite3',
        duration: performance.now() - started,
        changes,
        last_row_id: this.lastRowId,
        changed_db: changes > 0,
        size_after: this.sizeAfter,
        // SQLite's own scan counters are not exposed: rows returned and rows changed.
        rows_read: results.length,
        rows_written: changes,
      },
      results,
    };
  }

  execute(s: SqlitePreparedStatement): D1Result<Row> {
    return this.run(s, this.compile(s.sql));
  }

  /** The first row, reading no further when the statement only reads. */
  firstRow(s: SqlitePreparedStatement): Row | null {
    const c = this.compile(s.sql);
    if (!c.stmt.readonly || !c.stmt.reader) return this.run(s, c).results[0] ?? null;
    try {
      const row = c.stmt.get(...this.args(c, s.params));
      return row ? fromSqliteRow(row, c.columns) : null;
    } catch (e) {
      throw asD1Error(e);
    }
  }

  rawRows(s: SqlitePreparedStatement): { columns: string[]; rows: unknown[][] } {
    const c = this.compile(s.sql);
    if (!c.stmt.reader) {
      this.run(s, c);
      return { columns: [], rows: [] };
    }
    const columns = [...c.columns];
    try {
      // Array rows keep duplicate column names apart; the mode is reset before anything else runs.
      c.stmt.raw(true);
      const rows = (c.stmt.all(...this.args(c, s.params)) as unknown as unknown[][]).map(fromSqliteCells);
      return { columns, rows };
    } catch (e) {
      throw asD1Error(e);
    } finally {
      c.stmt.raw(false);
    }
  }
}

/**
 * Opens (or creates) a SQLite file as a D1Database: WAL journal (readers never wait for the
 * writer), foreign keys enforced as D1 enforces them, a busy timeout for other connections.
 */
export function openSqliteD1(path: string, options: SqliteD1Options = {}): SqliteD1 {
  const sqlite = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  sqlite.pragma('foreign_keys = ON');
  return new SqliteDatabase(sqlite);
}

/** The table wrangler records D1 migrations in, so a database moved between the two stays consistent. */
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS d1_migrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
)`;

/**
 * Applies `dir/*.sql` in name order, each with its record in one transaction, skipping those
 * already recorded: re-running is a no-op. Returns the names applied now.
 */
export function applyMigrations(db: SqliteD1, dir = 'migrations'): string[] {
  const { sqlite } = db;
  sqlite.exec(MIGRATIONS_TABLE);
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort();
  const isApplied = sqlite.prepare<[string], { n: number }>(
    'SELECT COUNT(*) AS n FROM d1_migrations WHERE name = ?',
  );
  const record = sqlite.prepare<[string]>('INSERT INTO d1_migrations (name) VALUES (?)');
  const applied: string[] = [];
  for (const name of files) {
    const sql = readFileSync(join(dir, name), 'utf8');
    // Checked again inside the write lock: another process may be migrating the same file.
    const apply = sqlite.transaction(() => {
      if ((isApplied.get(name)?.n ?? 0) > 0) return false;
      sqlite.exec(sql);
      record.run(name);
      return true;
    });
    try {
      if (apply.immediate()) applied.push(name);
    } catch (e) {
      throw new Error(`Migration ${name} failed: ${sqliteMessage(e)}`, { cause: e });
    }
  }
  return applied;
}
