import { type WorkflowStep as DurableStep, WorkflowEntrypoint, type WorkflowEvent } from 'cloudflare:workers';
import type { Ids } from '../../engine/engine';
import { type DurableRun, runExecution } from '../../engine/run';
import { type ExecutionEnv, enginePorts, settleRunbook, WAKE_EVENT } from './ports';

/** What an instance is created with: the execution it runs (the instance id is the execution id). */
export interface ExecutionParams {
  tenantId: string;
  executionId: string;
}

/**
 * Bookkeeping steps (begin, finish, checks) read and write D1 only: Workflows may retry them.
 * An HTTP attempt is never retried by Workflows: our own policy decides (backoff, Retry-After,
 * breaker), each attempt is its own durable step, and a replay never sends a request twice.
 */
const BOOKKEEPING = {
  retries: { limit: 4, delay: '1 second', backoff: 'exponential' },
  timeout: '2 minutes',
} as const;
const ONE_ATTEMPT = { retries: { limit: 0, delay: 0 }, timeout: '5 minutes' } as const;

/** The run's durable steps and pauses on Cloudflare Workflows (the platform stores every result). */
function workflowsRun(step: DurableStep): DurableRun {
  return {
    step: <T>(name: string, kind: 'bookkeeping' | 'attempt', work: () => Promise<T>) =>
      // Every result is plain JSON (engine.ts); Workflows' types want to see it as serializable.
      step.do(
        name,
        kind === 'attempt' ? ONE_ATTEMPT : BOOKKEEPING,
        work as () => Promise<never>,
      ) as Promise<T>,
    // A wake event ends the pause early; a timeout is its normal end.
    pause: async (name, ms) => {
      try {
        await step.waitForEvent(name, { type: WAKE_EVENT, timeout: Math.max(1, Math.ceil(ms)) });
      } catch {
        // Timed out: the pause is over.
      }
    },
  };
}

/**
 * Runs one workflow execution durably on Cloudflare Workflows (src/engine/run.ts): after a
 * restart `run` replays to where it was without repeating work.
 */
export class ExecutionWorkflow extends WorkflowEntrypoint<ExecutionEnv, ExecutionParams> {
  override async run(event: Readonly<WorkflowEvent<ExecutionParams>>, step: DurableStep): Promise<string> {
    const ids: Ids = { tenantId: event.payload.tenantId, executionId: event.payload.executionId };
    return runExecution(
      workflowsRun(step),
      () => enginePorts(this.env, ids.tenantId),
      ids,
      (id) => settleRunbook(this.env, id),
    );
  }
}
