import { env, listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { createGraphQLServer } from '../../src/http/graphqlServer';
import type { TenantHub } from '../../src/runtime/worker/tenantHub';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import { CREATE, cast, changeInput } from '../helpers/changes';
import { gql, gqlOk } from '../helpers/graphql';
import { openSocket, sseEvents, type WsMessage, wsTicket } from '../helpers/live';

// WebSocket and SSE sessions as an attacker would try them: no credential, a replayed ticket,
// another principal in connection_init, a credential that expires or is revoked while the socket
// lives, and more sockets or subscriptions than a caller may hold.

const EVENTS = `subscription { changeEvents { changeId action } }`;
const ME = '{ me { id } }';

type Errors = { message: string; extensions?: Record<string, unknown> }[];
const errorsOf = (m: WsMessage) => m.payload as Errors;
const hub = (tenant: string) => env.HUB.get(env.HUB.idFromName(tenant));

async function hubExists(tenant: string) {
  const wanted = env.HUB.idFromName(tenant).toString();
  return (await listDurableObjectIds(env.HUB)).some((id) => id.toString() === wanted);
}

async function apiKey(admin: string, roles: string[] = ['requester']) {
  const created = await gqlOk<{ createApiKey: { secret: string; apiKey: { id: string } } }>(
    'mutation($r: [Role!]!) { createApiKey(name: "socket", roles: $r) { secret apiKey { id } } }',
    { r: roles },
    admin,
  );
  return created.createApiKey;
}

const revoke = (admin: string, id: string) =>
  gqlOk('mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }', { id }, admin);

const changeCount = async (tok: string) =>
  (await gqlOk<{ changes: { totalCount: number } }>('{ changes { totalCount } }', {}, tok)).changes
    .totalCount;

describe('the WebSocket upgrade carries a credential', () => {
  it('refuses an upgrade without one with 401, and no hub is created for the named tenant', async () => {
    const tenant = `never-seen-${crypto.randomUUID()}`;
    const { response, socket } = await openSocket(tenant);
    expect(socket).toBeNull();
    expect(response.status).toBe(401);
    const body = (await response.json()) as { errors: Errors };
    expect(body.errors[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A bad token, or a made-up ticket: the same, still before any hub.
    expect((await openSocket(tenant, { token: 'not-a-jwt' })).response.status).toBe(401);
    expect((await openSocket(tenant, { ticket: 'cft_made-up' })).response.status).toBe(401);
    expect(await hubExists(tenant)).toBe(false);
    // The check itself can see a hub: one a caller opened a socket to is listed.
    const c = await cast(`seen-${crypto.randomUUID()}`);
    const opened = (await openSocket(c.tenant, { token: c.viewer })).socket!;
    expect(await hubExists(c.tenant)).toBe(true);
    opened.close();
  });

  it('refuses an upgrade that does not offer graphql-transport-ws with 400 BAD_REQUEST, as GraphQL', async () => {
    const tok = await token({ tenant: 'ws-subprotocol', roles: ['viewer'] });
    const res = await exports.default.fetch('http://cf.test/graphql', {
      headers: {
        upgrade: 'websocket',
        'sec-websocket-protocol': 'graphql-ws',
        authorization: `Bearer ${tok}`,
      },
    });
    expect(res.webSocket).toBeNull();
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      errors: [{ message: 'Use the graphql-transport-ws subprotocol', extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  it('takes the tenant from the credential; a different ?tenant= is 403', async () => {
    const c = await cast('ws-tenant-from-token');
    const other = await openSocket('someone-else', { token: c.viewer });
    expect(other.response.status).toBe(403);
    expect(await hubExists('someone-else')).toBe(false);
    // No ?tenant= at all: the credential's tenant.
    const { socket } = await openSocket(null, { token: c.viewer });
    await socket!.init(null);
    socket!.subscribe('me', ME);
    const me = await socket!.next((m) => m.id === 'me' && m.type === 'next');
    expect(me.payload).toEqual({ data: { me: { id: 'vic' } } });
    socket!.close();
  });

  it('opens a browser socket with a single-use ticket, and refuses it replayed', async () => {
    const c = await cast('ws-ticket');
    const res = await exports.default.fetch('http://cf.test/graphql/ws-ticket', {
      method: 'POST',
      headers: { authorization: `Bearer ${c.viewer}` },
    });
    expect(res.status).toBe(200);
    const issued = (await res.json()) as { ticket: string; expiresAt: string };
    expect(Date.parse(issued.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);

    const first = await openSocket(null, { ticket: issued.ticket });
    expect(first.response.status).toBe(101);
    await first.socket!.init(null);
    first.socket!.subscribe('me', ME);
    expect((await first.socket!.next((m) => m.id === 'me')).payload).toEqual({ data: { me: { id: 'vic' } } });

    const replayed = await openSocket(null, { ticket: issued.ticket });
    expect(replayed.response.status).toBe(401);
    expect(JSON.stringify(await replayed.response.json())).toContain('already used');
    first.socket!.close();

    // Only for a caller: no ticket without a credential, and only by POST.
    const anonymous = await exports.default.fetch('http://cf.test/graphql/ws-ticket', { method: 'POST' });
    expect(anonymous.status).toBe(401);
    const byGet = await exports.default.fetch('http://cf.test/graphql/ws-ticket', {
      headers: { authorization: `Bearer ${c.viewer}` },
    });
    expect(byGet.status).toBe(405);
  });

  it('keeps no ticket in clear: the table holds only hashes', async () => {
    const c = await cast('ws-ticket-hash');
    const ticket = await wsTicket(c.viewer);
    const rows = await env.DB.prepare('SELECT * FROM ws_tickets WHERE tenant_id = ?1')
      .bind('ws-ticket-hash')
      .all();
    expect(rows.results).toHaveLength(1);
    expect(JSON.stringify(rows.results)).not.toContain(ticket);
  });
});

describe('a socket lives no longer than its credential', () => {
  it('closes a subscription-only socket with 4401 when its JWT expires (a timer)', async () => {
    const short = await token({ sub: 'vic', tenant: 'ws-jwt-expiry', roles: ['viewer'], expiresIn: '2s' });
    const { socket } = await openSocket(null, { token: short });
    await socket!.init(short);
    socket!.subscribe('e', EVENTS);
    await expect.poll(async () => (await hub('ws-jwt-expiry').ping()).subscribers).toBe(1);
    const closed = await socket!.waitClosed(5000);
    expect(closed?.code).toBe(4401);
    expect(closed?.reason).toMatch(/expired/);
    await expect.poll(async () => (await hub('ws-jwt-expiry').ping()).subscribers).toBe(0);
  });

  it('never runs a query or mutation after the API key was revoked, and ends its subscriptions within 5 s', async () => {
    const c = await cast('ws-key-revoked');
    const key = await apiKey(c.admin);
    const writer = (await openSocket(null, { token: key.secret })).socket!;
    await writer.init(null);
    const watcher = (await openSocket(null, { token: key.secret })).socket!;
    await watcher.init(null);
    watcher.subscribe('e', EVENTS);
    await expect.poll(async () => (await hub('ws-key-revoked').ping()).subscribers).toBe(1);

    await revoke(c.admin, key.apiKey.id);
    const revokedAt = Date.now();
    // At once: the next operation re-checks the key, is refused and closes the socket.
    writer.subscribe('create', CREATE, { input: changeInput({ title: 'after revocation' }) });
    const closed = await writer.waitClosed(3000);
    expect(closed?.code).toBe(4401);
    expect(closed?.reason).toMatch(/revoked/);
    expect(await changeCount(c.admin)).toBe(0);
    // HTTP agrees.
    expect((await gql(ME, {}, { token: key.secret })).status).toBe(401);

    // The socket whose only traffic is its subscription is closed by the periodic look-up.
    const watcherClosed = await watcher.waitClosed(6000);
    expect(watcherClosed?.code).toBe(4401);
    expect(Date.now() - revokedAt).toBeLessThanOrEqual(5_500);
    await expect.poll(async () => (await hub('ws-key-revoked').ping()).subscribers).toBe(0);
  });

  it('ends an SSE stream when its JWT expires', async () => {
    const short = await token({ sub: 'vic', tenant: 'sse-jwt-expiry', roles: ['viewer'], expiresIn: '2s' });
    const res = await exports.default.fetch('http://cf.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        authorization: `Bearer ${short}`,
      },
      body: JSON.stringify({ query: EVENTS }),
    });
    expect(res.status).toBe(200);
    const events = sseEvents(res);
    const last = (await events.next(5000)) as { errors?: Errors };
    expect(last.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await expect(events.next(2000)).rejects.toThrow(/ended/);
    await expect.poll(async () => (await hub('sse-jwt-expiry').ping()).subscribers).toBe(0);
  });

  it('ends an SSE stream within 5 s of its API key being revoked', async () => {
    const c = await cast('sse-key-revoked');
    const key = await apiKey(c.admin, ['viewer']);
    const res = await exports.default.fetch('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'x-api-key': key.secret },
      body: JSON.stringify({ query: EVENTS }),
    });
    expect(res.status).toBe(200);
    await expect.poll(async () => (await hub('sse-key-revoked').ping()).subscribers).toBe(1);
    await revoke(c.admin, key.apiKey.id);
    const events = sseEvents(res);
    const last = (await events.next(6000)) as { errors?: Errors };
    expect(last.errors?.[0]?.message).toMatch(/revoked/);
    await expect.poll(async () => (await hub('sse-key-revoked').ping()).subscribers).toBe(0);
  });
});

/** Gives a tenant's hub its own configuration (as a deployment with these variables would have). */
async function configureHub(tenant: string, vars: Record<string, string>) {
  const config = parseConfig({ ...env, ...vars });
  await runInDurableObject(hub(tenant), (instance: TenantHub) => {
    (instance as unknown as { built: unknown }).built = { config, yoga: createGraphQLServer(schema, config) };
  });
}

describe('limits per socket and per caller', () => {
  it('counts each operation on a socket against the caller’s limit: 500 operations, 49 run after the upgrade, the socket stays open', async () => {
    const c = await cast('ws-rate-limit');
    await configureHub('ws-rate-limit', {
      RATE_LIMIT_PER_MINUTE: '50',
      RATE_LIMIT_BURST_PER_SECOND: '1000',
    });
    const { socket } = await openSocket(null, { token: c.viewer });
    await socket!.init(null);
    for (let i = 0; i < 500; i++) socket!.subscribe(`q${i}`, ME);
    const answers: WsMessage[] = [];
    for (let i = 0; i < 500; i++) {
      answers.push(await socket!.next((m) => m.id === `q${i}` && m.type !== 'complete', 20_000));
    }
    const ran = answers.filter((m) => m.type === 'next');
    const limited = answers.filter(
      (m) => m.type === 'error' && errorsOf(m)[0]?.extensions?.code === 'RATE_LIMITED',
    );
    // The same window as HTTP: the upgrade request itself was the first of the 50.
    expect(ran).toHaveLength(49);
    expect(limited).toHaveLength(451);
    expect(Number(errorsOf(limited[0]!)[0]?.extensions?.retryAfterSeconds)).toBeGreaterThan(0);
    // Still open: the next operation is answered (refused, the minute is not over).
    socket!.subscribe('after', ME);
    expect(errorsOf(await socket!.next((m) => m.id === 'after'))[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(await socket!.waitClosed(200)).toBeNull();
    socket!.close();
  });

  it('refuses the 21st subscription on one socket with TOO_MANY_SUBSCRIPTIONS, and the socket stays open', async () => {
    const c = await cast('ws-sub-cap');
    const { socket } = await openSocket(null, { token: c.viewer });
    await socket!.init(null);
    for (let i = 1; i <= 20; i++) socket!.subscribe(`s${i}`, EVENTS);
    await expect.poll(async () => (await hub('ws-sub-cap').ping()).subscribers).toBe(20);
    socket!.subscribe('s21', EVENTS);
    const refused = await socket!.next((m) => m.id === 's21');
    expect(refused.type).toBe('error');
    expect(errorsOf(refused)[0]?.extensions).toMatchObject({ code: 'TOO_MANY_SUBSCRIPTIONS', limit: 20 });
    // Completing one makes room; queries are not subscriptions and always fit.
    socket!.send({ id: 's1', type: 'complete' });
    await expect.poll(async () => (await hub('ws-sub-cap').ping()).subscribers).toBe(19);
    socket!.subscribe('s22', EVENTS);
    await expect.poll(async () => (await hub('ws-sub-cap').ping()).subscribers).toBe(20);
    socket!.subscribe('me', ME);
    expect((await socket!.next((m) => m.id === 'me')).type).toBe('next');
    socket!.close();
  });

  it('answers the 11th socket of one caller with 429 TOO_MANY_CONNECTIONS', async () => {
    const c = await cast('ws-socket-cap');
    const sockets = [];
    for (let i = 0; i < 10; i++) {
      const { response, socket } = await openSocket(null, { token: c.viewer });
      expect(response.status).toBe(101);
      sockets.push(socket!);
    }
    const eleventh = await openSocket(null, { token: c.viewer });
    expect(eleventh.response.status).toBe(429);
    const body = (await eleventh.response.json()) as { errors: Errors };
    expect(body.errors[0]?.extensions?.code).toBe('TOO_MANY_CONNECTIONS');
    // Another caller of the tenant is not affected, and a closed socket frees its place.
    expect((await openSocket(null, { token: c.requester })).response.status).toBe(101);
    sockets[0]!.close();
    await expect
      .poll(async () => (await openSocket(null, { token: c.viewer })).response.status, { timeout: 3000 })
      .toBe(101);
    for (const s of sockets) s.close();
  });
});
