// The Node runtime end to end, as a self-hoster runs it: the bundle `npm run serve:node` builds,
// started on a loopback port with a fresh SQLite file. A change goes through its whole life over
// HTTP GraphQL while a graphql-ws subscriber watches; an agent reads it over MCP; the audit chain
// verifies; SIGTERM shuts down cleanly and a restart on the same file finds everything.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';

const SECRET = 'node-server-test-secret-0123456789abcdef';
const TENANT = 'selfhost';
const STARTUP_TIMEOUT_MS = 60_000;

/** Starts the bundled server on a free loopback port; resolves once it printed its URLs. */
function startServer(bundle, dbFile, vars = {}) {
  const child = spawn(process.execPath, [bundle, '--db', dbFile, '--port', '0', '--host', '127.0.0.1'], {
    env: { ...process.env, JWT_SECRET: SECRET, ENVIRONMENT: 'development', ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  const url = new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no start-up banner:\n${stdout}\n${stderr}`)),
      STARTUP_TIMEOUT_MS,
    );
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /GraphQL\s+(http:\/\/\S+)\/graphql/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    exited.then((code) =>
      reject(new Error(`server exited (${code}) before starting:\n${stdout}\n${stderr}`)),
    );
  });
  return { child, url, exited, output: () => stdout };
}

/** Stops the server with SIGTERM and returns its exit code. */
async function stopServer(server) {
  server.child.kill('SIGTERM');
  return server.exited;
}

const CHANGE = `id status version approvals { approver { id } decision }`;

describe('ChangeFlow on Node', () => {
  let dir;
  let bundle;
  let server;
  let base;
  const tokens = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-node-'));
    bundle = await buildNodeServer();
    server = startServer(bundle, join(dir, 'data', 'changeflow.sqlite'));
    base = await server.url;
    const sign = (sub, roles) => signDevToken({ secret: SECRET, sub, tenant: TENANT, roles, name: sub });
    tokens.requester = await sign('rita', ['requester']);
    tokens.approver1 = await sign('abe', ['approver']);
    tokens.approver2 = await sign('ada', ['approver']);
    tokens.manager = await sign('max', ['change_manager']);
  });

  after(async () => {
    if (server?.child.exitCode === null) await stopServer(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One GraphQL request over HTTP; fails the test on any error. */
  async function gql(token, query, variables = {}) {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  }

  /** Open subscriptions, as /metrics counts them. */
  async function openSubscriptions() {
    const text = await (await fetch(`${base}/metrics`)).text();
    return Number(/^changeflow_subscriptions (\d+)$/m.exec(text)?.[1]);
  }

  test('serves health, the schema and the protected-resource metadata', async () => {
    const health = await (await fetch(`${base}/health`)).json();
    assert.equal(health.status, 'ok');
    assert.deepEqual(health.checks, { d1: 'ok', hub: 'ok' });
    const sdl = await (await fetch(`${base}/schema.graphql`)).text();
    assert.match(sdl, /type ChangeRequest/);
    const meta = await (await fetch(`${base}/.well-known/oauth-protected-resource`)).json();
    assert.equal(meta.resource, `${base}/mcp`);
  });

  test('serves the dashboard from the repository public/ and says where', async () => {
    assert.match(server.output(), new RegExp(`Dashboard\\s+${base}/dashboard\\n`));
    const res = await fetch(`${base}/dashboard/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>[^<]*ChangeFlow[^<]*<\/title>/);
  });

  test('a change goes from DRAFT to COMPLETED while a WebSocket subscriber sees it move', async (t) => {
    const { createChangeRequest: draft } = await gql(
      tokens.requester,
      `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { ${CHANGE} } }`,
      {
        input: {
          title: 'Upgrade the payments database',
          description: 'Minor version upgrade of Postgres on the payments cluster.',
          type: 'NORMAL',
          impact: 'MEDIUM',
          urgency: 'MEDIUM',
          affectedServices: ['payments-db'],
          implementationPlan: 'Fail over, upgrade the replica, fail back.',
          backoutPlan: 'Fail back to the old primary.',
          testPlan: 'Run the smoke suite against the cluster.',
        },
      },
    );
    assert.equal(draft.status, 'DRAFT');

    // A dashboard user watching this change over graphql-transport-ws.
    // As a browser does: a single-use ticket in the URL, asked for with the token.
    const ws = createClient({
      url: async () => {
        const res = await fetch(`${base}/graphql/ws-ticket`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens.manager}` },
        });
        const { ticket } = await res.json();
        return `${base.replace(/^http/, 'ws')}/graphql?ticket=${encodeURIComponent(ticket)}`;
      },
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${tokens.manager}` },
      retryAttempts: 0,
    });
    t.after(() => ws.dispose());
    const seen = [];
    let failure = null;
    let notify = () => {};
    const unsubscribe = ws.subscribe(
      {
        query: `subscription($id: ID!) { changeEvents(filter: { changeId: $id }) { changeId action status actorId } }`,
        variables: { id: draft.id },
      },
      {
        next: (result) => {
          seen.push(result.data?.changeEvents ?? result);
          notify();
        },
        error: (e) => {
          failure = e;
          notify();
        },
        complete: () => {},
      },
    );
    /** The first event into `status` the subscriber received, once it has. */
    const eventFor = (status) =>
      new Promise((resolve, reject) => {
        notify = () => {
          if (failure) reject(new Error(`subscription failed: ${JSON.stringify(failure)}`));
          const event = seen.find((e) => e.status === status);
          if (event) resolve(event);
        };
        notify();
      });
    // The subscription is registered once the server counts it (no event can be missed after).
    while ((await openSubscriptions()) < 1) await new Promise((r) => setTimeout(r, 20));

    const submitted = eventFor('PENDING_APPROVAL');
    const { submitChange: pending } = await gql(
      tokens.requester,
      `mutation($id: ID!) { submitChange(id: $id) { ${CHANGE} } }`,
      { id: draft.id },
    );
    assert.equal(pending.status, 'PENDING_APPROVAL');
    assert.deepEqual(await submitted, {
      changeId: draft.id,
      action: 'change.submitted',
      status: 'PENDING_APPROVAL',
      actorId: 'rita',
    });

    // Two different approvers (the requester may not approve her own change).
    const approve = `mutation($id: ID!) { approveChange(id: $id, comment: "Fine") { change { ${CHANGE} } stillNeeded } }`;
    const first = await gql(tokens.approver1, approve, { id: draft.id });
    assert.equal(first.approveChange.change.status, 'PENDING_APPROVAL');
    const approvedEvent = eventFor('APPROVED');
    const second = await gql(tokens.approver2, approve, { id: draft.id });
    assert.equal(second.approveChange.change.status, 'APPROVED');
    assert.deepEqual(
      second.approveChange.change.approvals.map((a) => [a.approver.id, a.decision]),
      [
        ['abe', 'APPROVED'],
        ['ada', 'APPROVED'],
      ],
    );
    assert.equal((await approvedEvent).actorId, 'ada');

    const start = new Date(Date.now() + 3 * 86_400_000);
    start.setUTCHours(10, 0, 0, 0);
    const end = new Date(start.getTime() + 2 * 3_600_000);
    const { scheduleChange } = await gql(
      tokens.manager,
      `mutation($id: ID!, $start: DateTime!, $end: DateTime!) {
         scheduleChange(id: $id, plannedStart: $start, plannedEnd: $end) { change { ${CHANGE} } conflicts { changeId } } }`,
      { id: draft.id, start: start.toISOString(), end: end.toISOString() },
    );
    assert.equal(scheduleChange.change.status, 'SCHEDULED');
    assert.deepEqual(scheduleChange.conflicts, []);
    const { startImplementation } = await gql(
      tokens.manager,
      `mutation($id: ID!) { startImplementation(id: $id) { ${CHANGE} } }`,
      { id: draft.id },
    );
    assert.equal(startImplementation.status, 'IMPLEMENTING');
    const completedEvent = eventFor('COMPLETED');
    const { completeChange } = await gql(
      tokens.manager,
      `mutation($id: ID!) { completeChange(id: $id) { ${CHANGE} } }`,
      { id: draft.id },
    );
    assert.deepEqual([completeChange.status, completeChange.version], ['COMPLETED', 7]);
    assert.equal((await completedEvent).action, 'change.completed');
    assert.deepEqual(
      seen.map((e) => e.status),
      ['PENDING_APPROVAL', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED', 'IMPLEMENTING', 'COMPLETED'],
    );
    unsubscribe();

    // An agent reads the same change over MCP (Streamable HTTP, the official SDK client), in
    // both protocol eras: the 2025 handshake and 2026-07-28 (found by server/discover).
    for (const [mode, era] of [
      ['legacy', 'legacy'],
      ['auto', 'modern'],
    ]) {
      const mcp = new Client({ name: 'node-e2e', version: '1.0.0' }, { versionNegotiation: { mode } });
      await mcp.connect(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${tokens.manager}` } },
        }),
      );
      assert.equal(mcp.getProtocolEra(), era);
      const status = await mcp.callTool({ name: 'get_change_status', arguments: { id: draft.id } });
      assert.equal(status.isError, undefined, JSON.stringify(status));
      assert.equal(status.structuredContent.id, draft.id);
      assert.equal(status.structuredContent.status, 'COMPLETED');
      // No static assets here: the approval card comes from the pages bundled with the server.
      const { contents } = await mcp.readResource({ uri: 'ui://changeflow/approval-card' });
      assert.match(contents[0].text, /^<!doctype html>/i);
      await mcp.close();
    }

    // Every write above left an audit event; the hash chain over them verifies.
    const { auditLog } = await gql(
      tokens.manager,
      `query($id: ID!) { auditLog(targetId: $id) { nodes { action actorId } } }`,
      { id: draft.id },
    );
    assert.deepEqual(auditLog.nodes.map((n) => n.action).reverse(), [
      'change.created',
      'change.submitted',
      'change.approval_recorded',
      'change.approval_recorded',
      'change.scheduled',
      'change.implementation_started',
      'change.completed',
    ]);
    // The chain is the tenant's: it covers every event of the tenant, not only this change's.
    const { verifyAuditChain, tenantLog } = await gql(
      tokens.manager,
      `{ verifyAuditChain { valid checked reason } tenantLog: auditLog(first: 200) { nodes { seq } } }`,
    );
    assert.deepEqual(verifyAuditChain, { valid: true, checked: tenantLog.nodes.length, reason: null });
  });

  test('stops on SIGTERM, and a restart on the same file finds the data with nothing to migrate', async () => {
    assert.equal(await stopServer(server), 0);
    assert.match(server.output(), /SIGTERM/);
    server = startServer(bundle, join(dir, 'data', 'changeflow.sqlite'));
    base = await server.url;
    assert.match(server.output(), /migrations: up to date/);
    const { changes } = await gql(tokens.manager, '{ changes { nodes { status } } }');
    assert.deepEqual(
      changes.nodes.map((c) => c.status),
      ['COMPLETED'],
    );
    assert.equal(await stopServer(server), 0);
  });
});

describe('/metrics of a self-hosted production server, over a real socket', () => {
  const METRICS_TOKEN = 'node-metrics-scraper-token-0123456789abcdef';
  let dir;
  let server;
  let base;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-node-metrics-'));
    server = startServer(await buildNodeServer(), join(dir, 'changeflow.sqlite'), {
      ENVIRONMENT: 'production',
      JWT_AUDIENCE: 'changeflow',
      CORS_ORIGINS: 'https://app.example',
      AUDIT_DIGESTS_ENABLED: 'false',
      METRICS_TOKEN,
    });
    base = await server.url;
  });

  after(async () => {
    if (server?.child.exitCode === null) await stopServer(server);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("answers the operator's token, and a tenant admin's token gets a JSON 401", async () => {
    const admin = await signDevToken({
      secret: SECRET,
      sub: 'ann',
      tenant: TENANT,
      roles: ['admin'],
      name: 'ann',
    });
    const refused = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${admin}` } });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error.code, 'UNAUTHENTICATED');
    const scraped = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(scraped.status, 200);
    assert.match(await scraped.text(), /^# TYPE changeflow_http_requests_total counter$/m);
  });
});

