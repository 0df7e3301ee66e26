import { type Principal, systemPrincipal } from '../../auth/principal';
import { insertExecutionStatement } from '../../db/executions';
import { getWorkflow } from '../../db/workflows';
import { assertTransition } from '../../domain/stateMachine';
import type { ChangeRecord, ExecutionRecord } from '../../domain/types';
import { AppError } from '../../errors';
import { createLogger } from '../../log';
import { moveChange } from '../changes/lifecycle';
import { mutateChange } from '../changes/writes';
import type { AuthedContext } from '../context';
import {
  engineMissing,
  executeWorkflow,
  executionAudit,
  handOver,
  isWorkflowGone,
  plannedExecution,
  wakeGatesOf,
} from './executions';
import { workflowNotFound } from './workflows';

/**
 * A change may name a workflow as its runbook. Approving such a change starts the workflow when
 * it has a `change-approved` trigger; implementing the change runs it, and its outcome ends the
 * change: SUCCEEDED → COMPLETED, anything else → FAILED with the execution's error.
 */

/** Who acts when the engine moves a change: recorded as such in the audit trail. */
export const enginePrincipal = (tenantId: string): Principal =>
  systemPrincipal(tenantId, 'workflow-engine', 'ChangeFlow workflow engine');

/** Ends a runbook-driven change the way its execution ended (idempotent: a moved change is left). */
export type EndedExecution = Pick<ExecutionRecord, 'id' | 'status' | 'changeId' | 'error'>;

export async function settleRunbookChange(ctx: AuthedContext, execution: EndedExecution): Promise<string> {
  const changeId = execution.changeId;
  if (!changeId) return 'no change';
  const failed = execution.status !== 'SUCCEEDED';
  const reason = failed
    ? `Runbook execution ${execution.id} ended ${execution.status}` +
      (execution.error
        ? `: ${execution.error.code} ${execution.error.message}${execution.error.stepId ? ` (step ${execution.error.stepId})` : ''}`
        : '')
    : null;
  try {
    await moveChange(ctx, changeId, failed ? 'FAILED' : 'COMPLETED', reason);
    return failed ? 'FAILED' : 'COMPLETED';
  } catch (e) {
    // Someone ended the change by hand meanwhile: their decision stands.
    if (e instanceof AppError && (e.code === 'CHANGE_INVALID_TRANSITION' || e.code === 'CHANGE_NOT_FOUND')) {
      return `left as is (${e.code})`;
    }
    throw e;
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

/**
 * A runbook runs only when a change manager attached it (recorded on the change) or the
 * standard-change template the change came from carried it (a template change cannot be edited).
 * A runbook anyone else named never starts.
 */
export const runbookVouchedFor = (change: ChangeRecord): boolean =>
  !!change.runbookWorkflowId && (change.templateId !== null || change.runbookAttachedBy !== null);

/** What a runbook runs with: the template's inputs, and the change itself under `change`. */
const runbookInputs = (change: ChangeRecord) => ({
  ...(change.runbookInputs ?? {}),
  change: { id: change.id, title: change.title, type: change.type, riskLevel: change.riskLevel },
});

function runbookNotVouched(change: ChangeRecord): AppError {
  return new AppError(
    'FORBIDDEN',
    `The runbook ${change.runbookWorkflowId} of change ${change.id} was attached neither by a change ` +
      'manager nor by a standard change template, so it does not run. Cancel the change and raise it ' +
      'again with the runbook attached by a change manager',
    { changeId: change.id, runbookWorkflowId: change.runbookWorkflowId },
  );
}

const logger = createLogger({ service: 'changeflow', component: 'runbooks' });

/** After a change was approved: start its runbook if the workflow asks to run on approval. */
export async function onChangeApproved(ctx: AuthedContext, change: ChangeRecord): Promise<void> {
  if (!change.runbookWorkflowId || !ctx.executions) return;
  if (!runbookVouchedFor(change)) {
    logger.log('warn', 'runbook not started: attached by neither a change manager nor a template', {
      changeId: change.id,
      workflowId: change.runbookWorkflowId,
    });
    return;
  }
  const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, change.runbookWorkflowId);
  if (workflow?.status !== 'ACTIVE') return;
  if (!workflow.triggers.some((t) => t.type === 'change-approved')) return;
  await executeWorkflow(ctx, workflow.id, {
    trigger: 'CHANGE_APPROVED',
    triggerRef: change.id,
    changeId: change.id,
    inputs: runbookInputs(change),
  });
}

/**
 * SCHEDULED → IMPLEMENTING. A change with a runbook starts its execution in the same batch, so
 * a change is never IMPLEMENTING by its runbook without one; the engine gets it after the commit.
 */
export async function startImplementation(
  ctx: AuthedContext,
  id: string,
  expectedVersion?: number | null,
): Promise<ChangeRecord> {
  const { change, result: execution } = await mutateChange<ExecutionRecord | null>(
    ctx,
    id,
    expectedVersion,
    async (current, now) => {
      assertTransition(current.status, 'IMPLEMENTING');
      const next: ChangeRecord = { ...current, status: 'IMPLEMENTING', implementedAt: now };
      if (!current.runbookWorkflowId) return { next, action: 'change.implementation_started', result: null };
      if (!runbookVouchedFor(current)) throw runbookNotVouched(current);
      if (!ctx.executions) throw engineMissing();
      const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, current.runbookWorkflowId);
      if (!workflow) throw workflowNotFound(current.runbookWorkflowId);
      const e = plannedExecution(ctx, workflow, {
        trigger: 'RUNBOOK',
        triggerRef: current.id,
        changeId: current.id,
        inputs: runbookInputs(current),
      });
      return {
        next,
        action: 'change.implementation_started',
        statements: [insertExecutionStatement(ctx.db, e)],
        audit: [executionAudit(e)],
        result: e,
      };
    },
  ).catch((e) => {
    // The runbook was deleted between the read and the insert (trigger of migration 0006).
    if (isWorkflowGone(e))
      throw new AppError('VALIDATION_FAILED', `runbookWorkflowId: the runbook of ${id} no longer exists`);
    throw e;
  });
  if (execution) await handOver(ctx, [execution]);
  return change;
}

/** After a vote or a pre-approval: gates waiting on the change look again, and its runbook may start. */
export async function afterChangeDecided(ctx: AuthedContext, change: ChangeRecord): Promise<void> {
  if (change.status !== 'APPROVED' && change.status !== 'REJECTED') return;
  await wakeGatesOf(ctx, change.id);
  if (change.status === 'APPROVED') await onChangeApproved(ctx, change);
}
