import type { ChangeStatus, ChangeType } from '../domain/types';

export interface ChangeAggregates {
  byStatusAndType: { status: ChangeStatus; type: ChangeType; count: number }[];
  /** Mean hours from submission to approval over approved changes; null when none. */
  meanHoursToApprove: number | null;
}

/**
 * The change KPIs' raw figures, from the counts triggers keep on write (migration 0022): one row
 * per status and type however many changes the tenant has, in one round trip.
 */
export async function changeAggregates(db: D1Database, tenantId: string): Promise<ChangeAggregates> {
  const { results } = await db
    .prepare(
      `SELECT status, type, changes, approved, approve_ms FROM change_kpi_counts
       WHERE tenant_id = ?1 AND changes > 0`,
    )
    .bind(tenantId)
    .all<{ status: ChangeStatus; type: ChangeType; changes: number; approved: number; approve_ms: number }>();
  let approved = 0;
  let approveMs = 0;
  for (const r of results) {
    approved += r.approved;
    approveMs += r.approve_ms;
  }
  return {
    byStatusAndType: results.map(({ status, type, changes }) => ({ status, type, count: changes })),
    meanHoursToApprove: approved === 0 ? null : approveMs / approved / 3_600_000,
  };
}
