import { insertApprovalStatement } from '../db/approvals';
import { insertChangeStatements, overlappingScheduled, serviceHistory } from '../db/changes';
import { listFreezeWindows } from '../db/freezeWindows';
import { newChangeId, newId } from '../db/ids';
import { AppError } from '../errors';
import { assertCanVote, evaluateApprovals, isPreApproved } from './approvalPolicy';
import { assertOwnerOrManager, mutateChange } from './changeWrites';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';
import type { ApprovalRecord, ChangeRecord, ChangeType, Level, RiskAssessment } from './domain';
import { changeEvent } from './events';
import { priorityFor } from './priority';
import { assessRisk } from './risk';
import { checkSchedule, type ScheduleCheck } from './schedule';
import { assertTransition } from './stateMachine';

export interface ChangeDraft {
  title: string;
  description: string;
  type: ChangeType;
  impact: Level;
  urgency: Level;
  affectedServices: string[];
  implementationPlan?: string | null;
  backoutPlan?: string | null;
  testPlan?: string | null;
  runbookWorkflowId?: string | null;
}

/** Hours after an emergency override by which its post-implementation review is due. */
export const EMERGENCY_REVIEW_HOURS = 48;

const unique = (xs: string[]) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))];

export async function createChange(ctx: AuthedContext, draft: ChangeDraft): Promise<ChangeRecord> {
  const nowDate = ctx.now();
  const now = nowDate.toISOString();
  const change: ChangeRecord = {
    id: newChangeId(nowDate),
    tenantId: ctx.principal.tenantId,
    title: draft.title,
    description: draft.description,
    type: draft.type,
    impact: draft.impact,
    urgency: draft.urgency,
    priority: priorityFor(draft.impact, draft.urgency),
    status: 'DRAFT',
    requesterId: ctx.principal.id,
    affectedServices: unique(draft.affectedServices),
    implementationPlan: draft.implementationPlan ?? null,
    backoutPlan: draft.backoutPlan ?? null,
    testPlan: draft.testPlan ?? null,
    riskScore: null,
    riskLevel: null,
    riskFactors: null,
    plannedStart: null,
    plannedEnd: null,
    emergencyJustification: null,
    reviewDueAt: null,
    reviewedAt: null,
    runbookWorkflowId: draft.runbookWorkflowId ?? null,
    failureReason: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    submittedAt: null,
    approvedAt: null,
    implementedAt: null,
    completedAt: null,
  };
  const created = await commitWithAudit(ctx, async () => ({
    statements: insertChangeStatements(ctx.db, change),
    audit: [
      {
        action: 'change.created',
        targetType: 'ChangeRequest',
        targetId: change.id,
        before: null,
        after: change,
      },
    ],
    result: change,
  }));
  ctx.events?.publish(
    changeEvent('change.created', created, null, { id: ctx.principal.id, source: ctx.source }),
  );
  return created;
}

export async function updateChange(
  ctx: AuthedContext,
  id: string,
  patch: Partial<ChangeDraft>,
  expectedVersion?: number | null,
) {
  const { change } = await mutateChange(ctx, id, expectedVersion, (current) => {
    assertOwnerOrManager(ctx, current, 'edit');
    if (current.status !== 'DRAFT') {
      throw new AppError(
        'CHANGE_NOT_EDITABLE',
        `Change ${id} is ${current.status}; only a DRAFT can be edited`,
        {
          currentStatus: current.status,
        },
      );
    }
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const next: ChangeRecord = { ...current, ...defined } as ChangeRecord;
    next.affectedServices = unique(next.affectedServices);
    next.priority = priorityFor(next.impact, next.urgency);
    return { next, action: 'change.updated' };
  });
  return change;
}

/** Computes the risk of a change as it stands now, from its own fields and the tenant's history. */
export async function computeRisk(
  ctx: AuthedContext,
  change: ChangeRecord,
  now: string,
): Promise<RiskAssessment> {
  const [history, conflicts] = await Promise.all([
    serviceHistory(ctx.db, change.tenantId, change.affectedServices, change.id),
    change.plannedStart && change.plannedEnd
      ? overlappingScheduled(
          ctx.db,
          change.tenantId,
          change.affectedServices,
          change.plannedStart,
          change.plannedEnd,
          change.id,
        )
      : Promise.resolve([]),
  ]);
  return assessRisk({
    type: change.type,
    impact: change.impact,
    urgency: change.urgency,
    affectedServices: change.affectedServices,
    backoutPlan: change.backoutPlan,
    testPlan: change.testPlan,
    serviceHistory: history,
    scheduleConflicts: conflicts.length,
    now,
  });
}

const withRisk = (change: ChangeRecord, risk: RiskAssessment): ChangeRecord => ({
  ...change,
  riskScore: risk.score,
  riskLevel: risk.level,
  riskFactors: risk.factors,
});

