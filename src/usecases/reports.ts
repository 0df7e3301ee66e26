import { type AuditEventRecord, listAuditEvents } from '../db/audit';
import { type CompliancePeriod, complianceFacts } from '../db/compliance';
import { changeAggregates } from '../db/metrics';
import { servicesTagged } from '../db/services';
import { type ComplianceReport, complianceReportFromFacts, MAX_REPORT_FINDINGS } from '../domain/compliance';
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

/** Longest period one report covers. */
const MAX_REPORT_DAYS = 366;
const DAY_MS = 86_400_000;

/**
 * Splits [from, to) at midnight UTC: the whole days are read from the day counts, the parts of a
 * day at either end from the rows of change_compliance.
 */
export function compliancePeriod(from: string, to: string): CompliancePeriod {
  const start = Date.parse(from);
  const end = Date.parse(to);
  const firstDay = Math.ceil(start / DAY_MS) * DAY_MS;
  const lastDay = Math.floor(end / DAY_MS) * DAY_MS;
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const whole = firstDay < lastDay;
  return {
    from: new Date(start).toISOString(),
    to: new Date(end).toISOString(),
    fromDay: whole ? day(firstDay) : null,
    toDay: whole ? day(lastDay) : null,
  };
}

/**
 * SOX, PCI DSS 6.4 and emergency-review checks over the changes created in [from, to), from the
 * facts kept on write (migration 0020): the day counts of the period's whole days, the rows of its
 * partial edge days, the unreviewed emergency changes, and the first `findings` failing changes
 * of each check (the caller passes how many findings it will list, at most MAX_REPORT_FINDINGS; 0
 * when it lists none). What it reads does not grow with the number of changes of the period.
 */
export async function complianceReport(
  ctx: AuthedContext,
  from: string,
  to: string,
  findings: number = MAX_REPORT_FINDINGS,
): Promise<ComplianceReport> {
  const span = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (!(span > 0) || span > MAX_REPORT_DAYS) {
    throw new AppError('VALIDATION_FAILED', `to must be after from, at most ${MAX_REPORT_DAYS} days later`, {
      issues: [{ field: 'to', message: 'invalid period' }],
    });
  }
  const tenantId = ctx.principal.tenantId;
  const period = compliancePeriod(from, to);
  const now = ctx.now().toISOString();
  const limit = Math.max(0, Math.min(Math.trunc(findings), MAX_REPORT_FINDINGS));
  // The chain's part is one bounded RECENT verification step (from the last digest or the last
  // event verified), which also reports any break an earlier verification recorded: never a scan.
  const [facts, pciServices, chain] = await Promise.all([
    complianceFacts(ctx.db, tenantId, period, now, limit),
    servicesTagged(ctx.db, tenantId, 'pci'),
    verifyTenantAuditChain(ctx, { mode: 'RECENT' }),
  ]);
  return complianceReportFromFacts({
    from,
    to,
    now,
    changesReviewed: facts.counts.changes,
    failures: {
      'SOX-1': facts.counts.sox1,
      'SOX-2': facts.counts.sox2,
      'PCI-6.4': facts.counts.pci,
      'ITIL-EMERGENCY-REVIEW': facts.overdueReviews,
    },
    sox1: facts.sox1.map((r) => ({ changeId: r.change_id, requesterId: r.requester_id })),
    sox2: facts.sox2.map((r) => ({
      changeId: r.change_id,
      approvedAt: r.sox2 === 1 ? null : r.approved_at,
      implementedAt: r.implemented_at,
    })),
    pci: facts.pci.map((r) => ({
      changeId: r.change_id,
      affectedServices: JSON.parse(r.affected_services) as string[],
      gaps: r.pci_gaps,
    })),
    overdueReviews: facts.overdue.map((r) => ({ changeId: r.change_id, reviewDueAt: r.review_due_at })),
    pciServices,
    auditChain: {
      valid: chain.valid,
      brokenAtSeq: chain.brokenAtSeq,
      verifiedToSeq: chain.verifiedToSeq,
      headSeq: chain.toSeq,
    },
    limit,
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
