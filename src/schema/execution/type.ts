import {
  EXECUTION_STATUSES,
  EXECUTION_TRIGGERS,
  type ExecutionErrorRecord,
  type ExecutionRecord,
  STEP_RUN_STATUSES,
  type StepRunRecord,
} from '../../domain/types';
import type { ExecutionEvent } from '../../engine/engine';
import { workflowOf } from '../../usecases/workflows/queries';
import { builder } from '../builder';
import { firstArg, firstOf } from '../listArgs';
import { WorkflowRef } from '../workflow';

export const ExecutionStatusEnum = builder.enumType('ExecutionStatus', {
  description: 'PENDING until the engine picks it up; SUCCEEDED, FAILED and CANCELLED are final.',
  values: EXECUTION_STATUSES,
});

const ExecutionTriggerEnum = builder.enumType('ExecutionTrigger', {
  description:
    'MANUAL (executeWorkflow), WEBHOOK (signed POST /hooks/workflows/:id), CRON (the workflow’s schedule), ' +
    'CHANGE_APPROVED (a change naming it as runbook was approved), RUNBOOK (implementing such a change).',
  values: EXECUTION_TRIGGERS,
});

export const StepRunStatusEnum = builder.enumType('StepRunStatus', {
  description: 'WAITING: a delay or an approval gate is waiting; the others as they say.',
  values: STEP_RUN_STATUSES,
});

export const ExecutionErrorRef = builder.objectRef<ExecutionErrorRecord>('ExecutionError').implement({
  description:
    'Why a step or an execution failed. code: EXECUTION-001 network, -002 timeout, -003 HTTP status, ' +
    '-004 validation, -005 cancelled, -006 circuit open, -007 approval rejected, -008 output too large, ' +
    '-009 engine lost the execution; EGRESS_DENIED: the egress policy refused the host, nothing was sent.',
  fields: (t) => ({
    code: t.exposeString('code'),
    class: t.exposeString('class', {
      description: 'NETWORK, TIMEOUT, HTTP_STATUS, VALIDATION, CANCELLED, CIRCUIT_OPEN, …',
    }),
    message: t.exposeString('message'),
    stepId: t.string({ nullable: true, resolve: (e) => e.stepId ?? null }),
    httpStatus: t.int({ nullable: true, resolve: (e) => e.status ?? null }),
  }),
});

const AttemptRef = builder
  .objectRef<{ at: string; ms: number; status?: number; error?: string; retryInMs?: number }>('StepAttempt')
  .implement({
    description: 'One try of a step (http-request steps may try several times).',
    fields: (t) => ({
      at: t.expose('at', { type: 'DateTime' }),
      durationMs: t.exposeInt('ms'),
      httpStatus: t.int({ nullable: true, resolve: (a) => a.status ?? null }),
      errorCode: t.string({ nullable: true, resolve: (a) => a.error ?? null }),
      retryInMs: t.int({
        nullable: true,
        description: 'The pause before the next try (backoff with jitter, or Retry-After).',
        resolve: (a) => a.retryInMs ?? null,
      }),
    }),
  });

/** How much of a step's output get_execution shows: enough to see its shape, 50 steps in a few KB. */
export const OUTPUT_PREVIEW_CHARS = 120;

function outputPreview(output: unknown): string | null {
  if (output == null) return null;
  const text = JSON.stringify(output);
  return text.length <= OUTPUT_PREVIEW_CHARS ? text : `${text.slice(0, OUTPUT_PREVIEW_CHARS - 1)}…`;
}

/** The resource template (Query.executionStep) an agent reads a whole step output from. */
export const stepOutputUri = (executionId: string, stepId: string) =>
  `changeflow://executions/${encodeURIComponent(executionId)}/steps/${encodeURIComponent(stepId)}/output`;

