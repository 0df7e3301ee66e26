import type { SignedAuditDigest } from '../domain/auditDigest';

/** A digest as D1 records it: the signed digest and where the archive holds it. */
export interface AuditDigestRecord {
  tenantId: string;
  fromSeq: number;
  toSeq: number;
  eventCount: number;
  headHash: string;
  previousDigestHash: string | null;
  digestHash: string;
  keyId: string;
  signature: string;
  createdAt: string;
  objectKey: string;
  /** The archived file, byte for byte. */
  document: string;
  /** When the archive confirmed the write; null until then. */
  archivedAt: string | null;
}

interface DigestRow {
  tenant_id: string;
  from_seq: number;
  to_seq: number;
  event_count: number;
  head_hash: string;
  previous_digest_hash: string | null;
  digest_hash: string;
  key_id: string;
  signature: string;
  created_at: string;
  object_key: string;
  document: string;
  archived_at: string | null;
}

const COLUMNS =
  'tenant_id, from_seq, to_seq, event_count, head_hash, previous_digest_hash, digest_hash, key_id, ' +
  'signature, created_at, object_key, document, archived_at';

const fromRow = (r: DigestRow): AuditDigestRecord => ({
  tenantId: r.tenant_id,
  fromSeq: r.from_seq,
  toSeq: r.to_seq,
  eventCount: r.event_count,
  headHash: r.head_hash,
  previousDigestHash: r.previous_digest_hash,
  digestHash: r.digest_hash,
  keyId: r.key_id,
  signature: r.signature,
  createdAt: r.created_at,
  objectKey: r.object_key,
  document: r.document,
  archivedAt: r.archived_at,
});

export function digestRecord(
  signed: SignedAuditDigest,
  objectKey: string,
  document: string,
): AuditDigestRecord {
  const d = signed.digest;
  return {
    tenantId: d.tenant,
    fromSeq: d.fromSeq,
    toSeq: d.toSeq,
    eventCount: d.eventCount,
    headHash: d.headHash,
    previousDigestHash: d.previousDigestHash,
    digestHash: signed.digestHash,
    keyId: signed.keyId,
    signature: signed.signature,
    createdAt: d.createdAt,
    objectKey,
    document,
    archivedAt: null,
  };
}

/** The tenant's newest digest: where the next one continues. */
export async function lastAuditDigest(db: D1Database, tenantId: string): Promise<AuditDigestRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM audit_digests WHERE tenant_id = ?1 ORDER BY to_seq DESC LIMIT 1`)
    .bind(tenantId)
    .first<DigestRow>();
  return row ? fromRow(row) : null;
}

export async function insertAuditDigest(db: D1Database, r: AuditDigestRecord): Promise<void> {
  await db
    .prepare(
      `INSERT INTO audit_digests (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, NULL)`,
    )
    .bind(
      r.tenantId,
      r.fromSeq,
      r.toSeq,
      r.eventCount,
      r.headHash,
      r.previousDigestHash,
      r.digestHash,
      r.keyId,
      r.signature,
      r.createdAt,
      r.objectKey,
      r.document,
    )
    .run();
}

export async function markAuditDigestArchived(
  db: D1Database,
  tenantId: string,
  toSeq: number,
  at: string,
): Promise<void> {
  await db
    .prepare('UPDATE audit_digests SET archived_at = ?3 WHERE tenant_id = ?1 AND to_seq = ?2')
    .bind(tenantId, toSeq, at)
    .run();
}

/** The tenant's digests the archive has not confirmed yet, oldest first. */
export async function unarchivedAuditDigests(
  db: D1Database,
  tenantId: string,
  limit: number,
): Promise<AuditDigestRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_digests WHERE tenant_id = ?1 AND archived_at IS NULL ORDER BY to_seq LIMIT ?2`,
    )
    .bind(tenantId, limit)
    .all<DigestRow>();
  return results.map(fromRow);
}

/** Newest first; `beforeToSeq` is the keyset cursor. */
export async function listAuditDigests(
  db: D1Database,
  tenantId: string,
  opts: { limit: number; beforeToSeq: number | null },
): Promise<AuditDigestRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_digests WHERE tenant_id = ?1 AND (?2 IS NULL OR to_seq < ?2)
       ORDER BY to_seq DESC LIMIT ?3`,
    )
    .bind(tenantId, opts.beforeToSeq, opts.limit)
    .all<DigestRow>();
  return results.map(fromRow);
}

/** The tenant's digests that end within fromSeq..toSeq, oldest first (at most `limit`). */
export async function auditDigestsEndingBetween(
  db: D1Database,
  tenantId: string,
  fromSeq: number,
  toSeq: number,
  limit: number,
): Promise<AuditDigestRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM audit_digests WHERE tenant_id = ?1 AND to_seq BETWEEN ?2 AND ?3
       ORDER BY to_seq LIMIT ?4`,
    )
    .bind(tenantId, fromSeq, toSeq, limit)
    .all<DigestRow>();
  return results.map(fromRow);
}

/**
 * Up to `limit` tenants after `after`, in order: one index seek per tenant (users' primary key
 * starts with tenant_id), however many users each has, so a batch costs the same at any size.
 */
export async function tenantIdsAfter(db: D1Database, after: string, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(
      `WITH RECURSIVE next(tenant_id, n) AS (
         SELECT (SELECT MIN(tenant_id) FROM users WHERE tenant_id > ?1), 1
         UNION ALL
         SELECT (SELECT MIN(tenant_id) FROM users WHERE tenant_id > next.tenant_id), n + 1
         FROM next WHERE next.tenant_id IS NOT NULL AND n < ?2
       )
       SELECT tenant_id FROM next WHERE tenant_id IS NOT NULL`,
    )
    .bind(after, limit)
    .all<{ tenant_id: string }>();
  return results.map((r) => r.tenant_id);
}
