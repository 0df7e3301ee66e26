import type { ApprovalRecord } from '../domain/types';
import { type ApprovalRow, approvalFromRow } from './changeRows';

const COLUMNS =
  'id, tenant_id, change_id, approver_id, approver_roles, decision, comment, created_at, api_key_id';

/** Approvals of many changes in one statement (a JSON array parameter, not one `?` per id). */
export async function approvalsForChanges(
  db: D1Database,
  tenantId: string,
  changeIds: readonly string[],
): Promise<ApprovalRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM approvals
       WHERE tenant_id = ?1 AND change_id IN (SELECT value FROM json_each(?2))
       ORDER BY created_at, id`,
    )
    .bind(tenantId, JSON.stringify(changeIds))
    .all<ApprovalRow>();
  return results.map(approvalFromRow);
}

export function insertApprovalStatement(db: D1Database, a: ApprovalRecord): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO approvals (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`)
    .bind(
      a.id,
      a.tenantId,
      a.changeId,
      a.approverId,
      JSON.stringify(a.approverRoles),
      a.decision,
      a.comment,
      a.createdAt,
      a.apiKeyId,
    );
}
