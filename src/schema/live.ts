import type { SystemFigures } from '../metrics/aggregator';
import { liveMetrics } from '../usecases/liveMetrics';
import type { LiveMetrics } from '../usecases/ports/live';
import { builder } from './builder';
import { servedHere } from './feed';
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
      toolset: 'changes',
      description:
        'Live KPIs of your tenant: active changes, pending approvals, mean time to approve, success rate, ' +
        'emergency ratio, changes by status.',
      // The change KPIs; GraphQL has the system figures (latency, error rate, tool calls) too.
      selection:
        'kpis { totalChanges activeChanges pendingApprovals meanTimeToApproveHours successRate emergencyRatio ' +
        'changesByStatus { status count } } generatedAt',
    },
    resolve: (_r, _a, ctx) => liveMetrics(ctx),
  }),
}));

builder.subscriptionFields((t) => ({
  metrics: t.withAuth({ viewer: true }).field({
    type: LiveMetricsRef,
    description:
      'A snapshot on subscribe, then a new one whenever a change alters the figures, and every few seconds.',
    subscribe: (_r, _a, ctx) => servedHere(ctx.live?.metrics?.()),
    resolve: (m) => m,
  }),
}));
