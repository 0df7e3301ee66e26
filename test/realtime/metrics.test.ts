import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { workerPorts } from '../../src/runtime/worker/index';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE, token } from '../helpers/auth';
import { cast, createChange, gql } from '../helpers/changes';
import { callTool, mcpClient } from '../helpers/mcp';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict reader of the Prometheus text format (0.0.4): every line must be a comment or a sample. */
function parsePrometheus(text: string) {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1] as string, type[2] as string);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[k as string] = v as string;
    }
    samples.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return { types, samples };
}

describe('GET /metrics', () => {
  it('exposes request counts, latency histogram, GraphQL errors, tool calls and subscriptions', async () => {
    const c = await cast('prom');
    await createChange(c.requester);
    await gql('{ change(id: "CHG-20200101-NOPE00") { id } }', {}, { token: c.viewer });
    const agent = await mcpClient(c.viewer);
    await callTool(agent, 'whoami');
    await callTool(agent, 'get_change_status', { id: 'CHG-20200101-NOPE00' });
    await agent.close();

    const res = await exports.default.fetch('http://cf.test/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const { types, samples } = parsePrometheus(await res.text());
    expect(Object.fromEntries(types)).toMatchObject({
      changeflow_http_requests_total: 'counter',
      changeflow_http_request_duration_seconds: 'histogram',
      changeflow_graphql_errors_total: 'counter',
      changeflow_mcp_tool_calls_total: 'counter',
      changeflow_subscriptions: 'gauge',
    });
    const find = (name: string, labels: Record<string, string>) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    expect(
      find('changeflow_http_requests_total', { route: '/graphql', status: '200' })?.value,
    ).toBeGreaterThan(0);
    expect(find('changeflow_http_requests_total', { route: '/mcp', status: '200' })?.value).toBeGreaterThan(
      0,
    );
    expect(find('changeflow_graphql_errors_total', { code: 'CHANGE_NOT_FOUND' })?.value).toBeGreaterThan(0);
    expect(find('changeflow_mcp_tool_calls_total', { tool: 'whoami', outcome: 'ok' })?.value).toBeGreaterThan(
      0,
    );
    expect(
      find('changeflow_mcp_tool_calls_total', { tool: 'get_change_status', outcome: 'error' })?.value,
    ).toBeGreaterThan(0);
    // Histogram buckets are cumulative and end with +Inf equal to the count.
    const buckets = samples.filter(
      (s) => s.name === 'changeflow_http_request_duration_seconds_bucket' && s.labels.route === '/graphql',
    );
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(buckets.at(-1)?.labels.le).toBe('+Inf');
    expect(buckets.at(-1)?.value).toBe(
      find('changeflow_http_request_duration_seconds_count', { route: '/graphql' })?.value,
    );
    expect(find('changeflow_subscriptions', {})).toBeDefined();
  });

  it('requires a change manager or admin outside development', async () => {
    const app = createApp(schema);
    const production = {
      ...env,
      ENVIRONMENT: 'production',
      CORS_ORIGINS: 'https://app.example',
      JWT_AUDIENCE: TEST_AUDIENCE,
    };
    const ctx = {
      waitUntil: () => {},
      passThroughOnException: () => {},
      props: {},
    } as unknown as ExecutionContext;
    const get = async (tok?: string) =>
      app.fetch(
        new Request('http://cf.test/metrics', tok ? { headers: { authorization: `Bearer ${tok}` } } : {}),
        production,
        workerPorts(env as never, ctx),
      );
    expect((await get()).status).toBe(401);
    expect((await get(await token({ tenant: 'prom-prod', roles: ['viewer'] }))).status).toBe(403);
    const allowed = await get(await token({ tenant: 'prom-prod', roles: ['change_manager'] }));
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('changeflow_http_requests_total');
  });
});

describe('GET /health', () => {
  it('reports the live hub among its checks', async () => {
    const res = await exports.default.fetch('http://cf.test/health');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { checks: Record<string, string> };
    expect(body.checks).toEqual({ d1: 'ok', hub: 'ok' });
  });
});
