// Outgoing webhooks on the Node runtime (docs/webhooks.md): real loopback HTTP receivers verify
// every delivery with the `standardwebhooks` package, not with our own signing code. The Node
// runtime's outbox timer sends and retries them. The second test runs the receiver example of
// docs/webhooks.md itself, as a child process.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { guardedFetch, guardedLookup } from '../../src/runtime/node/guardedFetch.ts';
import { createNodeApp } from '../../src/runtime/node/runtime.ts';
import { applyMigrations, openSqliteD1 } from '../../src/runtime/node/sqlite.ts';
import { fencedBlocks } from './docBlocks.mjs';
import { graphqlOk, inProcess } from './graphqlOk.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECRET = 'node-webhooks-test-secret-0123456789abcdef';
const TENANT = 'hooks';

const sign = (sub, roles) =>
  new SignJWT({ tenant: TENANT, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

const db = openSqliteD1(':memory:');
applyMigrations(db);
const app = createNodeApp({
  db,
  env: {
    JWT_SECRET: SECRET,
    ENVIRONMENT: 'development',
    SECRETS_KEY: 'dGVzdC1zZWNyZXRzLWtleS1jdXJyZW50LTAxMjM0NTY=',
    // The receivers listen on loopback: exactly this host is excepted from the egress refusals.
    EGRESS_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
  },
});
const servers = [];
const children = [];
after(async () => {
  for (const child of children) child.kill();
  for (const server of servers) server.close();
  await app.close();
  db.close();
});

const gql = (token, query, variables = {}) =>
  graphqlOk('http://127.0.0.1', token, inProcess(app))(query, variables);

const CREATE_ENDPOINT = `mutation($url: String!, $events: [String!]!) {
  createWebhookEndpoint(url: $url, events: $events) { secret endpoint { id } } }`;
const CREATE_CHANGE = `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }`;
const SUBMIT = `mutation($id: ID!) { submitChange(id: $id) { id status } }`;
const changeInput = {
  title: 'Rotate the TLS certificates',
  description: 'Yearly rotation.',
  type: 'NORMAL',
  impact: 'LOW',
  urgency: 'LOW',
  affectedServices: ['edge'],
  implementationPlan: 'Deploy the new bundle.',
  backoutPlan: 'Deploy the old bundle.',
  testPlan: 'Check the expiry date.',
};

/** A loopback receiver: `answer(n)` is the status of the n-th request (1-based). */
async function receiver(answer) {
  const requests = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      requests.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(answer(requests.length)).end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { url: `http://127.0.0.1:${server.address().port}/hook`, requests };
}

async function until(check, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('deliveries verify with standardwebhooks, are retried after a 500 with the same webhook-id, and keep their order', async () => {
  const admin = await sign('root', ['admin']);
  const requester = await sign('rita', ['requester']);
  // The first request fails: the created event is retried, and the submitted one waits behind it.
  const hook = await receiver((n) => (n === 1 ? 500 : 200));
  const { createWebhookEndpoint } = await gql(admin, CREATE_ENDPOINT, {
    url: hook.url,
    events: ['change.created', 'change.submitted'],
  });
  const wh = new Webhook(createWebhookEndpoint.secret);
  const { createChangeRequest: change } = await gql(requester, CREATE_CHANGE, { input: changeInput });
  await until(() => hook.requests.length >= 1);
  await gql(requester, SUBMIT, { id: change.id });
  await until(() => hook.requests.length >= 3);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(hook.requests.length, 3, 'each event succeeds once; nothing more is sent');
  const events = hook.requests.map((r) => ({
    id: r.headers['webhook-id'],
    event: wh.verify(r.body, r.headers),
  }));
  assert.deepEqual(
    events.map((e) => e.event.type),
    ['change.created', 'change.created', 'change.submitted'],
  );
  assert.equal(events[0].id, events[1].id, 'a retry keeps its webhook-id');
  assert.notEqual(events[1].id, events[2].id);
  assert.equal(events[2].event.data.change.id, change.id);
  assert.equal(events[2].event.data.change.status, 'PENDING_APPROVAL');
  // A receiver with another secret refuses them.
  const other = new Webhook(`whsec_${Buffer.alloc(32, 7).toString('base64')}`);
  assert.throws(() => other.verify(hook.requests[2].body, hook.requests[2].headers));
});

test('the receiver example of docs/webhooks.md verifies and handles a delivery', async () => {
  const block = fencedBlocks(readFileSync(`${ROOT}/docs/webhooks.md`, 'utf8')).find(
    (b) => b.lang === 'js' && b.attrs['not-run'] === 'run-by-test/node/webhookReceiver.test.mjs',
  );
  assert.ok(block, 'docs/webhooks.md has the receiver example');
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const admin = await sign('root', ['admin']);
  const requester = await sign('rita', ['requester']);
  const { createWebhookEndpoint } = await gql(admin, CREATE_ENDPOINT, {
    url: `http://127.0.0.1:${port}/`,
    events: ['change.created'],
  });
  const child = spawn(process.execPath, ['--input-type=module', '-e', block.code], {
    cwd: ROOT,
    env: { ...process.env, WEBHOOK_SECRET: createWebhookEndpoint.secret, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  await until(() => out.includes('listening on'));
  const { createChangeRequest: change } = await gql(requester, CREATE_CHANGE, { input: changeInput });
  const line = await until(() => out.split('\n').find((l) => l.includes(change.id)));
  const handled = JSON.parse(line);
  assert.equal(handled.type, 'change.created');
  assert.match(handled.id, /^msg_/);
  // A forged delivery (no valid signature) is refused by the example.
  const forged = await fetch(`http://127.0.0.1:${port}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': 'msg_forged',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    },
    body: JSON.stringify({ type: 'change.created', timestamp: new Date().toISOString(), data: {} }),
  });
  assert.equal(forged.status, 400);
});

test('a receiver name that resolves to a private address is refused when the connection is made (DNS rebinding)', async () => {
  const hook = await receiver(() => 200);
  const port = new URL(hook.url).port;
  // A public-looking name that a resolver points at loopback (a rebinding attacker's DNS).
  const rebinding = (_host, cb) => cb(null, [{ address: '127.0.0.1', family: 4 }]);
  const strict = guardedFetch({ allowPrivate: false, allowPrivateHosts: [] }, rebinding);
  await assert.rejects(
    strict(`http://hooks.example.com:${port}/hook`, { method: 'POST', body: '{}' }),
    (e) => e.code === 'EGRESS_DENIED' && /127\.0\.0\.1: loopback/.test(e.message),
  );
  for (const address of ['10.1.2.3', '169.254.169.254', '::1', 'fd00:ec2::254']) {
    const lookup = guardedLookup({ allowPrivate: false, allowPrivateHosts: [] }, (_h, cb) =>
      cb(null, [{ address, family: address.includes(':') ? 6 : 4 }]),
    );
    const err = await new Promise((resolve) => lookup('hooks.example.com', {}, (e) => resolve(e)));
    assert.equal(err?.code, 'EGRESS_DENIED', address);
  }
  assert.equal(hook.requests.length, 0, 'nothing reached the receiver');
  // The deployment's exception (EGRESS_ALLOW_PRIVATE_HOSTS) lets exactly that address through.
  const excepted = guardedFetch({ allowPrivate: false, allowPrivateHosts: ['127.0.0.1'] }, rebinding);
  const res = await excepted(`http://hooks.example.com:${port}/hook`, { method: 'POST', body: '{"a":1}' });
  assert.equal(res.status, 200);
  assert.equal(hook.requests.length, 1);
  assert.equal(hook.requests[0].body, '{"a":1}');
});

test("a workflow step's name that resolves to a private address fails EGRESS_DENIED, not a network error to retry", async () => {
  const { callHttp } = await import('../../src/engine/httpCall.ts');
  const { httpRequestStepSchema } = await import('../../src/domain/workflowSteps.ts');
  const hook = await receiver(() => 200);
  const port = new URL(hook.url).port;
  const rebinding = (_host, cb) => cb(null, [{ address: '10.0.0.5', family: 4 }]);
  const step = httpRequestStepSchema.parse({
    id: 's',
    type: 'http-request',
    url: `http://api.example.com:${port}/x`,
  });
  const result = await callHttp(
    step,
    { inputs: {}, steps: {} },
    {
      fetch: guardedFetch({ allowPrivate: false, allowPrivateHosts: [] }, rebinding),
      egress: { allowPrivate: false, allowPrivateHosts: [], allowedHosts: [] },
    },
  );
  assert.equal(result.ok, false);
  assert.equal(result.error.code, 'EGRESS_DENIED');
  assert.equal(result.error.retryable, false);
  assert.match(result.error.message, /10\.0\.0\.5: private/);
  assert.equal(hook.requests.length, 0);
});
