import type { AuditHashVersion } from '../domain/auditChain';

export type AuditSource = 'graphql' | 'mcp' | 'rest' | 'system';

export interface AuditEventRecord {
  tenantId: string;
  seq: number;
  id: string;
  actorId: string;
  actorType: string;
  source: AuditSource;
  toolName: string | null;
  action: string;
  targetType: string;
  targetId: string;
  requestId: string;
  before: unknown;
  after: unknown;
  createdAt: string;
  prevHash: string;
  hash: string;
  hashVersion: AuditHashVersion;
}

interface AuditRow {
  tenant_id: string;
  seq: number;
  id: string;
  actor_id: string;
  actor_type: string;
  source: string;
  tool_name: string | null;
  action: string;
  target_type: string;
  target_id: string;
  request_id: string;
  before_json: string | null;
  after_json: string | null;
  created_at: string;
  prev_hash: string;
  hash: string;
  hash_version: number;
}

const COLUMNS =
  'tenant_id, seq, id, actor_id, actor_type, source, tool_name, action, target_type, target_id, ' +
  'request_id, before_json, after_json, created_at, prev_hash, hash, hash_version';

const fromRow = (r: AuditRow): AuditEventRecord => ({
  tenantId: r.tenant_id,
  seq: r.seq,
  id: r.id,
  actorId: r.actor_id,
  actorType: r.actor_type,
  source: r.source as AuditSource,
  toolName: r.tool_name,
  action: r.action,
  targetType: r.target_type,
  targetId: r.target_id,
  requestId: r.request_id,
  before: r.before_json === null ? null : JSON.parse(r.before_json),
  after: r.after_json === null ? null : JSON.parse(r.after_json),
  createdAt: r.created_at,
  prevHash: r.prev_hash,
  hash: r.hash,
  hashVersion: r.hash_version === 2 ? 2 : 1,
});

/** The newest event of a tenant's chain: the link the next event hashes over. */
export async function auditHead(db: D1Database, tenantId: string) {
  return db
    .prepare('SELECT seq, hash FROM audit_events WHERE tenant_id = ?1 ORDER BY seq DESC LIMIT 1')
    .bind(tenantId)
    .first<{ seq: number; hash: string }>();
}

export function insertAuditEventStatement(db: D1Database, e: AuditEventRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_events (${COLUMNS})
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)`,
    )
    .bind(
      e.tenantId,
      e.seq,
      e.id,
      e.actorId,
      e.actorType,
      e.source,
      e.toolName,
      e.action,
      e.targetType,
      e.targetId,
      e.requestId,
      e.before === null ? null : JSON.stringify(e.before),
      e.after === null ? null : JSON.stringify(e.after),
      e.createdAt,
      e.prevHash,
      e.hash,
      e.hashVersion,
    );
}

/** Above every seq (SQLite's largest integer): the bound of a first page. */
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/** Newest first; `beforeSeq` is the keyset cursor. */
export async function listAuditEvents(
  db: D1Database,
  tenantId: string,
  opts: { targetId: string | null; limit: number; beforeSeq: number | null },
): Promise<AuditEventRecord[]> {
  // Two statements, so that each seeks its index (`?2 IS NULL OR target_id = ?2` can use none):
  // a target's events by idx_audit_tenant_target_seq (migration 0021), the tenant's by its key;
  // the cursor as a bound (MAX_SEQ when absent) so that a later page seeks to it too.
  const { results } = await db
    .prepare(
      opts.targetId === null
        ? `SELECT ${COLUMNS} FROM audit_events
           WHERE tenant_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3`
        : `SELECT ${COLUMNS} FROM audit_events
           WHERE tenant_id = ?1 AND target_id = ?4 AND seq < ?2 ORDER BY seq DESC LIMIT ?3`,
    )
    .bind(
      ...(opts.targetId === null
        ? [tenantId, opts.beforeSeq ?? MAX_SEQ, opts.limit]
        : [tenantId, opts.beforeSeq ?? MAX_SEQ, opts.limit, opts.targetId]),
    )
    .all<AuditRow>();
  return results.map(fromRow);
}

/** The whole chain in order, for verification. */
export async function auditChain(db: D1Database, tenantId: string): Promise<AuditEventRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = ?1 ORDER BY seq`)
    .bind(tenantId)
    .all<AuditRow>();
  return results.map(fromRow);
}

/** Up to `limit` events of a tenant's chain from `fromSeq` on, in order: a bounded page of it. */
export async function auditEventsFrom(
  db: D1Database,
  tenantId: string,
  fromSeq: number,
  toSeq: number,
  limit: number,
): Promise<AuditEventRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = ?1 AND seq BETWEEN ?2 AND ?3 ORDER BY seq LIMIT ?4`,
    )
    .bind(tenantId, fromSeq, toSeq, limit)
    .all<AuditRow>();
  return results.map(fromRow);
}

/** Up to `limit` events one actor wrote, from `fromSeq` on, in order (no index: a rare admin scan). */
export async function auditEventsByActor(
  db: D1Database,
  tenantId: string,
  actorId: string,
  fromSeq: number,
  limit: number,
): Promise<AuditEventRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = ?1 AND actor_id = ?2 AND seq >= ?3 ORDER BY seq LIMIT ?4`,
    )
    .bind(tenantId, actorId, fromSeq, limit)
    .all<AuditRow>();
  return results.map(fromRow);
}

/** Up to `limit` events of one target, in order (the target index). */
export async function auditEventsOfTarget(
  db: D1Database,
  tenantId: string,
  target: { type: string; id: string },
  limit: number,
): Promise<AuditEventRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_events WHERE tenant_id = ?1 AND target_type = ?2 AND target_id = ?3 ORDER BY seq LIMIT ?4`,
    )
    .bind(tenantId, target.type, target.id, limit)
    .all<AuditRow>();
  return results.map(fromRow);
}

/** Replaces an event's payloads with their redacted form; its hash and links stay as they are. */
export function redactAuditPayloadsStatement(
  db: D1Database,
  e: Pick<AuditEventRecord, 'tenantId' | 'seq' | 'before' | 'after'>,
): D1PreparedStatement {
  return db
    .prepare('UPDATE audit_events SET before_json = ?3, after_json = ?4 WHERE tenant_id = ?1 AND seq = ?2')
    .bind(
      e.tenantId,
      e.seq,
      e.before === null ? null : JSON.stringify(e.before),
      e.after === null ? null : JSON.stringify(e.after),
    );
}
