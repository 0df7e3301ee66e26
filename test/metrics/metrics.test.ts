import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { workerPorts } from '../../src/runtime/worker/index';
import { schema } from '../../src/schema';
import { TEST_AUDIENCE, token } from '../helpers/auth';
import { cast, createChange, gql } from '../helpers/changes';
import { openSocket } from '../helpers/live';
import { callTool, mcpClient } from '../helpers/mcp';

/** Polls `read` until `done` holds (or 5 s pass), and returns the last value read. */
async function settled<T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  let v = await read();
  while (!done(v) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    v = await read();
  }
  return v;
}

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

/** The exposition as a user scrapes it, parsed. */
async function scrape() {
  const res = await exports.default.fetch('http://cf.test/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  const parsed = parsePrometheus(await res.text());
  /** One sample's value; 0 for a series not exposed yet (a counter that never moved). */
  const value = (name: string, labels: Record<string, string> = {}) =>
    parsed.samples.find(
      (s) =>
        s.name === name &&
        Object.keys(s.labels).length === Object.keys(labels).length &&
        Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    )?.value ?? 0;
  return { ...parsed, value };
}

const ME = '{ me { id } }';
const SUBSCRIBE_ME = 'subscription { metrics { generatedAt } }';

describe('GET /metrics', () => {
  it('counts exactly the requests, GraphQL errors and tool calls made, in a consistent histogram', async () => {
    const c = await cast('prom');
    const before = await scrape();
    await createChange(c.requester);
    await gql('{ change(id: "CHG-20200101-NOPE00") { id } }', {}, { token: c.viewer });
    await gql(ME, {}, { token: 'not-a-jwt' });
    const agent = await mcpClient(c.viewer);
    await callTool(agent, 'whoami');
    await callTool(agent, 'get_change_status', { id: 'CHG-20200101-NOPE00' });
    await agent.close();
    const after = await scrape();

    expect(Object.fromEntries(after.types)).toMatchObject({
      changeflow_http_requests_total: 'counter',
      changeflow_http_request_duration_seconds: 'histogram',
      changeflow_graphql_errors_total: 'counter',
      changeflow_mcp_tool_calls_total: 'counter',
      changeflow_subscriptions: 'gauge',
    });
    const delta = (name: string, labels: Record<string, string> = {}) =>
      after.value(name, labels) - before.value(name, labels);
    // Each /graphql request under its answer: the create 200, the unknown change 404 (a
    // graphql-response+json answer without data), the bad token 401.
    for (const status of ['200', '404', '401']) {
      expect(delta('changeflow_http_requests_total', { route: '/graphql', status })).toBe(1);
    }
    // The MCP client (2026-07-28, on /mcp/all: the toolset paths count as /mcp): server/discover,
    // tools/list and two tool calls, each answered 200; no handshake, no session to end.
    expect(delta('changeflow_http_requests_total', { route: '/mcp', status: '200' })).toBe(4);
    expect(delta('changeflow_http_request_duration_seconds_count', { route: '/mcp' })).toBe(4);
    expect(delta('changeflow_http_request_duration_seconds_count', { route: 'other' })).toBe(0);
    expect(delta('changeflow_mcp_tool_calls_total', { tool: 'whoami', outcome: 'ok' })).toBe(1);
    expect(delta('changeflow_mcp_tool_calls_total', { tool: 'get_change_status', outcome: 'error' })).toBe(1);
    expect(delta('changeflow_mcp_tool_calls_total', { tool: 'get_change_status', outcome: 'ok' })).toBe(0);
    // The lookup's error, once over GraphQL and once through the MCP tool; the bad token's.
    expect(delta('changeflow_graphql_errors_total', { code: 'CHANGE_NOT_FOUND' })).toBe(2);
    expect(delta('changeflow_graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);
    // The histogram saw those three /graphql requests; its buckets are cumulative and end with
    // +Inf equal to the count.
    expect(delta('changeflow_http_request_duration_seconds_count', { route: '/graphql' })).toBe(3);
    const buckets = after.samples.filter(
      (s) => s.name === 'changeflow_http_request_duration_seconds_bucket' && s.labels.route === '/graphql',
    );
    expect(buckets.length).toBeGreaterThan(1);
    const values = buckets.map((b) => b.value);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(buckets.at(-1)?.labels.le).toBe('+Inf');
    expect(buckets.at(-1)?.value).toBe(
      after.value('changeflow_http_request_duration_seconds_count', { route: '/graphql' }),
    );
  });

  it('shows an open subscription in the gauge, and its end', async () => {
    const c = await cast(`prom-live-${crypto.randomUUID().slice(0, 8)}`);
    const gauge = async () => (await scrape()).value('changeflow_subscriptions');
    const idle = await gauge();
    const { socket } = await openSocket(c.tenant, { token: c.viewer });
    await socket!.init(c.viewer);
    socket!.subscribe('m', SUBSCRIBE_ME);
    await socket!.next((m) => m.id === 'm' && m.type === 'next');
    // The hub reports its count to the recorder on its own time: wait for it, then exactly one more.
    expect(await settled(gauge, (n) => n !== idle)).toBe(idle + 1);
    socket!.close();
    expect(await settled(gauge, (n) => n !== idle + 1)).toBe(idle);
  });

  describe('outside development', () => {
    const METRICS_TOKEN = 'prometheus-scraper-token-0123456789abcdef';
    const production = {
      ...env,
      ENVIRONMENT: 'production',
      CORS_ORIGINS: 'https://app.example',
      JWT_AUDIENCE: TEST_AUDIENCE,
      METRICS_TOKEN,
    };
    const ctx = {
      waitUntil: () => {},
      passThroughOnException: () => {},
      props: {},
    } as unknown as ExecutionContext;
    const get = async (
      headers: Record<string, string> = {},
      vars: Record<string, unknown> = production,
      path = '/metrics',
    ) =>
      createApp(schema).fetch(
        new Request(`http://cf.test${path}`, { headers }),
        vars as unknown as typeof env,
        workerPorts(env as never, ctx),
      );
    const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
    const refusal = async (res: Response) => ({
      status: res.status,
      body: (await res.json()) as { error: { code: string } },
    });

    it("answers the operator's METRICS_TOKEN with the service-wide figures", async () => {
      const res = await get(bearer(METRICS_TOKEN));
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('changeflow_http_requests_total');
    });

    it("refuses every tenant's credential, an admin's or a change manager's token and an admin API key", async () => {
      const c = await cast('prom-prod');
      const { createApiKey } = (
        await gql<{ createApiKey: { secret: string } }>(
          'mutation { createApiKey(name: "scraper", roles: [admin]) { secret } }',
          {},
          { token: c.admin },
        )
      ).data!;
      for (const secret of [
        await token({ tenant: 'prom-prod', roles: ['change_manager'] }),
        await token({ tenant: 'prom-prod', roles: ['admin'] }),
        createApiKey.secret,
      ]) {
        const res = await get(bearer(secret));
        expect(await refusal(res)).toEqual({
          status: 401,
          body: { error: expect.objectContaining({ code: 'UNAUTHENTICATED' }) },
        });
        expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      }
    });

    it('refuses no token, a wrong one, one a character short, another scheme and the token in the URL', async () => {
      for (const headers of [
        {},
        bearer('x'.repeat(METRICS_TOKEN.length)),
        bearer(METRICS_TOKEN.slice(0, -1)),
        bearer(`${METRICS_TOKEN}x`),
        { authorization: `Basic ${btoa(`prometheus:${METRICS_TOKEN}`)}` },
        { authorization: METRICS_TOKEN },
      ]) {
        expect((await refusal(await get(headers))).body.error.code, JSON.stringify(headers)).toBe(
          'UNAUTHENTICATED',
        );
      }
      const inUrl = await get({}, production, `/metrics?token=${METRICS_TOKEN}`);
      expect(inUrl.status).toBe(401);
    });

    it('answers METRICS_NOT_CONFIGURED to everyone while the deployment has no METRICS_TOKEN', async () => {
      const { METRICS_TOKEN: _unset, ...unset } = production;
      for (const headers of [{}, bearer(await token({ tenant: 'prom-prod', roles: ['admin'] }))]) {
        expect(await refusal(await get(headers, unset))).toEqual({
          status: 503,
          body: { error: expect.objectContaining({ code: 'METRICS_NOT_CONFIGURED' }) },
        });
      }
    });
  });
});

describe('GET /metrics: work the service owes', () => {
  const gauges = [
    'changeflow_outbox_pending',
    'changeflow_outbox_failing',
    'changeflow_outbox_oldest_seconds',
    'changeflow_audit_digests_unarchived',
    'changeflow_executions_live',
    'changeflow_executions_stalest_seconds',
  ];
  const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

  it('shows a stuck follow-up, an unarchived digest and a stalled execution, read from the database', async () => {
    const before = await scrape();
    for (const g of gauges) expect(before.types.get(g), g).toBe('gauge');
    const tenant = 'prom-backlog';
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await env.DB.batch([
      // A follow-up that failed and waits for its next attempt in an hour (no drainer takes it now).
      env.DB.prepare(
        `INSERT INTO outbox (id, tenant_id, kind, payload, source, request_id, created_at, attempts, next_attempt_at, last_error)
         VALUES ('obx-prom', ?1, 'wake-gates', '{}', 'graphql', 'req-prom', ?2, 3, ?3, 'D1 was unavailable')`,
      ).bind(tenant, ago(7200), future),
      env.DB.prepare(
        `INSERT INTO audit_digests (tenant_id, from_seq, to_seq, event_count, head_hash, digest_hash, key_id, signature, created_at, object_key, document)
         VALUES (?1, 1, 1, 1, 'h', 'd', 'k', 's', ?2, 'digests/prom/1.json', '{}')`,
      ).bind(tenant, ago(60)),
      env.DB.prepare(
        `INSERT INTO workflows (id, tenant_id, name, status, steps, triggers, created_by, created_at, updated_at)
         VALUES ('wf-prom', ?1, 'Prom', 'ACTIVE', '[]', '[]', 'u', ?2, ?2)`,
      ).bind(tenant, ago(86_400)),
      env.DB.prepare(
        `INSERT INTO workflow_versions (tenant_id, workflow_id, version, steps, triggers, created_by, created_at)
         VALUES (?1, 'wf-prom', 1, '[]', '[]', 'u', ?2)`,
      ).bind(tenant, ago(86_400)),
      env.DB.prepare(
        `INSERT INTO workflow_executions (id, tenant_id, workflow_id, workflow_version, status, trigger, inputs, created_by, created_at, updated_at)
         VALUES ('exe-prom', ?1, 'wf-prom', 1, 'RUNNING', 'MANUAL', '{}', 'u', ?2, ?2)`,
      ).bind(tenant, ago(86_400)),
    ]);
    const after = await scrape();
    for (const g of ['changeflow_outbox_pending', 'changeflow_outbox_failing']) {
      expect(after.value(g), g).toBe(before.value(g) + 1);
    }
    expect(after.value('changeflow_audit_digests_unarchived')).toBe(
      before.value('changeflow_audit_digests_unarchived') + 1,
    );
    expect(after.value('changeflow_executions_live')).toBe(before.value('changeflow_executions_live') + 1);
    // The oldest and stalest are at least as old as the rows just written (older ones may exist).
    expect(after.value('changeflow_outbox_oldest_seconds')).toBeGreaterThanOrEqual(7199);
    expect(after.value('changeflow_executions_stalest_seconds')).toBeGreaterThanOrEqual(86_399);
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
