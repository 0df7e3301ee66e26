import { type ExecutionCursor, type ExecutionFilter, listExecutions } from '../db/executions';
import { getWorkflow } from '../db/workflows';
import { decodeCursor, type Page, toPage } from '../domain/pagination';
import {
  EXECUTION_STATUSES,
  EXECUTION_TRIGGERS,
  type ExecutionErrorRecord,
  type ExecutionRecord,
  STEP_RUN_STATUSES,
  type StepRunRecord,
} from '../domain/types';
import type { ExecutionEvent } from '../engine/engine';
import { AppError } from '../errors';
import { authed } from '../usecases/context';
import type { BreakerSnapshot } from '../usecases/ports/executions';
import { readExecution } from '../usecases/workflows/executions';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';
import { definePage } from './page';
import { WorkflowRef } from './workflow';

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

const StepRunStatusEnum = builder.enumType('StepRunStatus', {
  description: 'WAITING: a delay or an approval gate is waiting; the others as they say.',
  values: STEP_RUN_STATUSES,
});

const ExecutionErrorRef = builder.objectRef<ExecutionErrorRecord>('ExecutionError').implement({
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

const StepRunRef = builder.objectRef<StepRunRecord>('StepRun').implement({
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
    error: t.field({ type: ExecutionErrorRef, nullable: true, resolve: (s) => s.error }),
    waitingOnChange: t.exposeString('waitingOnChange', {
      nullable: true,
      description: 'The change an approval gate waits for.',
    }),
  }),
});

export const ExecutionRef = builder.objectRef<ExecutionRecord>('Execution').implement({
  description: 'One run of a workflow, pinned to the version it started with.',
  fields: (t) => ({
    id: t.exposeID('id'),
    workflowId: t.exposeID('workflowId'),
    workflowVersion: t.exposeInt('workflowVersion'),
    workflow: t.field({
      type: WorkflowRef,
      nullable: true,
      description: 'The workflow as it is now (null once deleted).',
      resolve: (e, _a, ctx) => getWorkflow(ctx.db, e.tenantId, e.workflowId),
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

const ExecutionFilterInput = builder.inputType('ExecutionFilter', {
  description: 'All given criteria must match.',
  fields: (t) => ({
    workflowId: t.id({ required: false }),
    status: t.field({ type: ExecutionStatusEnum, required: false }),
    changeId: t.string({ required: false, validate: { maxLength: 40 } }),
  }),
});

const ExecutionPageRef = definePage<ExecutionRecord, Page<ExecutionRecord>>('ExecutionPage', ExecutionRef);

const isExecutionCursor = (v: unknown): v is ExecutionCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ExecutionCursor).createdAt === 'string' &&
  typeof (v as ExecutionCursor).id === 'string';

const BreakerRef = builder.objectRef<BreakerSnapshot>('CircuitBreaker').implement({
  description:
    'An upstream host’s circuit breaker, shared by your tenant’s executions: CLOSED (calls pass), OPEN ' +
    '(calls fail fast with EXECUTION-006 until the cooldown ends), HALF_OPEN (one probe call decides).',
  fields: (t) => ({
    host: t.exposeString('host'),
    state: t.exposeString('state'),
    consecutiveFailures: t.exposeInt('failures'),
    openedAt: t.string({
      nullable: true,
      resolve: (b) => (b.openedAt === null ? null : new Date(b.openedAt).toISOString()),
    }),
    updatedAt: t.string({ resolve: (b) => new Date(b.updatedAt).toISOString() }),
  }),
});

const EXECUTION_SELECTION =
  'id workflowId workflowVersion status trigger triggerRef changeId inputs outputs currentStep ' +
  'error { code class message stepId httpStatus } cancelRequestedAt createdBy causedBy createdAt startedAt endedAt ' +
  'steps { index stepId type status attempts startedAt endedAt outputTruncated waitingOnChange ' +
  'error { code class message httpStatus } attemptLog { at durationMs httpStatus errorCode retryInMs } }';

builder.queryFields((t) => ({
  execution: t.field({
    type: ExecutionRef,
    description: 'One execution with its step runs.',
    authScopes: { viewer: true },
    mcp: {
      name: 'get_execution',
      description:
        'An execution’s status, error and every step run (attempts, timings, errors): poll it after ' +
        'execute_workflow until status is SUCCEEDED, FAILED or CANCELLED.',
      selection: EXECUTION_SELECTION,
    },
    args: { id: t.arg.id({ description: 'The execution id, e.g. exe_…' }) },
    resolve: (_root, { id }, ctx) => readExecution(authed(ctx), String(id)),
  }),
  executions: t.field({
    type: ExecutionPageRef,
    description: 'Executions, newest first, filtered and cursor-paginated.',
    authScopes: { viewer: true },
    mcp: {
      name: 'list_executions',
      selection:
        'nodes { id workflowId workflowVersion status trigger changeId error { code message stepId } ' +
        'createdAt endedAt } pageInfo { hasNextPage endCursor }',
    },
    args: {
      filter: t.arg({ type: ExecutionFilterInput, required: false }),
      first: t.arg.int({ required: false, defaultValue: 20, validate: { min: 1, max: 100 } }),
      after: t.arg.string({ required: false, description: 'endCursor of the previous page.' }),
    },
    resolve: async (_root, args, ctx) => {
      const { principal, db } = authed(ctx);
      const filter: ExecutionFilter = {
        workflowId: args.filter?.workflowId ? String(args.filter.workflowId) : null,
        status: args.filter?.status ?? null,
        changeId: args.filter?.changeId ?? null,
      };
      const limit = args.first ?? 20;
      const cursor = args.after ? decodeCursor(args.after, isExecutionCursor) : null;
      const rows = await listExecutions(db, principal.tenantId, filter, limit + 1, cursor);
      return toPage(rows, limit, (e) => ({ createdAt: e.createdAt, id: e.id }));
    },
  }),
  circuitBreakers: t.field({
    type: [BreakerRef],
    description: 'The circuit breakers of the upstream hosts your workflows have called.',
    authScopes: { viewer: true },
    mcp: { name: 'circuit_breakers' },
    args: { first: firstArg(t, 100, 500) },
    resolve: async (_root, { first }, ctx) => {
      const c = authed(ctx);
      if (!c.executions?.breakers) {
        throw new AppError('EXECUTION-012', 'This runtime has no workflow engine, so no circuit breakers');
      }
      return firstOf(await c.executions.breakers(c.principal.tenantId), first);
    },
  }),
}));

const ExecutionEventRef = builder.objectRef<ExecutionEvent>('ExecutionEvent').implement({
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

builder.subscriptionFields((t) => ({
  executionProgress: t.field({
    type: ExecutionEventRef,
    description: 'Progress of your tenant’s executions as it happens: one execution, one workflow, or all.',
    authScopes: { viewer: true },
    args: {
      executionId: t.arg.id({ required: false }),
      workflowId: t.arg.id({ required: false }),
    },
    subscribe: (_r, args, ctx) => {
      const feed = authed(ctx).live?.executionEvents?.({
        executionId: args.executionId ? String(args.executionId) : null,
        workflowId: args.workflowId ? String(args.workflowId) : null,
      });
      if (!feed)
        throw new AppError('BAD_REQUEST', 'Subscriptions are served over WebSocket or SSE on /graphql');
      return feed;
    },
    resolve: (e) => e,
  }),
}));
