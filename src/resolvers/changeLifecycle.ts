import { personOf } from '../auth/principal';
import { insertChangeStatements } from '../db/changes';
import { newChangeId } from '../db/ids';
import { AppError } from '../errors';
import { isPreApproved } from './approvalPolicy';
import { computeRisk, withRisk } from './changeRisk';
import { assertOwnerOrManager, mutateChange } from './changeWrites';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';
import type { ChangeRecord, ChangeType, Level } from './domain';
import { changeEvent } from './events';
import { priorityFor } from './priority';
import { assertTransition } from './stateMachine';

/** The plain lifecycle: create, edit a draft, submit, and the forward moves. */

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
    // A change asked for through an API key is its owner's (segregation of duties is between people).
    requesterId: personOf(ctx.principal),
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
