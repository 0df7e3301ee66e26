/**
 * What a database error means, from its text: the one place that reads D1's (and the Node
 * runtime's SQLite, worded as D1's by src/runtime/node/sqlite.ts) error messages. D1 errors carry
 * no structured code, only a message such as
 *
 *   D1_ERROR: UNIQUE constraint failed: audit_events.tenant_id, audit_events.seq: SQLITE_CONSTRAINT
 *   D1_ERROR: CHANGE_VERSION_CONFLICT: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_TRIGGER)
 *
 * so every caller asks here instead of matching text itself (test/db/errors.test.ts provokes each
 * in workerd's D1 and in better-sqlite3).
 */

/** The guards our migrations' triggers raise (`SELECT RAISE(ABORT, '…')`). */
export const DB_GUARDS = [
  'CHANGE_VERSION_CONFLICT',
  'WORKFLOW_VERSION_CONFLICT',
  'TEMPLATE_VERSION_CONFLICT',
  'WORKFLOW_HAS_LIVE_EXECUTIONS',
  'WORKFLOW_NOT_FOUND',
  'CHANGE_MIGRATION_ALREADY_AUDITED',
  'EXECUTION_ALREADY_ENDED',
  'DEPLOYMENT_ALREADY_LINKED',
] as const;
export type DbGuard = (typeof DB_GUARDS)[number];

const VERSION_GUARDS: readonly DbGuard[] = [
  'CHANGE_VERSION_CONFLICT',
  'WORKFLOW_VERSION_CONFLICT',
  'TEMPLATE_VERSION_CONFLICT',
  // An execution ended under a write that read it live (migration 0014): re-read, nothing to do.
  'EXECUTION_ALREADY_ENDED',
];

export type DbErrorClass =
  /** A UNIQUE or PRIMARY KEY constraint refused the write: someone else holds the key (a race, a replay). */
  | { kind: 'unique'; table: string; columns: string[] }
  /** An optimistic-concurrency guard: the row moved on since it was read; re-read and retry. */
  | { kind: 'version-conflict'; guard: DbGuard }
  /** Another guard of our triggers refused the write. */
  | { kind: 'guard'; guard: DbGuard }
  /** SQLite's lock is held by another connection past the busy timeout (the Node runtime's file). */
  | { kind: 'busy' }
  /** D1 queued too much for this database: retrying at once adds to the queue. */
  | { kind: 'overloaded' }
  /** A transient D1 failure Cloudflare documents as safe to retry (its object reset, the network lost). */
  | { kind: 'retryable' }
  | { kind: 'other' };

const UNIQUE = /UNIQUE constraint failed: ([^:]+?)(?::\s*SQLITE_|$)/;
const GUARD = new RegExp(`\\b(${DB_GUARDS.join('|')})\\b`);
/** better-sqlite3's own text and code, and D1's wording of it. */
const BUSY = /\bSQLITE_BUSY\b|database is locked/;
const OVERLOADED = /D1 DB is overloaded/;
/** The D1_ERRORs whose documented action is "retry the operation". */
const RETRYABLE = /Network connection lost|caused object to be reset|reset because its code was updated/;

/** The message, and better-sqlite3's `code` when it is its own error (the D1 shim puts it in the text). */
function partsOf(e: unknown): { text: string; code: string | null } {
  if (typeof e === 'string') return { text: e, code: null };
  const { message, code } = (e ?? {}) as { message?: unknown; code?: unknown };
  return {
    text: typeof message === 'string' ? message : String(e),
    code: typeof code === 'string' ? code : null,
  };
}

export function classifyDbError(e: unknown): DbErrorClass {
  const { text, code } = partsOf(e);
  const unique = UNIQUE.exec(text);
  if (unique) {
    const columns = (unique[1] as string).split(',').map((c) => c.trim());
    const table = (columns[0] ?? '').split('.')[0] as string;
    return { kind: 'unique', table, columns: columns.map((c) => c.slice(c.indexOf('.') + 1)) };
  }
  const guard = GUARD.exec(text)?.[1] as DbGuard | undefined;
  if (guard)
    return VERSION_GUARDS.includes(guard) ? { kind: 'version-conflict', guard } : { kind: 'guard', guard };
  if (code === 'SQLITE_BUSY' || BUSY.test(text)) return { kind: 'busy' };
  if (OVERLOADED.test(text)) return { kind: 'overloaded' };
  if (RETRYABLE.test(text)) return { kind: 'retryable' };
  return { kind: 'other' };
}

/** Whether `e` is a UNIQUE (or primary key) refusal on `table`. */
export function isUniqueViolation(e: unknown, table: string): boolean {
  const c = classifyDbError(e);
  return c.kind === 'unique' && c.table === table;
}

/** Whether `e` is the named guard of our triggers (a version conflict included). */
export function isGuard(e: unknown, guard: DbGuard): boolean {
  const c = classifyDbError(e);
  return (c.kind === 'guard' || c.kind === 'version-conflict') && c.guard === guard;
}
