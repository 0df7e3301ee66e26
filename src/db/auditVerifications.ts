/** Verification runs of a tenant's audit chain, and what they established (migration 0015). */

export type VerificationMode = 'RECENT' | 'FULL';
export type VerificationStatus = 'RUNNING' | 'VALID' | 'BROKEN';
export type AnchorKind = 'GENESIS' | 'DIGEST' | 'CHECKPOINT';

export interface VerificationRun {
  tenantId: string;
  id: string;
  mode: VerificationMode;
  anchor: AnchorKind;
  fromSeq: number;
  toSeq: number;
  nextSeq: number;
  prevHash: string;
  checked: number;
  status: VerificationStatus;
  brokenAtSeq: number | null;
  reason: string | null;
  startedBy: string;
  startedAt: string;
  updatedAt: string;
  /** A FULL run the cron continues until it ends (migration 0020). */
  background: boolean;
}

interface RunRow {
  tenant_id: string;
  id: string;
  mode: VerificationMode;
  anchor: AnchorKind;
  from_seq: number;
  to_seq: number;
  next_seq: number;
  prev_hash: string;
  checked: number;
  status: VerificationStatus;
  broken_at_seq: number | null;
  reason: string | null;
  started_by: string;
  started_at: string;
  updated_at: string;
  background: number;
}

const RUN_COLUMNS =
  'tenant_id, id, mode, anchor, from_seq, to_seq, next_seq, prev_hash, checked, status, broken_at_seq, reason, ' +
  'started_by, started_at, updated_at, background';

const runFromRow = (r: RunRow): VerificationRun => ({
  tenantId: r.tenant_id,
  id: r.id,
  mode: r.mode,
  anchor: r.anchor,
  fromSeq: r.from_seq,
  toSeq: r.to_seq,
  nextSeq: r.next_seq,
  prevHash: r.prev_hash,
  checked: r.checked,
  status: r.status,
  brokenAtSeq: r.broken_at_seq,
  reason: r.reason,
  startedBy: r.started_by,
  startedAt: r.started_at,
  updatedAt: r.updated_at,
  background: r.background === 1,
});

