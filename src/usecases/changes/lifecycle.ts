import { insertChangeStatements } from '../../db/changes';
import { newChangeId } from '../../db/ids';
import { getTemplate } from '../../db/standardChangeTemplates';
import { getWorkflow } from '../../db/workflows';
import { isPreApproved } from '../../domain/approvalPolicy';
import { personOf } from '../../domain/principal';
import { priorityFor } from '../../domain/priority';
import { assertTransition } from '../../domain/stateMachine';
import type { ChangeRecord, ChangeType, Level } from '../../domain/types';
import { AppError } from '../../errors';
import { type AuditEntry, commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';
import { changeEvent } from '../ports/events';
import { computeRisk, withRisk } from './risk';
import { assertOwnerOrManager, mutateChange } from './writes';

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

/** What only createChangeFromTemplate sets: the template a STANDARD change comes from, and its window. */
export interface TemplateOrigin {
  templateId: string;
  templateVersion: number;
  runbookInputs: Record<string, unknown> | null;
  plannedStart: string;
  plannedEnd: string;
  /**
   * What else commits in the change's own batch (a deployment linking the change it raised), so
   * that the change never exists without it.
   */
  alsoCommit?: (change: ChangeRecord) => { statements: D1PreparedStatement[]; audit: AuditEntry[] };
}

const unique = (xs: string[]) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))];

/** Change managers (and admins) vouch for runbooks; nobody else may attach one. */
export const isChangeManager = (ctx: AuthedContext) =>
  ctx.principal.roles.some((r) => r === 'change_manager' || r === 'admin');

export function standardRequiresTemplate(): AppError {
  return new AppError(
    'CHANGE_STANDARD_REQUIRES_TEMPLATE',
    'Only a change created from an ACTIVE standard change template is STANDARD: list them with the ' +
      'standardChangeTemplates query (MCP list_standard_change_templates) and create the change with ' +
      'createChangeFromTemplate (MCP create_standard_change); otherwise use type NORMAL',
    { issues: [{ field: 'type', message: 'STANDARD needs a standard change template' }] },
  );
}

/** A requester naming a runbook directly: only a change manager or a template may attach one. */
export function assertMayAttachRunbook(ctx: AuthedContext): void {
  if (!isChangeManager(ctx)) {
    throw new AppError(
      'FORBIDDEN',
      'Only a change manager may attach a runbook (runbookWorkflowId) to a change; a standard change ' +
        'template may carry one (createChangeFromTemplate)',
      { issues: [{ field: 'runbookWorkflowId', message: 'needs the change_manager role' }] },
    );
  }
}

/** The runbook a change names must be a workflow of the tenant. */
export async function assertRunbookExists(ctx: AuthedContext, workflowId: string | null | undefined) {
  if (!workflowId) return;
  if (!(await getWorkflow(ctx.db, ctx.principal.tenantId, workflowId))) {
    throw new AppError('VALIDATION_FAILED', `runbookWorkflowId: workflow ${workflowId} does not exist`, {
      issues: [{ field: 'runbookWorkflowId', message: `workflow ${workflowId} does not exist` }],
    });
  }
}

export async function createChange(
  ctx: AuthedContext,
  draft: ChangeDraft,
  origin: TemplateOrigin | null = null,
): Promise<ChangeRecord> {
  if (draft.type === 'STANDARD' && !origin) throw standardRequiresTemplate();
  // A template carries its runbook; otherwise the caller attaches it and must be a change manager.
  const runbookWorkflowId = draft.runbookWorkflowId ?? null;
  if (runbookWorkflowId && !origin) assertMayAttachRunbook(ctx);
  if (!origin) await assertRunbookExists(ctx, runbookWorkflowId);
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
    plannedStart: origin?.plannedStart ?? null,
    plannedEnd: origin?.plannedEnd ?? null,
    emergencyJustification: null,
    reviewDueAt: null,
    reviewedAt: null,
    runbookWorkflowId,
    runbookInputs: origin?.runbookInputs ?? null,
    runbookAttachedBy: runbookWorkflowId && !origin ? ctx.principal.id : null,
    templateId: origin?.templateId ?? null,
    templateVersion: origin?.templateVersion ?? null,
    failureReason: null,
    version: 1,
    createdAt: now,
    updatedAt: now,
    submittedAt: null,
    approvedAt: null,
    implementedAt: null,
    completedAt: null,
  };
  const also = origin?.alsoCommit?.(change) ?? { statements: [], audit: [] };
  const created = await commitWithAudit(ctx, async () => ({
    statements: [...insertChangeStatements(ctx.db, change), ...also.statements],
    audit: [
      {
        action: 'change.created',
        targetType: 'ChangeRequest',
        targetId: change.id,
        before: null,
        after: change,
      },
      ...also.audit,
    ],
    result: change,
  }));
  ctx.events?.publish(
    changeEvent('change.created', created, null, { id: ctx.principal.id, source: ctx.source }),
  );
  return created;
}

/**
 * Edits a DRAFT. Never to STANDARD (only a template makes one), and never a change that came from
 * a template: what the template fixed stays fixed. A runbook is attached only by a change manager,
 * who is recorded as having attached it.
 */
export async function updateChange(
  ctx: AuthedContext,
  id: string,
  patch: Partial<ChangeDraft>,
  expectedVersion?: number | null,
) {
  if (patch.type === 'STANDARD') throw standardRequiresTemplate();
  if (patch.runbookWorkflowId) assertMayAttachRunbook(ctx);
  await assertRunbookExists(ctx, patch.runbookWorkflowId);
  const { change } = await mutateChange(ctx, id, expectedVersion, (current) => {
    assertOwnerOrManager(ctx, current, 'edit');
    if (current.templateId) {
      throw new AppError(
        'CHANGE_NOT_EDITABLE',
        `Change ${id} comes from standard change template ${current.templateId}: only its title variables ` +
          'and window vary, when it is created. Cancel it and create another from the template',
        { currentStatus: current.status, templateId: current.templateId },
      );
    }
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
    if (patch.runbookWorkflowId) {
      next.runbookAttachedBy = ctx.principal.id;
      next.runbookInputs = null;
    }
    next.affectedServices = unique(next.affectedServices);
    next.priority = priorityFor(next.impact, next.urgency);
    return { next, action: 'change.updated' };
  });
  return change;
}

/**
 * DRAFT → SUBMITTED, then routed at once: a STANDARD change (from a template) with LOW risk whose
 * template is still ACTIVE is pre-approved (and what follows an approval follows); every other
 * change waits for the CAB in PENDING_APPROVAL.
 */
export async function submitChange(ctx: AuthedContext, id: string, expectedVersion?: number | null) {
  const { change } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    assertOwnerOrManager(ctx, current, 'submit');
    assertTransition(current.status, 'SUBMITTED');
    const risk = await computeRisk(ctx, current, now);
    const submitted = withRisk({ ...current, status: 'SUBMITTED', submittedAt: now }, risk);
    const template = current.templateId
      ? await getTemplate(ctx.db, current.tenantId, current.templateId)
      : null;
    const preApproved = template?.status === 'ACTIVE' && isPreApproved(current.type, risk.level);
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
