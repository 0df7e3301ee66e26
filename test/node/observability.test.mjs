// Error tracking and traces as a deployment gets them, against `wrangler dev` (workerd) with
// SENTRY_DSN and OTEL_EXPORTER_OTLP_ENDPOINT pointing at a collector on loopback:
// - a real bug reaches Sentry: the test's database lost a table (freeze_windows, dropped after the
//   migrations, as a broken migration or a bad restore would), so `freezeWindows` fails inside D1;
//   the envelope carries the error and the request id, never the token, the cookie, the body or
//   the query string; a caller's mistake (an unauthenticated request) is not reported;
// - a GraphQL mutation leaves one trace: the request's span, the operation's span (its name as an
//   attribute) and the D1 batch that committed it below it, exported as OTLP/HTTP JSON;
// - each step of a workflow execution (Cloudflare Workflows) is a span of the execution's trace,
//   and its HTTP call reaches the third party without traceparent, sentry-trace or baggage.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { graphqlOk } from './graphqlOk.mjs';

const SECRET = 'observability-test-secret-0123456789abcdef';
const COOKIE = 'session=cookie-marker-5e1f';
const BODY_MARKER = 'body-marker-7c2a';
const QUERY_MARKER = 'query-marker-91bd';
const OTLP_TOKEN = 'otlp-collector-token-4d8e';

/** A collector on loopback: keeps every POST (path, headers, body) and wakes whoever waits. */
function startCollector() {
  const received = [];
  let waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      for (const w of waiters) w();
      waiters = [];
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  /** Resolves with the first received request `pick` accepts, or rejects after `ms`. */
  const waitFor = async (pick, ms = 20_000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = received.find(pick);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`nothing arrived; got ${received.map((r) => r.path).join(', ')}`);
      await new Promise((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, Math.min(left, 250));
      });
    }
  };
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve({ server, received, waitFor, port: server.address().port }));
  });
}

/** The items of a Sentry envelope (newline-separated JSON: a header, then item header and payload pairs). */
function envelopeItems(body) {
  const lines = body.split('\n').filter(Boolean);
  const items = [];
  for (let i = 1; i + 1 < lines.length; i += 2) {
    items.push({ type: JSON.parse(lines[i]).type, payload: JSON.parse(lines[i + 1]) });
  }
  return items;
}

const isEventEnvelope = (r) => r.path.startsWith('/api/42/envelope/') && /"type":"event"/.test(r.body);

/** Every span of the OTLP/HTTP JSON exports received so far, with attributes as a plain object. */
function exportedSpans(received) {
  const spans = [];
  for (const r of received.filter((x) => x.path === '/v1/traces')) {
    for (const rs of JSON.parse(r.body).resourceSpans ?? []) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          const attributes = Object.fromEntries(
            (s.attributes ?? []).map((a) => [a.key, Object.values(a.value ?? {})[0]]),
          );
          spans.push({ ...s, attributes });
        }
      }
    }
  }
  return spans;
}

