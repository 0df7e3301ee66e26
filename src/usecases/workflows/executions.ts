import { isGuard } from '../../db/errors';
import {
  countLiveExecutions,
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
    'This runtime has no workflow engine: executions run on the Cloudflare Workers runtime (wrangler dev or deploy)',
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

export const executionAudit = (e: ExecutionRecord) => ({
  action: 'execution.started',
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

/** Runs a workflow now: records the execution (audited) and hands it to the engine. */
export async function executeWorkflow(
  ctx: AuthedContext,
  workflowId: string,
  start: ExecutionStart,
  extraStatements: (e: ExecutionRecord) => D1PreparedStatement[] = () => [],
): Promise<ExecutionRecord> {
  if (!ctx.executions) throw engineMissing();
  const execution = await commitWithAudit(ctx, async () => {
    const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, workflowId);
    if (!workflow) throw workflowNotFound(workflowId);
    const e = plannedExecution(ctx, workflow, start);
    return {
      statements: [insertExecutionStatement(ctx.db, e), ...extraStatements(e)],
      audit: [executionAudit(e)],
      result: e,
    };
  }).catch((e) => {
    // Deleted between the read and the insert: the trigger (migration 0006) refused the row.
    if (isWorkflowGone(e)) throw workflowNotFound(workflowId);
    throw e;
  });
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

/** A change was approved or rejected: approval gates waiting on it look again now. */
export async function wakeGatesOf(ctx: AuthedContext, changeId: string): Promise<void> {
  if (!ctx.executions) return;
  const ids = await executionsWaitingOnChange(ctx.db, ctx.principal.tenantId, changeId);
  await Promise.all(ids.map((id) => ctx.executions?.wake(id).catch(() => {})));
}
