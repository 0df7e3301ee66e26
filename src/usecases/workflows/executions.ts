import { isGuard, isUniqueViolation } from '../../db/errors';
import {
  countLiveExecutions,
  executionOfOutbox,
  executionsWaitingOnChange,
  getExecution,
  insertExecutionStatement,
  requestCancelStatement,
} from '../../db/executions';
import { newId } from '../../db/ids';
import { getWorkflow } from '../../db/workflows';
import { personOf } from '../../domain/principal';
import type { ExecutionRecord, ExecutionTrigger, WorkflowRecord } from '../../domain/types';
import { isTerminalExecution } from '../../domain/types';
import { executionEvent } from '../../engine/engine';
import { AppError } from '../../errors';
import { createLogger } from '../../log';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';
import { workflowNotFound } from './errors';

/** Starting, reading and cancelling workflow executions. */

/** Inputs are stored with the execution and read by every step: keep them small. */
export const MAX_INPUT_BYTES = 64 * 1024;

export const isWorkflowGone = (e: unknown) => isGuard(e, 'WORKFLOW_NOT_FOUND');

export function executionNotFound(id: string): AppError {
  return new AppError('EXECUTION-010', `Execution ${id} does not exist`, { executionId: id });
}

export function engineMissing(): AppError {
  return new AppError(
    'EXECUTION-012',
    'This server has no workflow engine: a Worker needs its Workflows binding (EXECUTOR in wrangler.toml); the Node runtime runs executions itself',
  );
}

function checkInputs(inputs: unknown): unknown {
  const value = inputs ?? {};
  const size = new TextEncoder().encode(JSON.stringify(value)).byteLength;
  if (size > MAX_INPUT_BYTES) {
    throw new AppError(
      'VALIDATION_FAILED',
      `inputs are ${size} bytes; at most ${MAX_INPUT_BYTES} are allowed`,
      {
        issues: [{ field: 'inputs', message: `at most ${MAX_INPUT_BYTES} bytes of JSON` }],
      },
    );
  }
  return value;
}

export interface ExecutionStart {
  trigger: ExecutionTrigger;
  triggerRef?: string | null;
  changeId?: string | null;
  inputs?: unknown;
}

/**
 * The person whose act starts an execution: whoever runs it by hand, approves or implements its
 * change (through an API key: the key's owner; the audit event names the key). ChangeFlow acting
 * on its own (cron, a signed webhook, the engine) is nobody.
 */
export const causedByOf = (ctx: AuthedContext): string | null =>
  ctx.principal.kind === 'system' ? null : personOf(ctx.principal);

/** The execution a start will record, pinned to the workflow's current version. */
export function plannedExecution(
  ctx: AuthedContext,
  workflow: WorkflowRecord,
  start: ExecutionStart,
): ExecutionRecord {
  if (workflow.status !== 'ACTIVE') {
    throw new AppError('WORKFLOW-006', `Workflow ${workflow.id} is INACTIVE; activate it before running it`, {
      workflowId: workflow.id,
    });
  }
  const now = ctx.now().toISOString();
  return {
    id: newId('exe'),
    tenantId: workflow.tenantId,
    workflowId: workflow.id,
    workflowVersion: workflow.version,
    status: 'PENDING',
    trigger: start.trigger,
    triggerRef: start.triggerRef ?? null,
    changeId: start.changeId ?? null,
    inputs: checkInputs(start.inputs),
    outputs: null,
    error: null,
    currentStep: null,
    wakeAt: null,
    cancelRequestedAt: null,
    cancelRequestedBy: null,
    createdBy: ctx.principal.id,
    causedBy: causedByOf(ctx),
    createdAt: now,
    startedAt: null,
    endedAt: null,
    updatedAt: now,
  };
}

/** The audit event of a recorded execution; the engine adds started, step_ended and ended/cancelled. */
export const executionAudit = (e: ExecutionRecord) => ({
  action: 'execution.created',
  targetType: 'WorkflowExecution',
  targetId: e.id,
  before: null,
  after: {
    workflowId: e.workflowId,
    workflowVersion: e.workflowVersion,
    trigger: e.trigger,
    triggerRef: e.triggerRef,
    changeId: e.changeId,
    causedBy: e.causedBy,
  },
});

const logger = createLogger({ service: 'changeflow', component: 'executions' });

/** Hands recorded executions to the runner; a failure is logged, and the watchdog retries. */
export async function handOver(ctx: AuthedContext, executions: readonly ExecutionRecord[]): Promise<void> {
  for (const e of executions) {
    ctx.events?.publishExecution?.(executionEvent(e));
    try {
      await ctx.executions?.start({ tenantId: e.tenantId, executionId: e.id });
    } catch (error) {
      logger.log('warn', 'execution hand-over failed', { executionId: e.id, error: String(error) });
    }
  }
}

/**
 * Hands one recorded execution to the runner if it is still PENDING, and says what it did; a
 * failure is thrown (for a follow-up, which is then retried: outbox.ts).
 */