export const StepRunRef = builder.objectRef<StepRunRecord>('StepRun').implement({
  description: 'What one step of an execution did.',
  fields: (t) => ({
    index: t.exposeInt('index'),
    stepId: t.exposeString('stepId'),
    type: t.exposeString('type'),
    status: t.expose('status', { type: StepRunStatusEnum }),
    attempts: t.exposeInt('attempts'),
    attemptLog: t.field({
      type: [AttemptRef],
      args: { first: firstArg(t, 20) },
      resolve: (s, { first }) => firstOf(s.attemptLog, first),
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    output: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The step’s output as recorded (at most 16 KiB; see outputTruncated).',
      resolve: (s) => s.output as never,
    }),
    outputTruncated: t.exposeBoolean('outputTruncated'),
    outputPreview: t.string({
      nullable: true,
      description: `The start of the output's JSON (at most ${OUTPUT_PREVIEW_CHARS} characters; null when there is none).`,
      resolve: (s) => outputPreview(s.output),
    }),
    outputUri: t.string({
      nullable: true,
      description:
        'The MCP resource holding the whole output (changeflow://executions/{id}/steps/{stepId}/output); ' +
        'null when there is none.',
      resolve: (s) => (s.output == null ? null : stepOutputUri(s.executionId, s.stepId)),
    }),
    error: t.field({ type: ExecutionErrorRef, nullable: true, resolve: (s) => s.error }),
    waitingOnChange: t.exposeString('waitingOnChange', {
      nullable: true,
      description: 'The change an approval gate waits for.',
    }),
  }),
});

export const ExecutionRef = builder.objectRef<ExecutionRecord>('Execution').implement({
  description: 'One run of a workflow, pinned to the version it started with.',
  mcp: { summary: ['id', 'workflowId', 'workflowVersion', 'status'] },
  fields: (t) => ({
    id: t.exposeID('id'),
    workflowId: t.exposeID('workflowId'),
    workflowVersion: t.exposeInt('workflowVersion'),
    workflow: t.field({
      type: WorkflowRef,
      nullable: true,
      description: 'The workflow as it is now (null once deleted).',
      resolve: (e, _a, ctx) => workflowOf(ctx, e),
    }),
    status: t.expose('status', { type: ExecutionStatusEnum }),
    trigger: t.expose('trigger', { type: ExecutionTriggerEnum }),
    triggerRef: t.exposeString('triggerRef', {
      nullable: true,
      description: 'The change (CHANGE_APPROVED, RUNBOOK), cron minute (CRON) or webhook timestamp.',
    }),
    changeId: t.exposeString('changeId', { nullable: true }),
    inputs: t.field({ type: 'JSON', resolve: (e) => e.inputs as never }),
    outputs: t.field({
      type: 'JSON',
      nullable: true,
      description: 'Each finished step’s output by step id (each at most 16 KiB).',
      resolve: (e) => e.outputs as never,
    }),
    error: t.field({ type: ExecutionErrorRef, nullable: true, resolve: (e) => e.error }),
    currentStep: t.exposeInt('currentStep', { nullable: true }),
    steps: t.field({
      type: [StepRunRef],
      description: 'The steps run so far, in order.',
      args: { first: firstArg(t, 50, 50) },
      resolve: async (e, { first }, ctx) => firstOf(await ctx.loaders.stepRunsByExecution.load(e.id), first),
    }),
    cancelRequestedAt: t.expose('cancelRequestedAt', { type: 'DateTime', nullable: true }),
    cancelRequestedBy: t.exposeString('cancelRequestedBy', { nullable: true }),
    createdBy: t.exposeString('createdBy'),
    causedBy: t.exposeString('causedBy', {
      nullable: true,
      description:
        'The person whose act started it: who ran it, or approved or implemented its change (null for cron and webhooks).',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const ExecutionEventRef = builder.objectRef<ExecutionEvent>('ExecutionEvent').implement({
  description: 'An execution started, a step moved on, or the execution ended.',
  fields: (t) => ({
    executionId: t.exposeID('executionId'),
    workflowId: t.exposeID('workflowId'),
    status: t.expose('status', { type: ExecutionStatusEnum }),
    stepIndex: t.exposeInt('stepIndex', { nullable: true }),
    stepId: t.exposeString('stepId', { nullable: true }),
    stepStatus: t.expose('stepStatus', { type: StepRunStatusEnum, nullable: true }),
    attempts: t.exposeInt('attempts', { nullable: true }),
    error: t.field({ type: ExecutionErrorRef, nullable: true, resolve: (e) => e.error }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});
