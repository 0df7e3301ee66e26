import { inject } from 'vitest';
import { token } from '../helpers/auth';
import { cast, gql, gqlOk } from '../helpers/changes';
import type { GqlResult } from '../helpers/graphql';

/** The loopback upstream stand-in (test/upstream/server.ts), started by the global setup. */
export const upstream = (path: string) => `${inject('upstreamUrl')}${path}`;

export const EXECUTION_FIELDS = `id workflowId workflowVersion status trigger triggerRef changeId inputs outputs currentStep
  error { code class message stepId httpStatus } cancelRequestedAt createdBy startedAt endedAt
  steps { index stepId type status attempts startedAt endedAt output outputTruncated waitingOnChange
    error { code class message httpStatus } attemptLog { at durationMs httpStatus errorCode retryInMs } }`;

export interface StepRun {
  index: number;
  stepId: string;
  type: string;
  status: string;
  attempts: number;
  startedAt: string;
  endedAt: string | null;
  output: unknown;
  outputTruncated: boolean;
  waitingOnChange: string | null;
  error: { code: string; class: string; message: string; httpStatus: number | null } | null;
  attemptLog: {
    at: string;
    durationMs: number;
    httpStatus: number | null;
    errorCode: string | null;
    retryInMs: number | null;
  }[];
}

export interface Execution {
  id: string;
  workflowId: string;
  workflowVersion: number;
  status: 'PENDING' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';
  trigger: string;
  triggerRef: string | null;
  changeId: string | null;
  inputs: unknown;
  outputs: Record<string, unknown> | null;
  currentStep: number | null;
  error: {
    code: string;
    class: string;
    message: string;
    stepId: string | null;
    httpStatus: number | null;
  } | null;
  cancelRequestedAt: string | null;
  createdBy: string;
  startedAt: string | null;
  endedAt: string | null;
  steps: StepRun[];
}

let tenantCounter = 0;
/** A fresh tenant per test: its own breakers, audit chain and data. */
export async function freshCast() {
  tenantCounter += 1;
  return cast(`exec-${Date.now().toString(36)}-${tenantCounter}`);
}

export const CREATE_WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id version status } }`;
export const EXECUTE = `mutation($workflowId: ID!, $inputs: JSON) {
  executeWorkflow(workflowId: $workflowId, inputs: $inputs) { ${EXECUTION_FIELDS} } }`;
export const GET_EXECUTION = `query($id: ID!) { execution(id: $id) { ${EXECUTION_FIELDS} } }`;
export const CANCEL = `mutation($id: ID!) { cancelExecution(id: $id) { ${EXECUTION_FIELDS} } }`;

export async function createWorkflow(
  tok: string,
  steps: unknown[],
  opts: { name?: string; triggers?: unknown[] } = {},
): Promise<string> {
  const r = await gqlOk<{ createWorkflow: { id: string } }>(
    CREATE_WORKFLOW,
    {
      input: {
        name: opts.name ?? `wf ${Math.random().toString(36).slice(2, 8)}`,
        steps,
        ...(opts.triggers ? { triggers: opts.triggers } : {}),
      },
    },
    tok,
  );
  return r.createWorkflow.id;
}

export async function execute(tok: string, workflowId: string, inputs: unknown = {}): Promise<Execution> {
  return (await gqlOk<{ executeWorkflow: Execution }>(EXECUTE, { workflowId, inputs }, tok)).executeWorkflow;
}

export async function getExecution(tok: string, id: string): Promise<Execution> {
  return (await gqlOk<{ execution: Execution }>(GET_EXECUTION, { id }, tok)).execution;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the execution, as a client would, until `done` holds (default: it ended). */
export async function waitFor(
  tok: string,
  id: string,
  done: (e: Execution) => boolean = (e) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(e.status),
  timeoutMs = 20_000,
): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  let last: Execution | null = null;
  while (Date.now() < deadline) {
    last = await getExecution(tok, id);
    if (done(last)) return last;
    await sleep(50);
  }
  throw new Error(`execution ${id} did not reach the expected state: ${JSON.stringify(last)}`);
}

export const codes = (r: GqlResult<unknown>) => r.errors?.map((e) => e.extensions?.code);

export { gql, gqlOk, token };