describe('Sentry and OpenTelemetry against a loopback collector', () => {
  let persistTo;
  let collector;
  let server;
  let token;
  let managerToken;

  before(async () => {
    persistTo = mkdtempSync(join(tmpdir(), 'changeflow-observability-'));
    collector = await startCollector();
    migrateLocal({ persistTo, quiet: true });
    execFileSync(
      'npx',
      [
        'wrangler',
        'd1',
        'execute',
        'DB',
        '--local',
        '--persist-to',
        persistTo,
        '--command',
        'DROP TABLE freeze_windows',
      ],
      { stdio: 'ignore', env: { ...process.env, WRANGLER_SEND_METRICS: 'false' } },
    );
    const collectorUrl = `http://127.0.0.1:${collector.port}`;
    server = await startLocalServer({
      persistTo,
      vars: {
        JWT_SECRET: SECRET,
        SENTRY_DSN: `http://0123456789abcdef0123456789abcdef@127.0.0.1:${collector.port}/42`,
        OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl,
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer%20${OTLP_TOKEN}`,
        OTEL_SERVICE_NAME: 'changeflow-test',
        // The workflow's HTTP step calls the collector, on loopback.
        EGRESS_ALLOW_PRIVATE: 'true',
      },
      stdio: process.env.OBSERVABILITY_VERBOSE ? 'inherit' : 'ignore',
    });
    token = await signDevToken({ secret: SECRET, sub: 'rita', tenant: 'obs', roles: ['requester'] });
    managerToken = await signDevToken({
      secret: SECRET,
      sub: 'max',
      tenant: 'obs',
      roles: ['change_manager'],
    });
  });

  after(() => {
    server?.stop();
    collector?.server.close();
    if (persistTo) rmSync(persistTo, { recursive: true, force: true });
  });

  const graphql = (body, { auth = true, query = '' } = {}) =>
    fetch(`${server.baseUrl}/graphql${query}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: COOKIE,
        ...(auth ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });

  test('a bug reaches Sentry with its request id, and nothing of the caller', async () => {
    // A caller's mistake first: answered with its code, never reported.
    const refused = await graphql({ query: '{ me { id } }' }, { auth: false });
    assert.equal(refused.status, 401);

    const res = await graphql(
      {
        query: `query Windows { freezeWindows { id } } # ${BODY_MARKER}`,
        variables: { note: BODY_MARKER },
      },
      { query: `?ticket=${QUERY_MARKER}` },
    );
    const body = await res.json();
    assert.equal(body.errors?.[0]?.extensions?.code, 'INTERNAL', JSON.stringify(body));
    const requestId = res.headers.get('x-request-id');

    const envelope = await collector.waitFor(isEventEnvelope);
    const events = envelopeItems(envelope.body).filter((i) => i.type === 'event');
    assert.equal(events.length, 1);
    const event = events[0].payload;
    assert.match(JSON.stringify(event.exception), /no such table: freeze_windows/);
    assert.equal(event.tags?.requestId, requestId);
    assert.equal(event.request?.method, 'POST');
    assert.equal(event.request?.url, `${server.baseUrl}/graphql`);
    assert.equal(event.request?.headers, undefined);
    assert.equal(event.request?.cookies, undefined);
    assert.equal(event.request?.data, undefined);
    assert.equal(event.breadcrumbs, undefined);
    for (const secret of [token, 'Bearer', 'cookie-marker', BODY_MARKER, QUERY_MARKER, SECRET]) {
      assert.ok(!envelope.body.includes(secret), `the envelope carries ${secret.slice(0, 12)}…`);
    }
    // Sentry's own authentication, the DSN's public key, is all the request carries.
    assert.match(
      String(envelope.headers['x-sentry-auth'] ?? envelope.path),
      /0123456789abcdef0123456789abcdef/,
    );

    // The refused request was not reported: one event envelope in all, for the bug.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(collector.received.filter(isEventEnvelope).length, 1);
  });

  test('a mutation leaves a trace: the request, the GraphQL operation (named), the D1 batch below it', async () => {
    const res = await graphql({
      query:
        'mutation CreateProbe($i: CreateChangeRequestInput!) { createChangeRequest(input: $i) { id status } }',
      variables: {
        i: {
          title: 'Trace probe',
          description: BODY_MARKER,
          impact: 'LOW',
          urgency: 'LOW',
          affectedServices: ['probe'],
          implementationPlan: 'Do it.',
          backoutPlan: 'Undo it.',
          testPlan: 'Check it.',
        },
      },
    });
    const body = await res.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));

    let spans = [];
    const deadline = Date.now() + 20_000;
    let operation;
    let batch;
    while (Date.now() < deadline) {
      spans = exportedSpans(collector.received);
      operation = spans.find((s) => s.attributes['graphql.operation.name'] === 'CreateProbe');
      batch = operation && spans.find((s) => s.traceId === operation.traceId && / batch$/.test(s.name));
      if (batch) break;
      await collector
        .waitFor((r) => r.path === '/v1/traces' && !collector.received.includes(r), 500)
        .catch(() => {});
    }
    assert.ok(operation, `no GraphQL span; got ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(operation.name, 'mutation CreateProbe');
    assert.equal(operation.attributes['graphql.operation.type'], 'mutation');
    assert.ok(batch, `no D1 batch span in the operation's trace; got ${spans.map((s) => s.name).join(', ')}`);

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const ancestors = (s) => {
      const chain = [];
      for (let p = byId.get(s.parentSpanId); p; p = byId.get(p.parentSpanId)) chain.push(p);
      return chain;
    };
    assert.ok(ancestors(batch).includes(operation), 'the D1 batch is inside the GraphQL operation');
    const root = ancestors(operation).at(-1);
    assert.ok(root, 'the operation has a parent: the request');
    assert.equal(root.attributes['http.request.method'], 'POST');
    assert.equal(root.attributes['url.path'], '/graphql');

    const exports = collector.received.filter((r) => r.path === '/v1/traces');
    assert.ok(exports.every((r) => r.headers.authorization === `Bearer ${OTLP_TOKEN}`));
    assert.ok(exports.every((r) => /"service.name","value":\{"stringValue":"changeflow-test"/.test(r.body)));
    for (const secret of [token, BODY_MARKER, 'cookie-marker']) {
      assert.ok(!exports.some((r) => r.body.includes(secret)), `a trace carries ${secret.slice(0, 12)}…`);
    }
  });

  test('each step of a workflow execution is a span of its trace; its HTTP call carries no trace header', async () => {
    const gql = graphqlOk(server.baseUrl, managerToken);
    const { createWorkflow } = await gql(
      'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }',
      {
        i: {
          name: 'Traced',
          steps: [
            { id: 'call', type: 'http-request', url: `http://127.0.0.1:${collector.port}/hook` },
            { id: 'shape', type: 'transform', spec: { value: 'done' } },
          ],
        },
      },
    );
    const { executeWorkflow } = await gql('mutation($w: ID!) { executeWorkflow(workflowId: $w) { id } }', {
      w: createWorkflow.id,
    });
    const executionId = executeWorkflow.id;
    let status;
    for (let i = 0; i < 200; i++) {
      status = (await gql('query($id: ID!) { execution(id: $id) { status } }', { id: executionId })).execution
        .status;
      if (status !== 'PENDING' && status !== 'RUNNING') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 'SUCCEEDED');

    const stepNames = () =>
      exportedSpans(collector.received)
        .filter((s) => s.attributes['workflow.instance_id'] === executionId)
        .map((s) => s.name);
    for (let i = 0; i < 100 && !stepNames().includes('workflow.step finish'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(stepNames(), [
      'workflow.step begin',
      'workflow.step 0:call#1',
      'workflow.step 1:shape',
      'workflow.step finish',
    ]);
    const steps = exportedSpans(collector.received).filter(
      (s) => s.attributes['workflow.instance_id'] === executionId,
    );
    assert.equal(new Set(steps.map((s) => s.traceId)).size, 1, 'one trace per execution');
    const hook = collector.received.find((r) => r.path === '/hook');
    assert.ok(hook, 'the HTTP step called the collector');
    for (const header of ['traceparent', 'tracestate', 'sentry-trace', 'baggage']) {
      assert.equal(hook.headers[header], undefined, header);
    }
  });
});
