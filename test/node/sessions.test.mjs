// WebSocket sessions on the Node runtime (the same rules as the Worker's hub, from the same
// src/http/wsSession.ts): the upgrade carries a credential (a header or a single-use ticket),
// connection_init may not switch principals, a JWT closes the socket at expiry, a revoked API key
// within 5 s, every operation counts against the caller's limit, and subscriptions per socket and
// sockets per caller are capped. A real server on a loopback port, a real `ws` client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';

const SECRET = 'node-sessions-test-secret-0123456789abcdef';
const TENANT = 'sessions';
const EVENTS = 'subscription { changeEvents { changeId } }';
const ME = '{ me { id } }';

const sign = (sub, roles, expiresIn = '1h', tenant = TENANT) =>
  new SignJWT({ tenant, roles })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(SECRET));

/** A graphql-transport-ws client over `ws`: the upgrade's answer, then messages as they come. */
function connect(base, { token, ticket, query = '' } = {}) {
  const url = new URL(`${base.replace(/^http/, 'ws')}/graphql${query}`);
  if (ticket) url.searchParams.set('ticket', ticket);
  const ws = new WebSocket(url, 'graphql-transport-ws', {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const inbox = [];
  let wake = () => {};
  let closed = null;
  const opened = new Promise((resolve) => {
    ws.on('open', () => resolve({ status: 101 }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    ws.on('error', () => resolve({ status: 0 }));
  });
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw));
    if (m.type === 'ping') return ws.send('{"type":"pong"}');
    inbox.push(m);
    wake();
  });
  ws.on('close', (code, reason) => {
    closed = { code, reason: String(reason) };
    wake();
  });
  const waitFor = async (check, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = check();
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, Math.min(left, 100));
      });
    }
  };
  const socket = {
    opened,
    send: (m) => ws.send(JSON.stringify(m)),
    async init(authorization) {
      socket.send({ type: 'connection_init', payload: authorization ? { authorization } : {} });
      return socket.next((m) => m.type === 'connection_ack');
    },
    subscribe: (id, q) => socket.send({ id, type: 'subscribe', payload: { query: q } }),
    async next(pred, timeoutMs = 5000) {
      const m = await waitFor(() => {
        const i = inbox.findIndex(pred);
        return i >= 0 ? inbox.splice(i, 1)[0] : closed ? { closedWhileWaiting: closed } : null;
      }, timeoutMs);
      if (!m || m.closedWhileWaiting) throw new Error(`no message (${JSON.stringify(m)})`);
      return m;
    },
    waitClosed: (timeoutMs = 5000) => waitFor(() => closed, timeoutMs),
    close: () => ws.close(1000),
  };
  return socket;
}

