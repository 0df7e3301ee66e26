import type { Page } from '../../domain/pagination';
import type { ExecutionRecord } from '../../domain/types';
import type { BreakerSnapshot } from '../../usecases/ports/executions';
import { readExecution } from '../../usecases/workflows/executions';
import { circuitBreakers, executionsPage } from '../../usecases/workflows/queries';
import { builder } from '../builder';
import { firstArg, firstOf } from '../listArgs';
import { definePage, pageArgs } from '../page';
import { ExecutionRef, ExecutionStatusEnum, StepRunRef } from './type';

const ExecutionFilterInput = builder.inputType('ExecutionFilter', {
  description: 'All given criteria must match.',
  fields: (t) => ({
    workflowId: t.id({ required: false, description: 'Executions of this workflow.' }),
    status: t.field({ type: ExecutionStatusEnum, required: false }),
    changeId: t.string({
      required: false,
      validate: { maxLength: 40 },
      description: 'Executions for this change.',
    }),
  }),
});

const ExecutionPageRef = definePage<ExecutionRecord, Page<ExecutionRecord>>('ExecutionPage', ExecutionRef);

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

/**
 * What an agent polls: no inputs (its own, up to 64 KiB) and no outputs (50 steps of up to 16 KiB
 * each); each step shows a preview of its output and the resource with the whole of it, and its
 * attempt count and last error rather than the log of every attempt.
 */
// What an agent needs to follow or debug a run (within the catalog budget): each step's outcome,
// error and output preview, the full output behind its outputUri. GraphQL has the timings.
const EXECUTION_SELECTION =
  'id workflowId workflowVersion status changeId error { code message stepId } ' +
  'steps { stepId status attempts error { code message } outputTruncated outputPreview outputUri }';

builder.queryFields((t) => ({
  execution: t.withAuth({ viewer: true }).field({
    type: ExecutionRef,
    description: 'One execution with its step runs.',
    mcp: {
      name: 'get_execution',
      toolset: 'workflows',
      description:
        'An execution’s status, error and each step’s outcome and output preview; wait_for_execution waits for its end.',
      selection: EXECUTION_SELECTION,
    },
    args: { id: t.arg.id({ description: 'The execution id, e.g. exe_…' }) },
    resolve: (_root, { id }, ctx) => readExecution(ctx, id),
  }),
  executionStep: t.withAuth({ viewer: true }).field({
    type: StepRunRef,
    nullable: true,
    description: 'One step run of an execution, with its whole output (null when the step has not run).',
    mcpResource: {
      uriTemplate: 'changeflow://executions/{id}/steps/{stepId}/output',
      name: 'execution_step_output',
      title: 'Output of an execution step',
      description: 'The whole output a step of an execution recorded (at most 16 KiB; see outputTruncated).',
      selection: 'index stepId type status outputTruncated output',
    },
    args: {
      id: t.arg.id({ description: 'The execution id, e.g. exe_…' }),
      stepId: t.arg.string({ validate: { minLength: 1, maxLength: 63 }, description: 'The step id.' }),
    },
    resolve: async (_root, { id, stepId }, ctx) => {
      const execution = await readExecution(ctx, id);
      const steps = await ctx.loaders.stepRunsByExecution.load(execution.id);
      return steps.find((s) => s.stepId === stepId) ?? null;
    },
  }),
  executions: t.withAuth({ viewer: true }).field({
    type: ExecutionPageRef,
    description: 'Executions, newest first, filtered and cursor-paginated.',
    mcp: {
      name: 'list_executions',
      toolset: 'workflows',
      // A summary per execution; get_execution reads one.
      selection: 'nodes { id workflowId status createdAt } pageInfo { hasNextPage endCursor }',
    },
    args: { filter: t.arg({ type: ExecutionFilterInput, required: false }), ...pageArgs(t) },
    resolve: (_root, { filter, ...page }, ctx) =>
      executionsPage(
        ctx,
        {
          workflowId: filter?.workflowId || null,
          status: filter?.status ?? null,
          changeId: filter?.changeId ?? null,
        },
        page,
      ),
  }),
  circuitBreakers: t.withAuth({ viewer: true }).field({
    type: [BreakerRef],
    description: 'The circuit breakers of the upstream hosts your workflows have called.',
    // Not an MCP tool (an operator's view, over GraphQL): a step a breaker stopped says so in its
    // error (host and state), which is what an agent following a run reads.
    args: { first: firstArg(t, 50, 500) },
    resolve: async (_root, { first }, ctx) => firstOf(await circuitBreakers(ctx), first),
  }),
}));
