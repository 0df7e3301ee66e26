import { approvalsForChanges } from '../db/approvals';
import { type AuditEventRecord, listAuditEvents } from '../db/audit';
import { changesCreatedBetween } from '../db/changes';
import { changeAggregates } from '../db/metrics';
import { servicesTagged } from '../db/services';
import { buildComplianceReport, type ComplianceReport } from '../domain/compliance';
import { type Keyset, type Page, type PageRequest, type PageSize, paginate } from '../domain/pagination';
import { ACTIVE_STATUSES } from '../domain/stateMachine';
import { CHANGE_STATUSES, type ChangeStatus } from '../domain/types';
import { AppError } from '../errors';
import { verifyTenantAuditChain } from './auditVerification';
import type { AuthedContext } from './context';

export const AUDIT_PAGE_SIZE: PageSize = { default: 20, max: 200 };

/** The audit trail is ordered by its chain position, newest first. */
const bySeq: Keyset<AuditEventRecord, { seq: number }> = {
  isCursor: (v): v is { seq: number } =>
    typeof v === 'object' && v !== null && Number.isInteger((v as { seq: unknown }).seq),
  cursorOf: (e) => ({ seq: e.seq }),
};

/** Audit events newest first: of one target (a change, an approval…) when given, else of the tenant. */
export function auditLogPage(
  ctx: AuthedContext,
  targetId: string | null,
  request: PageRequest,
): Promise<Page<AuditEventRecord>> {
  return paginate(request, AUDIT_PAGE_SIZE, bySeq, (limit, cursor) =>
    listAuditEvents(ctx.db, ctx.principal.tenantId, { targetId, limit, beforeSeq: cursor?.seq ?? null }),
  );
}

/** Longest period one report covers, so a report stays one bounded read. */
const MAX_REPORT_DAYS = 366;
/** Most changes one report reviews: a period with more is refused (ask for a shorter one). */
export const MAX_REPORT_CHANGES = 5000;

export async function complianceReport(
  ctx: AuthedContext,
  from: string,
  to: string,
): Promise<ComplianceReport> {
  const span = (Date.parse(to) - Date.parse(from)) / 86_400_000;
  if (!(span > 0) || span > MAX_REPORT_DAYS) {
    throw new AppError('VALIDATION_FAILED', `to must be after from, at most ${MAX_REPORT_DAYS} days later`, {
      issues: [{ field: 'to', message: 'invalid period' }],
    });
  }
  const tenantId = ctx.principal.tenantId;
  // The chain's part is one bounded RECENT verification step (from the last digest or the last
  // event verified), which also reports any break an earlier verification recorded: never a scan.
  const [changes, pciServices, chain] = await Promise.all([
    changesCreatedBetween(ctx.db, tenantId, from, to, MAX_REPORT_CHANGES + 1),
    servicesTagged(ctx.db, tenantId, 'pci'),
    verifyTenantAuditChain(ctx, { mode: 'RECENT' }),
  ]);
  if (changes.length > MAX_REPORT_CHANGES) {
    throw new AppError(
      'VALIDATION_FAILED',
      `More than ${MAX_REPORT_CHANGES} changes were created in the period: ask for a shorter one`,
      { issues: [{ field: 'to', message: `more than ${MAX_REPORT_CHANGES} changes in the period` }] },
    );
  }
  const approvals = changes.length
    ? await approvalsForChanges(
        ctx.db,
        tenantId,
        changes.map((c) => c.id),
      )
    : [];
  return buildComplianceReport({
    from,
    to,
    now: ctx.now().toISOString(),
    changes,
    approvals,
    pciServices,
    auditChain: {
      valid: chain.valid,
      brokenAtSeq: chain.brokenAtSeq,
      verifiedToSeq: chain.verifiedToSeq,
      headSeq: chain.toSeq,
    },
  });
}

export interface ChangeKpis {
  totalChanges: number;
  activeChanges: number;
  pendingApprovals: number;
  /** Hours; null until something has been approved. */
  meanTimeToApproveHours: number | null;
  /** COMPLETED / (COMPLETED + FAILED + ROLLED_BACK); null before anything finished. */
  successRate: number | null;
  /** EMERGENCY changes / all changes; null with no changes. */
  emergencyRatio: number | null;
  changesByStatus: { status: ChangeStatus; count: number }[];
  generatedAt: string;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

export async function changeKpis(ctx: AuthedContext): Promise<ChangeKpis> {
  const agg = await changeAggregates(ctx.db, ctx.principal.tenantId);
  const byStatus = new Map<ChangeStatus, number>();
  let total = 0;
  let emergency = 0;
  for (const g of agg.byStatusAndType) {
    byStatus.set(g.status, (byStatus.get(g.status) ?? 0) + g.count);
    total += g.count;
    if (g.type === 'EMERGENCY') emergency += g.count;
  }
  const count = (s: ChangeStatus) => byStatus.get(s) ?? 0;
  const finished = count('COMPLETED') + count('FAILED') + count('ROLLED_BACK');
  return {
    totalChanges: total,
    activeChanges: ACTIVE_STATUSES.reduce((n, s) => n + count(s), 0),
    pendingApprovals: count('PENDING_APPROVAL'),
    meanTimeToApproveHours: agg.meanHoursToApprove === null ? null : round(agg.meanHoursToApprove, 2),
    successRate: finished === 0 ? null : round(count('COMPLETED') / finished, 4),
    emergencyRatio: total === 0 ? null : round(emergency / total, 4),
    changesByStatus: CHANGE_STATUSES.map((status) => ({ status, count: count(status) })),
    generatedAt: ctx.now().toISOString(),
  };
}