/**
 * DRAFT → SUBMITTED, then routed at once: a STANDARD change with LOW risk is pre-approved,
 * every other change waits for the CAB in PENDING_APPROVAL.
 */
export async function submitChange(ctx: AuthedContext, id: string, expectedVersion?: number | null) {
  const { change } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    assertOwnerOrManager(ctx, current, 'submit');
    assertTransition(current.status, 'SUBMITTED');
    const risk = await computeRisk(ctx, current, now);
    const submitted = withRisk({ ...current, status: 'SUBMITTED', submittedAt: now }, risk);
    const preApproved = isPreApproved(current.type, risk.level);
    const target = preApproved ? 'APPROVED' : 'PENDING_APPROVAL';
    assertTransition('SUBMITTED', target);
    const next: ChangeRecord = { ...submitted, status: target, approvedAt: preApproved ? now : null };
    return {
      next,
      action: preApproved ? 'change.submitted.pre_approved' : 'change.submitted',
    };
  });
  return change;
}

const ASSESSABLE = new Set(['DRAFT', 'SUBMITTED', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED']);

/** Re-assesses and stores the risk; a pending change whose votes now suffice becomes APPROVED. */
export async function assessChangeRisk(ctx: AuthedContext, id: string, expectedVersion?: number | null) {
  const { change, result } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    if (!ASSESSABLE.has(current.status)) {
      throw new AppError(
        'CHANGE_INVALID_TRANSITION',
        `Change ${id} is ${current.status}; its risk is final`,
        {
          currentStatus: current.status,
        },
      );
    }
    const risk = await computeRisk(ctx, current, now);
    let next = withRisk(current, risk);
    if (current.status === 'PENDING_APPROVAL') {
      const approvals = await ctx.loaders.approvalsByChange.load(id);
      const evaluation = evaluateApprovals({ riskLevel: risk.level, approvals });
      if (evaluation.outcome !== 'PENDING') next = { ...next, status: evaluation.outcome, approvedAt: now };
    }
    return { next, action: 'change.risk_assessed', result: risk };
  });
  return { change, risk: result };
}

export type VoteDecision = 'APPROVE' | 'REJECT';

export async function decideApproval(
  ctx: AuthedContext,
  id: string,
  decision: VoteDecision,
  comment: string | null,
  expectedVersion?: number | null,
) {
  const { change, result } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    // Fresh read: the loader may hold votes from before a retry.
    ctx.loaders.approvalsByChange.clear(id);
    const existing = await ctx.loaders.approvalsByChange.load(id);
    assertCanVote({ change: current, voterId: ctx.principal.id, existing });
    if (!current.riskLevel) {
      throw new AppError('RISK_NOT_ASSESSED', `Change ${id} has no risk assessment; assess it first`);
    }
    const approval: ApprovalRecord = {
      id: newId('apr'),
      tenantId: current.tenantId,
      changeId: id,
      approverId: ctx.principal.id,
      approverRoles: ctx.principal.roles,
      decision: decision === 'APPROVE' ? 'APPROVED' : 'REJECTED',
      comment,
      createdAt: now,
    };
    const evaluation = evaluateApprovals({
      riskLevel: current.riskLevel,
      approvals: [...existing, approval],
    });
    let next = current;
    if (evaluation.outcome !== 'PENDING') {
      assertTransition(current.status, evaluation.outcome);
      next = {
        ...current,
        status: evaluation.outcome,
        approvedAt: evaluation.outcome === 'APPROVED' ? now : null,
      };
    }
    return {
      next,
      action: decision === 'APPROVE' ? 'change.approval_recorded' : 'change.rejection_recorded',
      statements: [insertApprovalStatement(ctx.db, approval)],
      audit: [
        {
          action: 'approval.created',
          targetType: 'Approval',
          targetId: approval.id,
          before: null,
          after: approval,
        },
      ],
      result: { approval, evaluation },
    };
  });
  ctx.loaders.approvalsByChange.clear(id);
  return { change, ...result };
}

