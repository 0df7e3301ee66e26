import { AppError } from '../errors';
import type { SystemFigures } from '../metrics/aggregator';
import { liveMetrics } from '../usecases/liveMetrics';
import type { ChangeEvent } from '../usecases/ports/events';
import type { LiveMetrics } from '../usecases/ports/live';
import { builder } from './builder';
import { ChangeStatusEnum } from './enums';
import { firstArg, firstOf } from './listArgs';
import { KpisRef } from './metrics';

const ToolCallsRef = builder.objectRef<SystemFigures['toolCalls'][number]>('ToolCallCount').implement({
  fields: (t) => ({
    tool: t.exposeString('tool'),
    calls: t.exposeInt('calls'),
    errors: t.exposeInt('errors'),
  }),
});

const SystemRef = builder.objectRef<SystemFigures>('SystemMetrics').implement({
  description: 'The service over the last minute (all tenants), as recorded per request.',
  fields: (t) => ({
    requestsPerMinute: t.exposeInt('requestsPerMinute'),
    latencyP50Ms: t.exposeFloat('latencyP50Ms', { nullable: true }),
    latencyP95Ms: t.exposeFloat('latencyP95Ms', { nullable: true }),
    latencyP99Ms: t.exposeFloat('latencyP99Ms', { nullable: true }),
    errorRate: t.exposeFloat('errorRate', {
      nullable: true,
      description: 'Share of requests answered 5xx or with GraphQL errors, 0–1.',
    }),
    toolCalls: t.field({
      type: [ToolCallsRef],
      description: 'MCP tool calls since start, by tool.',
      args: { first: firstArg(t, 50) },
      resolve: (s, { first }) => firstOf(s.toolCalls, first),
    }),
    subscriptions: t.exposeInt('subscriptions', { description: 'Open subscriptions.' }),
  }),
});

const LiveMetricsRef = builder.objectRef<LiveMetrics>('LiveMetrics').implement({
  description: 'Change KPIs of your tenant with the system figures, as the dashboard shows them.',
  fields: (t) => ({
    kpis: t.field({ type: KpisRef, resolve: (m) => m.kpis }),
    system: t.field({ type: SystemRef, resolve: (m) => m.system }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime' }),
  }),
});

const ChangeEventRef = builder.objectRef<ChangeEvent>('ChangeEvent').implement({
  description: 'A change moved to a new state or received a vote.',
  fields: (t) => ({
    changeId: t.exposeID('changeId'),
    title: t.exposeString('title'),
    action: t.exposeString('action', { description: 'The audit action, e.g. `change.approval_recorded`.' }),
    status: t.expose('status', { type: ChangeStatusEnum }),
    previousStatus: t.expose('previousStatus', { type: ChangeStatusEnum, nullable: true }),
    version: t.exposeInt('version'),
    actorId: t.exposeID('actorId'),
    source: t.exposeString('source'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const ChangeEventFilter = builder.inputType('ChangeEventFilter', {
  fields: (t) => ({
    changeId: t.id({ required: false, description: 'Only events of this change.' }),
    status: t.field({
      type: [ChangeStatusEnum],
      required: false,
      description: 'Only events into these states.',
    }),
  }),
});

builder.queryFields((t) => ({
  liveMetrics: t.withAuth({ viewer: true }).field({
    type: LiveMetricsRef,
    description: 'The live snapshot: your tenant’s change KPIs and the system figures of the last minute.',
    mcpResource: {
      uriTemplate: 'changeflow://metrics',
      name: 'metrics',
      title: 'Live metrics',
      description:
        'The live KPI snapshot of your tenant and the system figures (read it again for fresh figures).',
      depth: 3,
    },
    mcp: {
      name: 'metrics_dashboard',
      depth: 3,
      description:
        'Live KPIs of your tenant (active changes, pending approvals, mean time to approve, success rate, emergency ' +
        'ratio, changes by status) and system figures (requests/min, latency percentiles, error rate, tool calls).',
    },
    resolve: (_r, _a, ctx) => liveMetrics(ctx),
  }),
}));

function notHere(): never {
  throw new AppError('BAD_REQUEST', 'Subscriptions are served over WebSocket or SSE on /graphql');
}

builder.subscriptionType({ description: 'Live data: KPI snapshots and change events of your tenant.' });
builder.subscriptionFields((t) => ({
  metrics: t.withAuth({ viewer: true }).field({
    type: LiveMetricsRef,
    description:
      'A snapshot on subscribe, then a new one whenever a change alters the figures, and every few seconds.',
    subscribe: (_r, _a, ctx) => ctx.live?.metrics?.() ?? notHere(),
    resolve: (m) => m,
  }),
  changeEvents: t.withAuth({ viewer: true }).field({
    type: ChangeEventRef,
    description: 'Your tenant’s change events as they happen, optionally filtered.',
    args: { filter: t.arg({ type: ChangeEventFilter, required: false }) },
    subscribe: (_r, args, ctx) =>
      ctx.live?.changeEvents?.({
        changeId: args.filter?.changeId || null,
        statuses: args.filter?.status ?? null,
      }) ?? notHere(),
    resolve: (e) => e,
  }),
}));