export async function handOverNow(ctx: AuthedContext, e: ExecutionRecord): Promise<string> {
  if (e.status !== 'PENDING') return `execution ${e.id} already ${e.status}`;
  if (!ctx.executions) throw engineMissing();
  ctx.events?.publishExecution?.(executionEvent(e));
  await ctx.executions.start({ tenantId: e.tenantId, executionId: e.id });
  return `handed over execution ${e.id}`;
}

/**
 * Records an execution (audited), not yet handed over. `outboxId`: the follow-up that starts it;
 * if another run of that follow-up recorded it first, that execution is the answer.
 */
export async function recordExecution(
  ctx: AuthedContext,
  workflowId: string,
  start: ExecutionStart,
  outboxId: string | null = null,
  extraStatements: (e: ExecutionRecord) => D1PreparedStatement[] = () => [],
): Promise<ExecutionRecord> {
  if (!ctx.executions) throw engineMissing();
  return commitWithAudit(ctx, async () => {
    const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, workflowId);
    if (!workflow) throw workflowNotFound(workflowId);
    const e = plannedExecution(ctx, workflow, start);
    return {
      statements: [insertExecutionStatement(ctx.db, e, outboxId), ...extraStatements(e)],
      audit: [executionAudit(e)],
      result: e,
    };
  }).catch(async (e) => {
    // Deleted between the read and the insert: the trigger (migration 0006) refused the row.
    if (isWorkflowGone(e)) throw workflowNotFound(workflowId);
    if (outboxId && isUniqueViolation(e, 'workflow_executions')) {
      const first = await executionOfOutbox(ctx.db, ctx.principal.tenantId, outboxId);
      if (first) return first;
    }
    throw e;
  });
}

/** Runs a workflow now: records the execution (audited) and hands it to the engine. */
export async function executeWorkflow(
  ctx: AuthedContext,
  workflowId: string,
  start: ExecutionStart,
  extraStatements: (e: ExecutionRecord) => D1PreparedStatement[] = () => [],
): Promise<ExecutionRecord> {
  const execution = await recordExecution(ctx, workflowId, start, null, extraStatements);
  await handOver(ctx, [execution]);
  return execution;
}

export async function readExecution(ctx: AuthedContext, id: string): Promise<ExecutionRecord> {
  const e = await getExecution(ctx.db, ctx.principal.tenantId, id);
  if (!e) throw executionNotFound(id);
  return e;
}

/**
 * Asks a live execution to stop: it ends CANCELLED at its next check (before each step and
 * attempt, and every few hundred ms while an HTTP call is in flight, which is then aborted).
 */
export async function cancelExecution(ctx: AuthedContext, id: string): Promise<ExecutionRecord> {
  const execution = await commitWithAudit(ctx, async () => {
    const e = await readExecution(ctx, id);
    if (isTerminalExecution(e.status)) {
      throw new AppError('EXECUTION-011', `Execution ${id} already ended ${e.status}; nothing to cancel`, {
        executionId: id,
        currentStatus: e.status,
      });
    }
    const at = ctx.now().toISOString();
    const next = e.cancelRequestedAt
      ? e
      : { ...e, cancelRequestedAt: at, cancelRequestedBy: ctx.principal.id, updatedAt: at };
    return {
      statements: e.cancelRequestedAt
        ? []
        : [requestCancelStatement(ctx.db, ctx.principal.tenantId, id, ctx.principal.id, at)],
      audit: e.cancelRequestedAt
        ? []
        : [
            {
              action: 'execution.cancel_requested',
              targetType: 'WorkflowExecution',
              targetId: id,
              before: { status: e.status },
              after: { cancelRequestedAt: at },
            },
          ],
      result: next,
    };
  });
  await ctx.executions?.wake(id).catch(() => {});
  ctx.events?.publishExecution?.(executionEvent(execution));
  return execution;
}

/** A workflow with executions still running may not be deleted (they would lose their definition). */
export async function assertNoLiveExecutions(ctx: AuthedContext, workflowId: string): Promise<void> {
  const live = await countLiveExecutions(ctx.db, ctx.principal.tenantId, workflowId);
  if (live > 0) {
    throw new AppError(
      'WORKFLOW-007',
      `Workflow ${workflowId} has ${live} execution(s) PENDING or RUNNING; cancel them or wait before deleting it`,
      { workflowId, liveExecutions: live },
    );
  }
}

/**
 * A change was approved or rejected: approval gates waiting on it look again now. Says how many
 * it woke; throws if one could not be woken (the follow-up is retried; waking twice is harmless).
 */
export async function wakeGatesOf(ctx: AuthedContext, changeId: string): Promise<number> {
  const executions = ctx.executions;
  if (!executions) return 0;
  const ids = await executionsWaitingOnChange(ctx.db, ctx.principal.tenantId, changeId);
  const woken = await Promise.allSettled(ids.map((id) => executions.wake(id)));
  const failed = woken.flatMap((r, i) => (r.status === 'rejected' ? [`${ids[i]}: ${String(r.reason)}`] : []));
  if (failed.length) throw new Error(`could not wake ${failed.join('; ')}`);
  return ids.length;
}
