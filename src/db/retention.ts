import { DEFAULT_RETENTION, type RetentionPolicy } from '../domain/retention';

interface PolicyRow {
  step_output_days: number;
  idempotency_hours: number;
  erase_free_text: number;
  legal_hold: number;
  updated_at: string;
  updated_by: string;
}

/** The tenant's policy, or the defaults when it never set one. */
export async function retentionPolicy(db: D1Database, tenantId: string): Promise<RetentionPolicy> {
  const r = await db
    .prepare('SELECT * FROM retention_policies WHERE tenant_id = ?1')
    .bind(tenantId)
    .first<PolicyRow>();
  if (!r) return { ...DEFAULT_RETENTION };
  return {
    stepOutputDays: r.step_output_days,
    idempotencyHours: r.idempotency_hours,
    eraseFreeText: r.erase_free_text === 1,
    legalHold: r.legal_hold === 1,
    updatedAt: r.updated_at,
    updatedBy: r.updated_by,
  };
}

export function upsertRetentionPolicyStatement(
  db: D1Database,
  tenantId: string,
  p: RetentionPolicy & { updatedAt: string; updatedBy: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO retention_policies
         (tenant_id, step_output_days, idempotency_hours, erase_free_text, legal_hold, updated_at, updated_by)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
       ON CONFLICT (tenant_id) DO UPDATE SET
         step_output_days = excluded.step_output_days, idempotency_hours = excluded.idempotency_hours,
         erase_free_text = excluded.erase_free_text, legal_hold = excluded.legal_hold,
         updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    )
    .bind(
      tenantId,
      p.stepOutputDays,
      p.idempotencyHours,
      p.eraseFreeText ? 1 : 0,
      p.legalHold ? 1 : 0,
      p.updatedAt,
      p.updatedBy,
    );
}

/** `now` minus the tenant's period (or the default), in the ISO format the rows' timestamps use. */
const cutoff = (column: string, unit: 'days' | 'hours') =>
  `strftime('%Y-%m-%dT%H:%M:%fZ', ?1, '-' || COALESCE(p.${column}, ?2) || ' ${unit}')`;

/**
 * Clears the output of up to `limit` steps that ended longer ago than their tenant keeps outputs,
 * across tenants, skipping those under legal hold. Cleared rows leave the partial index the scan
 * uses, so the next batch starts where this one ended.
 */
export function pruneStepOutputsStatement(db: D1Database, now: string, limit: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE workflow_step_runs SET output = NULL, output_truncated = 0 WHERE rowid IN (
         SELECT s.rowid FROM workflow_step_runs s
         LEFT JOIN retention_policies p ON p.tenant_id = s.tenant_id
         WHERE s.output IS NOT NULL AND s.ended_at IS NOT NULL AND COALESCE(p.legal_hold, 0) = 0
           AND s.ended_at < ${cutoff('step_output_days', 'days')}
         LIMIT ?3)`,
    )
    .bind(now, DEFAULT_RETENTION.stepOutputDays, limit);
}

/** The same for the outputs of executions that ended (what their steps returned, gathered). */
export function pruneExecutionOutputsStatement(
  db: D1Database,
  now: string,
  limit: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE workflow_executions SET outputs = NULL WHERE rowid IN (
         SELECT e.rowid FROM workflow_executions e
         LEFT JOIN retention_policies p ON p.tenant_id = e.tenant_id
         WHERE e.outputs IS NOT NULL AND e.ended_at IS NOT NULL AND COALESCE(p.legal_hold, 0) = 0
           AND e.ended_at < ${cutoff('step_output_days', 'days')}
         LIMIT ?3)`,
    )
    .bind(now, DEFAULT_RETENTION.stepOutputDays, limit);
}

/** Deletes up to `limit` idempotency records older than their tenant keeps them (not under legal hold). */
export function pruneIdempotencyStatement(db: D1Database, now: string, limit: number): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM idempotency_keys WHERE rowid IN (
         SELECT k.rowid FROM idempotency_keys k
         LEFT JOIN retention_policies p ON p.tenant_id = k.tenant_id
         WHERE COALESCE(p.legal_hold, 0) = 0 AND k.created_at < ${cutoff('idempotency_hours', 'hours')}
         LIMIT ?3)`,
    )
    .bind(now, DEFAULT_RETENTION.idempotencyHours, limit);
}