describe('the node:http bridge', () => {
  /** Serves an app that echoes the client address it is told, on a free loopback port. */
  async function echoServer(trustProxy) {
    const { startNodeServer } = await import('../../src/runtime/node/server.ts');
    const app = {
      fetch: async (request) => Response.json({ ip: request.headers.get('cf-connecting-ip') }),
      upgrade: (_req, socket) => socket.destroy(),
      endSubscriptions: async () => {},
      close: async () => {},
    };
    return startNodeServer(app, { port: 0, host: '127.0.0.1', trustProxy });
  }

  test('tells the app the peer address, whatever address the client claims', async () => {
    const server = await echoServer(null);
    const res = await fetch(server.url, { headers: { 'cf-connecting-ip': '203.0.113.7' } });
    assert.deepEqual(await res.json(), { ip: '127.0.0.1' });
    await server.close();
  });

  test('behind a proxy that sets CF-Connecting-IP (--trust-proxy cf), passes on that address', async () => {
    const server = await echoServer('cf');
    const res = await fetch(server.url, { headers: { 'cf-connecting-ip': '203.0.113.7' } });
    assert.deepEqual(await res.json(), { ip: '203.0.113.7' });
    await server.close();
  });

  test('behind a proxy that sets only X-Real-IP, a forged CF-Connecting-IP picks no bucket', async () => {
    const server = await echoServer('x-real-ip');
    const forged = await fetch(server.url, {
      headers: { 'cf-connecting-ip': '198.51.100.99', 'x-real-ip': '203.0.113.8' },
    });
    assert.deepEqual(await forged.json(), { ip: '203.0.113.8' });
    // The proxy sent none: the peer (the proxy) is the address, never a client's header.
    const none = await fetch(server.url, { headers: { 'cf-connecting-ip': '198.51.100.99' } });
    assert.deepEqual(await none.json(), { ip: '127.0.0.1' });
    await server.close();
  });

  test('with --trust-proxy x-forwarded-for, takes the right-most entry (the one the proxy added)', async () => {
    const server = await echoServer('x-forwarded-for');
    const res = await fetch(server.url, {
      headers: { 'x-forwarded-for': '198.51.100.1, 198.51.100.2,203.0.113.9', 'x-real-ip': '198.51.100.3' },
    });
    assert.deepEqual(await res.json(), { ip: '203.0.113.9' });
    await server.close();
  });

  test('--trust-proxy names one header; anything else is a usage error', async () => {
    const { parseNodeArgs, UsageError } = await import('../../src/runtime/node/args.ts');
    const parse = (argv, env = {}) =>
      parseNodeArgs(['--db', 'x.sqlite', ...argv], env, { migrations: 'migrations', publicDir: 'public' });
    assert.equal(parse([]).trustProxy, null);
    assert.equal(parse(['--trust-proxy', 'x-real-ip']).trustProxy, 'x-real-ip');
    assert.equal(parse([], { CHANGEFLOW_TRUST_PROXY: 'X-Forwarded-For' }).trustProxy, 'x-forwarded-for');
    assert.throws(() => parse([], { CHANGEFLOW_TRUST_PROXY: 'true' }), UsageError);
    assert.throws(() => parse(['--trust-proxy', 'forwarded']), /cf, x-real-ip, x-forwarded-for/);
  });

  test('--public (or CHANGEFLOW_PUBLIC_DIR) names the static pages; one without them stops the start', async () => {
    const { parseNodeArgs } = await import('../../src/runtime/node/args.ts');
    const parse = (argv, env = {}) =>
      parseNodeArgs(['--db', 'x.sqlite', ...argv], env, { migrations: 'migrations', publicDir: 'public' });
    assert.equal(parse([]).publicDir, 'public');
    assert.equal(parse([], { CHANGEFLOW_PUBLIC_DIR: '/srv/pages' }).publicDir, '/srv/pages');
    assert.equal(parse(['--public', 'site'], { CHANGEFLOW_PUBLIC_DIR: '/srv/pages' }).publicDir, 'site');
    const empty = mkdtempSync(join(tmpdir(), 'changeflow-no-pages-'));
    try {
      const run = spawnSync(
        process.execPath,
        [await buildNodeServer(), '--db', ':memory:', '--port', '0', '--public', empty],
        {
          env: { ...process.env, JWT_SECRET: SECRET, ENVIRONMENT: 'development' },
          encoding: 'utf8',
          timeout: STARTUP_TIMEOUT_MS,
        },
      );
      assert.equal(run.status, 1, run.stdout + run.stderr);
      assert.match(run.stderr, /--public .*: no static pages there \(no dashboard\/index\.html\)/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
