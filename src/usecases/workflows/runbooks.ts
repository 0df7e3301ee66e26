import { changeHasDeployment } from '../../db/deployments';
import { getExecution, insertExecutionStatement } from '../../db/executions';
import { getWorkflow } from '../../db/workflows';
import { type Principal, systemPrincipal } from '../../domain/principal';
import { assertTransition } from '../../domain/stateMachine';
import { type ChangeRecord, type ExecutionRecord, isTerminalExecution } from '../../domain/types';
import { AppError } from '../../errors';
import { moveChange } from '../changes/lifecycle';
import { mutateChange } from '../changes/writes';
import type { AuthedContext } from '../context';
import { workflowNotFound } from './errors';
import { engineMissing, executionAudit, handOver, isWorkflowGone, plannedExecution } from './executions';
import { runbookInputs, runbookVouchedFor } from './runbookRules';

/**
 * A change may name a workflow as its runbook. Approving such a change starts the workflow when
 * it has a `change-approved` trigger (changes/afterDecision.ts); implementing the change runs it,
 * and its outcome ends the change: SUCCEEDED → COMPLETED, anything else → FAILED with the
 * execution's error.
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

/**
 * The settle-runbook follow-up (queued by the engine in the batch that ends the execution, or by
 * the watchdog): reads the execution as recorded and settles its change. Keyed by the change
 * itself: once moved it is left, so a second run changes nothing.
 */
export async function settleEndedRunbook(ctx: AuthedContext, executionId: string): Promise<string> {
  const execution = await getExecution(ctx.db, ctx.principal.tenantId, executionId);
  if (!execution) return 'execution not found';
  if (!isTerminalExecution(execution.status)) return `execution still ${execution.status}`;
  return settleRunbookChange(ctx, execution);
}

function runbookNotVouched(change: ChangeRecord): AppError {
  return new AppError(
    'FORBIDDEN',
    `The runbook ${change.runbookWorkflowId} of change ${change.id} was attached neither by a change ` +
      'manager nor by a standard change template, so it does not run. Cancel the change and raise it ' +
      'again with the runbook attached by a change manager',
    { changeId: change.id, runbookWorkflowId: change.runbookWorkflowId },
  );
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
      // A change a deployment implements (src/usecases/deployments) does not also run its runbook.
      if (await changeHasDeployment(ctx.db, current.tenantId, current.id)) {
        return { next, action: 'change.implementation_started', result: null };
      }
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
