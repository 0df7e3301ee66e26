// The core's database port is D1's API (prepare/bind/run/all/first/raw, batch as one transaction,
// exec). Under the Worker the real declarations come from @cloudflare/workers-types; the Node
// runtime is compiled without those (tsconfig.node.json: Node types only, so Worker globals cannot
// creep into Node code, nor Node's into the Worker's), and this file declares the same shapes for
// the core as Node sees it. src/runtime/node/sqlite.ts implements them over better-sqlite3.

interface D1Meta {
  duration: number;
  size_after: number;
  rows_read: number;
  rows_written: number;
  last_row_id: number;
  changed_db: boolean;
  changes: number;
}
interface D1Response {
  success: true;
  meta: D1Meta & Record<string, unknown>;
  error?: never;
}
type D1Result<T = unknown> = D1Response & { results: T[] };
interface D1ExecResult {
  count: number;
  duration: number;
}
interface D1PreparedStatement {
  bind(...values: unknown[]): D1PreparedStatement;
  first<T = unknown>(colName: string): Promise<T | null>;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  run<T = Record<string, unknown>>(): Promise<D1Result<T>>;
  all<T = Record<string, unknown>>(): Promise<D1Result<T>>;
  raw<T = unknown[]>(options: { columnNames: true }): Promise<[string[], ...T[]]>;
  raw<T = unknown[]>(options?: { columnNames?: false }): Promise<T[]>;
}
interface D1DatabaseSession {
  prepare(query: string): D1PreparedStatement;
  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]>;
  getBookmark(): string | null;
}
interface D1Database {
  prepare(query: string): D1PreparedStatement;
  batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]>;
  exec(query: string): Promise<D1ExecResult>;
  withSession(constraintOrBookmark?: string): D1DatabaseSession;
  dump(): Promise<ArrayBuffer>;
}
/** A service binding (the Worker's static assets); the Node runtime serves public/ itself. */
interface Fetcher {
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
}