export async function scheduleChange(
  ctx: AuthedContext,
  id: string,
  plannedStart: string,
  plannedEnd: string,
  expectedVersion?: number | null,
) {
  const { change, result } = await mutateChange<ScheduleCheck>(
    ctx,
    id,
    expectedVersion,
    async (current, now) => {
      assertTransition(current.status, 'SCHEDULED');
      const [freezeWindows, scheduled] = await Promise.all([
        listFreezeWindows(ctx.db, current.tenantId, plannedStart, plannedEnd),
        overlappingScheduled(
          ctx.db,
          current.tenantId,
          current.affectedServices,
          plannedStart,
          plannedEnd,
          id,
        ),
      ]);
      const check = checkSchedule({
        type: current.type,
        start: plannedStart,
        end: plannedEnd,
        now,
        freezeWindows,
        services: current.affectedServices,
        changeId: id,
        scheduled: scheduled.map((c) => ({
          id: c.id,
          affectedServices: c.affectedServices,
          plannedStart: c.plannedStart ?? '',
          plannedEnd: c.plannedEnd ?? '',
        })),
      });
      const next: ChangeRecord = {
        ...current,
        status: 'SCHEDULED',
        plannedStart: new Date(plannedStart).toISOString(),
        plannedEnd: new Date(plannedEnd).toISOString(),
      };
      const overridden = check.freezeWindowsOverridden.length > 0;
      return {
        next,
        action: overridden ? 'change.scheduled.freeze_overridden' : 'change.scheduled',
        result: check,
      };
    },
  );
  return { change, ...result };
}

type Step = 'IMPLEMENTING' | 'COMPLETED' | 'FAILED' | 'ROLLED_BACK' | 'CANCELLED';

const STEP_ACTIONS: Record<Step, string> = {
  IMPLEMENTING: 'change.implementation_started',
  COMPLETED: 'change.completed',
  FAILED: 'change.failed',
  ROLLED_BACK: 'change.rolled_back',
  CANCELLED: 'change.cancelled',
};

/** The plain forward moves: start, complete, fail (with a reason), roll back, cancel. */
export async function moveChange(
  ctx: AuthedContext,
  id: string,
  target: Step,
  reason: string | null,
  expectedVersion?: number | null,
) {
  const { change } = await mutateChange(ctx, id, expectedVersion, (current, now) => {
    if (target === 'CANCELLED') assertOwnerOrManager(ctx, current, 'cancel');
    assertTransition(current.status, target);
    const next: ChangeRecord = { ...current, status: target };
    if (target === 'IMPLEMENTING') next.implementedAt = now;
    if (target === 'COMPLETED') next.completedAt = now;
    if (target === 'FAILED' || target === 'CANCELLED') {
      next.failureReason = reason ?? current.failureReason;
    }
    // Rollback notes must not overwrite what went wrong: they go to the audit trail instead.
    const audit =
      target === 'ROLLED_BACK' && reason
        ? [
            {
              action: 'rollback.notes',
              targetType: 'ChangeRequest',
              targetId: id,
              before: null,
              after: { notes: reason },
            },
          ]
        : [];
    return { next, action: STEP_ACTIONS[target], audit };
  });
  return change;
}

/** An admin approves an EMERGENCY change at once; a post-implementation review falls due in 48 h. */
export async function emergencyOverride(
  ctx: AuthedContext,
  id: string,
  justification: string,
  expectedVersion?: number | null,
) {
  const { change } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    if (current.type !== 'EMERGENCY') {
      throw new AppError(
        'EMERGENCY_NOT_ALLOWED',
        `Change ${id} is ${current.type}; only an EMERGENCY change can be approved by override`,
        { changeType: current.type },
      );
    }
    if (current.requesterId === ctx.principal.id) {
      throw new AppError(
        'APPROVAL_SELF_APPROVAL',
        'The requester of a change may not approve it, even by emergency override (segregation of duties)',
      );
    }
    const from = current.status === 'DRAFT' ? 'SUBMITTED' : current.status;
    if (current.status === 'DRAFT') assertTransition('DRAFT', 'SUBMITTED');
    assertTransition(from, 'APPROVED');
    const risk = current.riskLevel ? null : await computeRisk(ctx, current, now);
    const due = new Date(Date.parse(now) + EMERGENCY_REVIEW_HOURS * 3600_000).toISOString();
    const base = risk ? withRisk(current, risk) : current;
    const next: ChangeRecord = {
      ...base,
      status: 'APPROVED',
      submittedAt: current.submittedAt ?? now,
      approvedAt: now,
      emergencyJustification: justification,
      reviewDueAt: due,
    };
    return { next, action: 'change.emergency_override' };
  });
  return change;
}

export async function completeEmergencyReview(
  ctx: AuthedContext,
  id: string,
  notes: string,
  expectedVersion?: number | null,
) {
  const { change } = await mutateChange(ctx, id, expectedVersion, (current, now) => {
    if (!current.emergencyJustification) {
      throw new AppError('EMERGENCY_NOT_ALLOWED', `Change ${id} was not approved by emergency override`);
    }
    if (current.reviewedAt) {
      throw new AppError(
        'EMERGENCY_NOT_ALLOWED',
        `Change ${id} was already reviewed at ${current.reviewedAt}`,
      );
    }
    return {
      next: { ...current, reviewedAt: now },
      action: 'change.emergency_reviewed',
      audit: [
        { action: 'review.notes', targetType: 'ChangeRequest', targetId: id, before: null, after: { notes } },
      ],
    };
  });
  return change;
}