export async function verificationRun(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<VerificationRun | null> {
  const row = await db
    .prepare(`SELECT ${RUN_COLUMNS} FROM audit_verifications WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<RunRow>();
  return row ? runFromRow(row) : null;
}

/**
 * Records a run that continues in later calls, and forgets the tenant's runs nobody continued
 * since `staleBefore` (so that starting runs over and over does not grow the table without end).
 */
export async function insertVerificationRun(
  db: D1Database,
  r: VerificationRun,
  staleBefore: string,
): Promise<void> {
  await db.batch([
    db
      .prepare('DELETE FROM audit_verifications WHERE tenant_id = ?1 AND updated_at < ?2')
      .bind(r.tenantId, staleBefore),
    db
      .prepare(
        `INSERT INTO audit_verifications (${RUN_COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`,
      )
      .bind(
        r.tenantId,
        r.id,
        r.mode,
        r.anchor,
        r.fromSeq,
        r.toSeq,
        r.nextSeq,
        r.prevHash,
        r.checked,
        r.status,
        r.brokenAtSeq,
        r.reason,
        r.startedBy,
        r.startedAt,
        r.updatedAt,
        r.background ? 1 : 0,
      ),
  ]);
}

/**
 * Moves a run on from `fromNextSeq`, if no other call moved it first (two calls with the same
 * cursor check the same page; one records it). Returns whether this call did.
 */
export async function advanceVerificationRun(
  db: D1Database,
  r: VerificationRun,
  fromNextSeq: number,
): Promise<boolean> {
  const res = await db
    .prepare(
      `UPDATE audit_verifications
       SET next_seq = ?3, prev_hash = ?4, checked = ?5, status = ?6, broken_at_seq = ?7, reason = ?8, updated_at = ?9,
         lease_until = NULL
       WHERE tenant_id = ?1 AND id = ?2 AND next_seq = ?10 AND status = 'RUNNING'`,
    )
    .bind(
      r.tenantId,
      r.id,
      r.nextSeq,
      r.prevHash,
      r.checked,
      r.status,
      r.brokenAtSeq,
      r.reason,
      r.updatedAt,
      fromNextSeq,
    )
    .run();
  return res.meta.changes > 0;
}

/** The tenant's FULL run the cron is continuing, if one is (and moved since `staleBefore`). */
export async function runningBackgroundRun(
  db: D1Database,
  tenantId: string,
  staleBefore: string,
): Promise<VerificationRun | null> {
  const row = await db
    .prepare(
      `SELECT ${RUN_COLUMNS} FROM audit_verifications
       WHERE tenant_id = ?1 AND background = 1 AND status = 'RUNNING' AND updated_at >= ?2
       ORDER BY started_at LIMIT 1`,
    )
    .bind(tenantId, staleBefore)
    .first<RunRow>();
  return row ? runFromRow(row) : null;
}

/** Running background runs of every tenant that no cron invocation holds, least recently moved first. */
export async function dueBackgroundRuns(
  db: D1Database,
  now: string,
  limit: number,
): Promise<VerificationRun[]> {
  const { results } = await db
    .prepare(
      `SELECT ${RUN_COLUMNS} FROM audit_verifications
       WHERE background = 1 AND status = 'RUNNING' AND (lease_until IS NULL OR lease_until < ?1)
       ORDER BY updated_at LIMIT ?2`,
    )
    .bind(now, limit)
    .all<RunRow>();
  return results.map(runFromRow);
}

/**
 * Takes a run's next page for one cron invocation until `until`, if it is still where it was and
 * nobody else holds it. Recording the page (advanceVerificationRun) releases it.
 */
export async function leaseBackgroundRun(
  db: D1Database,
  r: VerificationRun,
  now: string,
  until: string,
): Promise<boolean> {
  const res = await db
    .prepare(
      `UPDATE audit_verifications SET lease_until = ?4
       WHERE tenant_id = ?1 AND id = ?2 AND next_seq = ?3 AND status = 'RUNNING'
         AND (lease_until IS NULL OR lease_until < ?5)`,
    )
    .bind(r.tenantId, r.id, r.nextSeq, until, now)
    .run();
  return res.meta.changes > 0;
}

/** The tenant's verification runs, newest first. */
export async function listVerificationRuns(
  db: D1Database,
  tenantId: string,
  limit: number,
): Promise<VerificationRun[]> {
  const { results } = await db
    .prepare(
      `SELECT ${RUN_COLUMNS} FROM audit_verifications WHERE tenant_id = ?1 ORDER BY started_at DESC, id LIMIT ?2`,
    )
    .bind(tenantId, limit)
    .all<RunRow>();
  return results.map(runFromRow);
}

export interface ChainStatus {
  verifiedSeq: number;
  verifiedHash: string;
  verifiedAt: string;
  fullVerifiedSeq: number | null;
  fullVerifiedAt: string | null;
  brokenAtSeq: number | null;
  brokenReason: string | null;
  brokenFoundAt: string | null;
}

interface StatusRow {
  verified_seq: number;
  verified_hash: string;
  verified_at: string;
  full_verified_seq: number | null;
  full_verified_at: string | null;
  broken_at_seq: number | null;
  broken_reason: string | null;
  broken_found_at: string | null;
}

export async function chainStatus(db: D1Database, tenantId: string): Promise<ChainStatus | null> {
  const r = await db
    .prepare(
      `SELECT verified_seq, verified_hash, verified_at, full_verified_seq, full_verified_at,
              broken_at_seq, broken_reason, broken_found_at
       FROM audit_chain_status WHERE tenant_id = ?1`,
    )
    .bind(tenantId)
    .first<StatusRow>();
  if (!r) return null;
  return {
    verifiedSeq: r.verified_seq,
    verifiedHash: r.verified_hash,
    verifiedAt: r.verified_at,
    fullVerifiedSeq: r.full_verified_seq,
    fullVerifiedAt: r.full_verified_at,
    brokenAtSeq: r.broken_at_seq,
    brokenReason: r.broken_reason,
    brokenFoundAt: r.broken_found_at,
  };
}

/** What one verification call found, for the tenant's status. */
export interface VerificationFinding {
  /** The newest event verified from a trusted anchor (the anchor itself when none was). */
  reached: { seq: number; hash: string };
  /** The events verified whole in this call, linked to the anchor: a break among them is gone. */
  validFrom: number;
  validTo: number;
  /** A FULL run that has now verified seq 1 to this seq whole. */
  fullTo: number | null;
  broken: { seq: number; reason: string } | null;
  at: string;
}

/**
 * Folds a finding into the tenant's status in one statement, so that concurrent verifications
 * cannot lose each other's: the checkpoint only moves forward, the lowest break wins, and a break
 * is cleared only by a verification that checked its seq whole.
 */
export async function recordChainFinding(db: D1Database, tenantId: string, f: VerificationFinding) {
  const breaks = `CASE
      WHEN ?6 IS NOT NULL AND (broken_at_seq IS NULL OR ?6 < broken_at_seq OR broken_at_seq BETWEEN ?8 AND ?9)
        THEN 'new'
      WHEN broken_at_seq BETWEEN ?8 AND ?9 THEN 'cleared'
      ELSE 'kept' END`;
  await db
    .prepare(
      `INSERT INTO audit_chain_status (tenant_id, verified_seq, verified_hash, verified_at,
         full_verified_seq, full_verified_at, broken_at_seq, broken_reason, broken_found_at)
       VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?5 IS NULL THEN NULL ELSE ?4 END,
         ?6, ?7, CASE WHEN ?6 IS NULL THEN NULL ELSE ?4 END)
       ON CONFLICT (tenant_id) DO UPDATE SET
         verified_hash = CASE WHEN ?2 > verified_seq THEN ?3 ELSE verified_hash END,
         verified_at = CASE WHEN ?2 >= verified_seq THEN ?4 ELSE verified_at END,
         verified_seq = MAX(verified_seq, ?2),
         full_verified_seq = CASE WHEN ?5 IS NULL THEN full_verified_seq ELSE MAX(COALESCE(full_verified_seq, 0), ?5) END,
         full_verified_at = CASE WHEN ?5 IS NULL THEN full_verified_at ELSE ?4 END,
         broken_reason = CASE ${breaks} WHEN 'new' THEN ?7 WHEN 'cleared' THEN NULL ELSE broken_reason END,
         broken_found_at = CASE ${breaks} WHEN 'new' THEN ?4 WHEN 'cleared' THEN NULL ELSE broken_found_at END,
         broken_at_seq = CASE ${breaks} WHEN 'new' THEN ?6 WHEN 'cleared' THEN NULL ELSE broken_at_seq END`,
    )
    .bind(
      tenantId,
      f.reached.seq,
      f.reached.hash,
      f.at,
      f.fullTo,
      f.broken?.seq ?? null,
      f.broken?.reason ?? null,
      f.validFrom,
      f.validTo,
    )
    .run();
}
