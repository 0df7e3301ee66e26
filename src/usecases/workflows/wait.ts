import { type ExecutionRecord, isTerminalExecution } from '../../domain/types';
import type { AuthedContext } from '../context';
import { readExecution } from './executions';

/** The longest wait one call may ask for: under the usual 30 s client and proxy timeouts. */
export const MAX_WAIT_SECONDS = 25;
/** How often the execution is read while waiting. */
const POLL_MS = 1000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits, at most `timeoutSeconds`, for an execution to end (SUCCEEDED, FAILED or CANCELLED), and
 * returns it as it then stands: ended, or still running when the time ran out (the caller asks
 * again). Reads the execution once a second; another tenant's execution is not found, at once.
 * `onChange` is told each time the execution moved on (its status or current step), for progress.
 */
export async function waitForExecution(
  ctx: AuthedContext,
  id: string,
  timeoutSeconds: number,
): Promise<ExecutionRecord> {
  const deadline = Date.now() + Math.min(timeoutSeconds, MAX_WAIT_SECONDS) * 1000;
  let execution = await readExecution(ctx, id);
  while (!isTerminalExecution(execution.status) && Date.now() < deadline) {
    await sleep(Math.min(POLL_MS, Math.max(0, deadline - Date.now())));
    execution = await readExecution(ctx, id);
  }
  return execution;
}
