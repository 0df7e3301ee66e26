import type { ChangeStatus, ChangeType } from '../domain/types';

export interface ChangeAggregates {
  byStatusAndType: { status: ChangeStatus; type: ChangeType; count: number }[];
  /** Mean hours from submission to approval over approved changes; null when none. */
  meanHoursToApprove: number | null;
}

/** The change KPIs' raw figures: two aggregate statements in one round trip. */
export async function changeAggregates(db: D1Database, tenantId: string): Promise<ChangeAggregates> {
  const [groups, approve] = await db.batch([
    db
      .prepare(
        `SELECT status, type, COUNT(*) AS count FROM change_requests WHERE tenant_id = ?1 GROUP BY status, type`,
      )
      .bind(tenantId),
    db
      .prepare(
        `SELECT AVG((julianday(approved_at) - julianday(submitted_at)) * 24.0) AS hours
         FROM change_requests
         WHERE tenant_id = ?1 AND approved_at IS NOT NULL AND submitted_at IS NOT NULL`,
      )
      .bind(tenantId),
  ]);
  const hours = (approve?.results[0] as { hours: number | null } | undefined)?.hours ?? null;
  return {
    byStatusAndType: (groups?.results ?? []) as ChangeAggregates['byStatusAndType'],
    meanHoursToApprove: hours,
  };
}
