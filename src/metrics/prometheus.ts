import type { Backlog } from '../db/backlog';
import { LATENCY_BUCKETS_S, type MetricsAggregator } from './aggregator';

/** Prometheus label values escape backslash, quote and newline. */
const esc = (v: string | number) =>
  String(v).replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
const labels = (l: Record<string, string | number>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${esc(v)}"`)
    .join(',')}}`;

/** The text exposition format (version 0.0.4) of everything the aggregator holds. */
export function renderPrometheus(m: MetricsAggregator): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

  family('changeflow_http_requests_total', 'counter', 'HTTP requests by route and status.');
  for (const r of m.requests.values()) {
    out.push(`changeflow_http_requests_total${labels({ route: r.route, status: r.status })} ${r.count}`);
  }
  family('changeflow_http_request_duration_seconds', 'histogram', 'Time to answer a request, by route.');
  for (const [route, h] of m.histogram) {
    LATENCY_BUCKETS_S.forEach((le, i) => {
      out.push(`changeflow_http_request_duration_seconds_bucket${labels({ route, le })} ${h.buckets[i]}`);
    });
    out.push(`changeflow_http_request_duration_seconds_bucket${labels({ route, le: '+Inf' })} ${h.count}`);
    out.push(`changeflow_http_request_duration_seconds_sum${labels({ route })} ${h.sum}`);
    out.push(`changeflow_http_request_duration_seconds_count${labels({ route })} ${h.count}`);
  }
  family('changeflow_graphql_errors_total', 'counter', 'GraphQL errors returned, by extensions.code.');
  for (const [code, n] of m.errors) out.push(`changeflow_graphql_errors_total${labels({ code })} ${n}`);
  family('changeflow_mcp_tool_calls_total', 'counter', 'MCP tool calls by tool and outcome.');
  for (const t of m.tools.values()) {
    out.push(`changeflow_mcp_tool_calls_total${labels({ tool: t.tool, outcome: t.outcome })} ${t.count}`);
  }
  family('changeflow_subscriptions', 'gauge', 'Open GraphQL subscriptions (WebSocket and SSE).');
  out.push(`changeflow_subscriptions ${m.subscriptions}`);
  return `${out.join('\n')}\n`;
}

/** The gauges of work the service owes (src/db/backlog.ts), read from the database at each scrape. */
const BACKLOG_GAUGES: [name: string, help: string, key: keyof Backlog][] = [
  ['changeflow_outbox_pending', 'Follow-ups of committed writes not yet done.', 'outboxPending'],
  ['changeflow_outbox_failing', 'Pending follow-ups whose last attempt failed.', 'outboxFailing'],
  ['changeflow_outbox_oldest_seconds', 'Age of the oldest pending follow-up.', 'outboxOldestSeconds'],
  [
    'changeflow_audit_digests_unarchived',
    'Signed digests recorded but not yet in the archive.',
    'digestsUnarchived',
  ],
  ['changeflow_executions_live', 'Workflow executions pending or running.', 'executionsLive'],
  [
    'changeflow_executions_stalest_seconds',
    'Time since the least recently moved live execution moved.',
    'executionsStalestSeconds',
  ],
];

export function renderBacklog(b: Backlog): string {
  return BACKLOG_GAUGES.map(
    ([name, help, key]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${b[key]}\n`,
  ).join('');
}
