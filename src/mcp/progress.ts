import type { ServerContext } from '@modelcontextprotocol/server';
import { type ExecutionStatus, isTerminalExecution, type StepRunStatus } from '../domain/types';
import type { ToolDefinition } from './catalog';
import type { ExecuteOperation, OperationResult } from './server';

interface Waited {
  status: ExecutionStatus;
  steps: { stepId: string; status: StepRunStatus }[];
}

/** A step run still going: anything else has ended. */
const STEP_GOING: ReadonlySet<StepRunStatus> = new Set(['RUNNING', 'WAITING']);

/** The step count of the workflow version an execution runs, when that version is the current one. */
async function stepTotal(
  id: unknown,
  execute: ExecuteOperation,
  toolName: string,
): Promise<number | undefined> {
  const result = await execute(
    'query ProgressTotal($id: ID!) { execution(id: $id) { workflowVersion workflow { version steps } } }',
    { id },
    toolName,
  );
  const execution = result.data?.execution as
    | { workflowVersion: number; workflow: { version: number; steps: unknown[] } | null }
    | null
    | undefined;
  const workflow = execution?.workflow;
  return workflow && workflow.version === execution.workflowVersion ? workflow.steps.length : undefined;
}

/**
 * A tool with `reportsProgress` (wait_for_execution) called with a `progressToken`: instead of one
 * long wait, it waits a second at a time and sends `notifications/progress` whenever another step
 * has ended (progress = steps ended, total = steps), until the execution ends or the caller's
 * timeout runs out. The answer is the same as without a token.
 */
export async function waitWithProgress(
  tool: ToolDefinition,
  variables: Record<string, unknown>,
  execute: ExecuteOperation,
  ctx: ServerContext,
): Promise<OperationResult> {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  const timeoutSeconds = typeof variables.timeoutSeconds === 'number' ? variables.timeoutSeconds : 20;
  const deadline = Date.now() + timeoutSeconds * 1000;
  let reported = -1;
  // The steps recorded so far are not all of them (a step's run is written when it starts): the
  // total is the step count of the workflow version the execution runs, when that is the current one.
  const total = progressToken === undefined ? undefined : await stepTotal(variables.id, execute, tool.name);
  for (;;) {
    const result = await execute(tool.document, { ...variables, timeoutSeconds: 1 }, tool.name);
    const execution = result.data?.[tool.fieldName] as Waited | null | undefined;
    if (result.errors?.length || !execution || progressToken === undefined) return result;
    const ended = execution.steps.filter((s) => !STEP_GOING.has(s.status));
    // Every step ended but the execution not yet (its end is a write of its own): the next poll,
    // a second on, reports both, so the last report says how it ended and progress only rises.
    const endPending =
      total !== undefined &&
      ended.length >= total &&
      !isTerminalExecution(execution.status) &&
      Date.now() < deadline;
    if (ended.length !== reported && !endPending) {
      reported = ended.length;
      const last = ended.at(-1);
      await ctx.mcpReq.notify({
        method: 'notifications/progress',
        params: {
          progressToken,
          progress: ended.length,
          ...(total === undefined ? {} : { total: Math.max(total, execution.steps.length) }),
          message: last
            ? `step ${last.stepId} ${last.status}; execution ${execution.status}`
            : `execution ${execution.status}`,
        },
      });
    }
    if (isTerminalExecution(execution.status) || Date.now() >= deadline) return result;
  }
}
