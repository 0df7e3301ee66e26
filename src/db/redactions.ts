import {
  computeAuditHash,
  REDACTION_ACTION,
  type V1Redaction,
  type V1RedactionLookup,
  v1RedactionsIn,
} from '../domain/auditChain';
import { auditEventsFrom } from './audit';

/**
 * The index rows of the version-1 redactions a write's record event lists. They run in its batch
 * before its audit events are inserted, so the record's seq is the tenant's head + 1 then.
 */
export function insertV1RedactionStatements(
  db: D1Database,
  tenantId: string,
  redactions: readonly V1Redaction[],
): D1PreparedStatement[] {
  return redactions.map((r) =>
    db
      .prepare(
        `INSERT OR REPLACE INTO audit_redactions (tenant_id, seq, hash, redacted_hash, record_seq)
         VALUES (?1, ?2, ?3, ?4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_events WHERE tenant_id = ?1))`,
      )
      .bind(tenantId, r.seq, r.hash, r.redactedHash),
  );
}

/**
 * For a verifier that pages through the chain: a version-1 event's redaction, looked up by its
 * seq (one indexed read, and one for its record), trusted only if the record is a
 * `user.erased` event whose own hash is its content's and that lists the same redaction. The
 * record's link into the chain is checked when the verifier reaches it, as for any event.
 */
export function v1RedactionFromDb(db: D1Database, tenantId: string): V1RedactionLookup {
  return async (seq) => {
    const row = await db
      .prepare('SELECT record_seq FROM audit_redactions WHERE tenant_id = ?1 AND seq = ?2')
      .bind(tenantId, seq)
      .first<{ record_seq: number }>();
    if (!row || row.record_seq <= seq) return null;
    const [record] = await auditEventsFrom(db, tenantId, row.record_seq, row.record_seq, 1);
    if (!record || record.action !== REDACTION_ACTION) return null;
    if ((await computeAuditHash(record.prevHash, record)) !== record.hash) return null;
    return v1RedactionsIn([record]).get(seq) ?? null;
  };
}