describe('WebSocket sessions on Node', () => {
  let app;
  let server;
  let base;
  const tokens = {};

  const gql = async (token, query, variables = {}) => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return { status: res.status, body: await res.json() };
  };
  const ticketFor = async (token) => {
    const res = await fetch(`${base}/graphql/ws-ticket`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    return (await res.json()).ticket;
  };

  before(async () => {
    app = openNodeApp({
      dbPath: ':memory:',
      env: {
        JWT_SECRET: SECRET,
        ENVIRONMENT: 'development',
        // Low enough that 500 operations on one socket run into it; the upgrade is one request too.
        RATE_LIMIT_PER_MINUTE: '60',
        RATE_LIMIT_BURST_PER_SECOND: '1000',
      },
    });
    server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
    base = server.url;
    tokens.admin = await sign('root', ['admin']);
    tokens.viewer = await sign('vic', ['viewer']);
    for (let i = 0; i < 12; i++) tokens[`v${i}`] = await sign(`viewer-${i}`, ['viewer']);
  });

  after(async () => {
    await server.close();
  });

  test('refuses an upgrade without a credential (401), a replayed ticket (401), a foreign ?tenant= (403)', async () => {
    const none = await connect(base).opened;
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.body).errors[0].extensions.code, 'UNAUTHENTICATED');

    const ticket = await ticketFor(tokens.v0);
    const first = connect(base, { ticket });
    assert.equal((await first.opened).status, 101);
    await first.init(null);
    first.subscribe('me', ME);
    assert.deepEqual((await first.next((m) => m.id === 'me')).payload, { data: { me: { id: 'viewer-0' } } });
    first.close();
    const replayed = await connect(base, { ticket }).opened;
    assert.equal(replayed.status, 401);

    const foreign = await connect(base, { token: tokens.v0, query: '?tenant=elsewhere' }).opened;
    assert.equal(foreign.status, 403);
  });

  test('closes with 4403 when connection_init names another principal', async () => {
    const s = connect(base, { token: tokens.v1 });
    assert.equal((await s.opened).status, 101);
    s.send({ type: 'connection_init', payload: { authorization: `Bearer ${tokens.v2}` } });
    assert.equal((await s.waitClosed())?.code, 4403);
  });

  test('closes a subscription-only socket with 4401 when its JWT expires', async () => {
    const short = await sign('vic-short', ['viewer'], '2s');
    const s = connect(base, { token: short });
    await s.opened;
    await s.init(`Bearer ${short}`);
    s.subscribe('e', EVENTS);
    const closed = await s.waitClosed(5000);
    assert.equal(closed?.code, 4401);
    assert.match(closed.reason, /expired/);
  });

  test('ends an SSE stream at its JWT’s expiry with a last UNAUTHENTICATED event', async () => {
    const short = await sign('vic-sse', ['viewer'], '2s');
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${short}`,
        'content-type': 'application/json',
        accept: 'text/event-stream',
      },
      body: JSON.stringify({ query: EVENTS }),
      signal: AbortSignal.timeout(6000),
    });
    assert.equal(res.status, 200);
    // The whole stream: it must end by itself, well before the abort at 6 s.
    const text = await res.text();
    assert.match(text, /"code":"UNAUTHENTICATED"/);
    assert.match(text, /event: complete/);
  });

  test('a revoked API key: the next write never runs, a subscription-only socket ends within 5 s', async () => {
    const created = await gql(
      tokens.admin,
      'mutation { createApiKey(name: "socket", roles: [requester]) { secret apiKey { id } } }',
    );
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const { secret, apiKey } = created.body.data.createApiKey;
    const writer = connect(base, { token: secret });
    await writer.opened;
    await writer.init(null);
    const watcher = connect(base, { token: secret });
    await watcher.opened;
    await watcher.init(null);
    watcher.subscribe('e', EVENTS);
    await new Promise((r) => setTimeout(r, 100));

    await gql(tokens.admin, 'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id: apiKey.id });
    const revokedAt = Date.now();
    writer.send({
      id: 'w',
      type: 'subscribe',
      payload: {
        query: `mutation { createChangeRequest(input: { title: "after revocation", description: "must not exist",
          type: NORMAL, impact: LOW, urgency: LOW, affectedServices: ["x"] }) { id } }`,
      },
    });
    assert.equal((await writer.waitClosed(3000))?.code, 4401);
    const count = await gql(tokens.admin, '{ changes { totalCount } }');
    assert.equal(count.body.data.changes.totalCount, 0);

    const closed = await watcher.waitClosed(6000);
    assert.equal(closed?.code, 4401);
    assert.ok(Date.now() - revokedAt <= 5500, `closed ${Date.now() - revokedAt} ms after revocation`);
  });

  test('500 operations on one socket: the caller’s limit applies to each, the socket stays open', async () => {
    const s = connect(base, { token: tokens.v3 });
    await s.opened;
    await s.init(null);
    for (let i = 0; i < 500; i++) s.subscribe(`q${i}`, ME);
    const answers = [];
    for (let i = 0; i < 500; i++)
      answers.push(await s.next((m) => m.id === `q${i}` && m.type !== 'complete'));
    const ran = answers.filter((m) => m.type === 'next').length;
    const limited = answers.filter(
      (m) => m.type === 'error' && m.payload[0].extensions.code === 'RATE_LIMITED',
    );
    // 60 per minute, the upgrade request being the first.
    assert.equal(ran, 59);
    assert.equal(limited.length, 441);
    assert.ok(limited[0].payload[0].extensions.retryAfterSeconds > 0);
    // The same caller over HTTP is refused too: one budget.
    assert.equal((await gql(tokens.v3, ME)).status, 429);
    assert.equal(await s.waitClosed(200), null);
    s.close();
  });

  test('the 21st subscription on a socket gets TOO_MANY_SUBSCRIPTIONS; the 11th socket of a caller gets 429', async () => {
    const s = connect(base, { token: tokens.v4 });
    await s.opened;
    await s.init(null);
    for (let i = 1; i <= 21; i++) s.subscribe(`s${i}`, EVENTS);
    const refused = await s.next((m) => m.id === 's21');
    assert.equal(refused.type, 'error');
    assert.equal(refused.payload[0].extensions.code, 'TOO_MANY_SUBSCRIPTIONS');

    const sockets = [s];
    for (let i = 1; i < 10; i++) {
      const extra = connect(base, { token: tokens.v4 });
      assert.equal((await extra.opened).status, 101);
      sockets.push(extra);
    }
    const eleventh = await connect(base, { token: tokens.v4 }).opened;
    assert.equal(eleventh.status, 429);
    assert.equal(JSON.parse(eleventh.body).errors[0].extensions.code, 'TOO_MANY_CONNECTIONS');
    sockets[0].close();
    await sockets[0].waitClosed();
    await new Promise((r) => setTimeout(r, 100));
    const freed = connect(base, { token: tokens.v4 });
    assert.equal((await freed.opened).status, 101);
    for (const x of [...sockets, freed]) x.close();
  });
});
