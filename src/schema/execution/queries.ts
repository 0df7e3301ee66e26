import type { Page } from '../../domain/pagination';
import type { ExecutionRecord } from '../../domain/types';
import type { BreakerSnapshot } from '../../usecases/ports/executions';
import { readExecution } from '../../usecases/workflows/executions';
import { circuitBreakers, executionsPage } from '../../usecases/workflows/queries';
import { builder } from '../builder';
import { firstArg, firstOf } from '../listArgs';
import { definePage, pageArgs } from '../page';
import { ExecutionRef, ExecutionStatusEnum } from './type';

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

const EXECUTION_SELECTION =
  'id workflowId workflowVersion status trigger triggerRef changeId inputs outputs currentStep ' +
  'error { code class message stepId httpStatus } cancelRequestedAt createdBy causedBy createdAt startedAt endedAt ' +
  'steps { index stepId type status attempts startedAt endedAt outputTruncated waitingOnChange ' +
  'error { code class message httpStatus } attemptLog { at durationMs httpStatus errorCode retryInMs } }';

builder.queryFields((t) => ({
  execution: t.withAuth({ viewer: true }).field({
    type: ExecutionRef,
    description: 'One execution with its step runs.',
    mcp: {
      name: 'get_execution',
      description:
        'An execution’s status, error and every step run (attempts, timings, errors). To wait for it to ' +
        'end, use wait_for_execution.',
      selection: EXECUTION_SELECTION,
    },
    args: { id: t.arg.id({ description: 'The execution id, e.g. exe_…' }) },
    resolve: (_root, { id }, ctx) => readExecution(ctx, id),
  }),
  executions: t.withAuth({ viewer: true }).field({
    type: ExecutionPageRef,
    description: 'Executions, newest first, filtered and cursor-paginated.',
    mcp: {
      name: 'list_executions',
      selection:
        'nodes { id workflowId workflowVersion status trigger changeId error { code message stepId } ' +
        'createdAt endedAt } pageInfo { hasNextPage endCursor }',
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
    mcp: { name: 'circuit_breakers' },
    args: { first: firstArg(t, 100, 500) },
    resolve: async (_root, { first }, ctx) => firstOf(await circuitBreakers(ctx), first),
  }),
}));
