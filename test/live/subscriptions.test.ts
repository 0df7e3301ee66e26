import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import { CREATE, cast, changeInput, createChange, gqlOk, REJECT, submit } from '../helpers/changes';
import { openSocket, sseEvents } from '../helpers/live';

const METRICS = `subscription { metrics { kpis { totalChanges activeChanges pendingApprovals } system { requestsPerMinute subscriptions } generatedAt } }`;
const EVENTS = `subscription($f: ChangeEventFilter) { changeEvents(filter: $f) { changeId title action status previousStatus actorId source } }`;

type Next<T> = { type: string; id?: string; payload?: { data?: T; errors?: unknown[] } };
type MetricsData = {
  metrics: { kpis: { totalChanges: number; activeChanges: number; pendingApprovals: number } };
};
type EventData = {
  changeEvents: { changeId: string; action: string; status: string; previousStatus: string | null };
};

const hub = (tenant: string) => env.HUB.get(env.HUB.idFromName(tenant));

describe('subscriptions over WebSocket (graphql-transport-ws)', () => {
  it('sends a KPI snapshot on subscribe, and a new one after a mutation', async () => {
    const c = await cast('live-ws-metrics');
    const { socket } = await openSocket('live-ws-metrics', { token: c.viewer });
    await socket!.init(c.viewer);
    socket!.subscribe('m', METRICS);
    const first = (await socket!.next((m) => m.type === 'next')) as Next<MetricsData>;
    expect(first.payload?.data?.metrics.kpis.totalChanges).toBe(0);

    await createChange(c.requester);
    const updated = (await socket!.next(
      (m) => (m as Next<MetricsData>).payload?.data?.metrics.kpis.totalChanges === 1,
    )) as Next<MetricsData>;
    expect(updated.payload?.data?.metrics.kpis.activeChanges).toBe(1);
    socket!.close();
  });

  it('delivers change events as they happen, filtered by change and status', async () => {
    const c = await cast('live-ws-events');
    const { socket } = await openSocket('live-ws-events', { token: c.viewer });
    await socket!.init(c.viewer);
    socket!.subscribe('all', EVENTS);
    socket!.subscribe('pending', EVENTS, { f: { status: ['PENDING_APPROVAL'] } });

    const change = await createChange(c.requester);
    const created = (await socket!.next((m) => m.id === 'all')) as Next<EventData>;
    expect(created.payload?.data?.changeEvents).toMatchObject({
      changeId: change.id,
      action: 'change.created',
      status: 'DRAFT',
      previousStatus: null,
    });
    await submit(c.requester, change.id);
    const submitted = (await socket!.next((m) => m.id === 'pending')) as Next<EventData>;
    expect(submitted.payload?.data?.changeEvents).toMatchObject({
      changeId: change.id,
      status: 'PENDING_APPROVAL',
      previousStatus: 'DRAFT',
    });
    await gqlOk(REJECT, { id: change.id, reason: 'Clashes with the release' }, c.approver1);
    const rejected = (await socket!.next(
      (m) => m.id === 'all' && (m as Next<EventData>).payload?.data?.changeEvents.status === 'REJECTED',
    )) as Next<EventData>;
    expect(rejected.payload?.data?.changeEvents).toMatchObject({
      changeId: change.id,
      action: 'change.rejection_recorded',
      previousStatus: 'PENDING_APPROVAL',
    });
    socket!.close();
  });

  it('refuses a connection_init naming another principal than the upgrade (4403)', async () => {
    const c = await cast('live-ws-auth');
    const other = (await openSocket('live-ws-auth', { token: c.viewer })).socket!;
    other.send({
      type: 'connection_init',
      payload: { authorization: `Bearer ${await token({ tenant: 'someone-else', roles: ['admin'] })}` },
    });
    expect((await other.waitClosed())?.code).toBe(4403);
    // Same tenant, another person: refused as well.
    const colleague = (await openSocket('live-ws-auth', { token: c.viewer })).socket!;
    colleague.send({ type: 'connection_init', payload: { authorization: `Bearer ${c.admin}` } });
    expect((await colleague.waitClosed())?.code).toBe(4403);
  });

  it('frees a closed client’s subscriptions', async () => {
    const c = await cast('live-ws-cleanup');
    const { socket } = await openSocket('live-ws-cleanup', { token: c.viewer });
    await socket!.init(c.viewer);
    socket!.subscribe('e', EVENTS);
    await expect.poll(async () => (await hub('live-ws-cleanup').ping()).subscribers).toBe(1);
    socket!.close();
    await expect
      .poll(async () => (await hub('live-ws-cleanup').ping()).subscribers, { timeout: 3000 })
      .toBe(0);
  });

  it('drops a client that never answers pings', async () => {
    const c = await cast('live-ws-dead');
    const { socket } = await openSocket('live-ws-dead', { answerPings: false, token: c.viewer });
    await socket!.init(c.viewer);
    socket!.subscribe('e', EVENTS);
    const closed = await socket!.waitClosed(3000);
    expect(closed?.code).toBe(4408);
    await expect.poll(async () => (await hub('live-ws-dead').ping()).subscribers, { timeout: 3000 }).toBe(0);
  });

  it('a mutation sent over the socket announces its change event like one over HTTP', async () => {
    const c = await cast('live-ws-mutation');
    const watcher = (await openSocket('live-ws-mutation', { token: c.viewer })).socket!;
    await watcher.init(c.viewer);
    watcher.subscribe('e', EVENTS);
    await expect.poll(async () => (await hub('live-ws-mutation').ping()).subscribers).toBe(1);
    const writer = (await openSocket('live-ws-mutation', { token: c.requester })).socket!;
    await writer.init(c.requester);
    writer.subscribe('create', CREATE, { input: changeInput({ title: 'Sent over the socket' }) });
    const created = (await writer.next((m) => m.id === 'create' && m.type === 'next')) as Next<{
      createChangeRequest: { id: string };
    }>;
    const id = created.payload?.data?.createChangeRequest.id;
    expect(id).toMatch(/^CHG-\d{8}-[A-Z0-9]{6}$/);
    const event = (await watcher.next((m) => m.id === 'e')) as Next<EventData>;
    expect(event.payload?.data?.changeEvents).toMatchObject({ changeId: id, action: 'change.created' });
    watcher.close();
    writer.close();
  });

  it('delivers one update to 200 subscribers on one hub', async () => {
    const c = await cast('live-ws-200');
    const sockets = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        // 200 viewers: one caller may hold only WS_MAX_SOCKETS_PER_CALLER sockets.
        const viewer = await token({ sub: `viewer-${i}`, tenant: 'live-ws-200', roles: ['viewer'] });
        const { socket } = await openSocket('live-ws-200', { token: viewer });
        await socket!.init(viewer);
        socket!.subscribe('e', EVENTS);
        return socket!;
      }),
    );
    await expect.poll(async () => (await hub('live-ws-200').ping()).subscribers, { timeout: 5000 }).toBe(200);
    const change = await createChange(c.requester);
    const received = await Promise.all(
      sockets.map(async (s) => ((await s.next((m) => m.type === 'next', 10_000)) as Next<EventData>).payload),
    );
    expect(received.every((p) => p?.data?.changeEvents.changeId === change.id)).toBe(true);
    for (const s of sockets) s.close();
  }, 30_000);
});

describe('subscriptions over SSE', () => {
  async function sse(query: string, tok: string | null, variables: Record<string, unknown> = {}) {
    return exports.default.fetch('http://cf.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(tok ? { authorization: `Bearer ${tok}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
  }

  it('streams the KPI snapshot and change events', async () => {
    const c = await cast('live-sse');
    const res = await sse(METRICS, c.viewer);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const metrics = sseEvents(res);
    expect(((await metrics.next()) as { data: MetricsData }).data.metrics.kpis.totalChanges).toBe(0);

    const events = sseEvents(await sse(EVENTS, c.viewer));
    const change = await createChange(c.requester);
    expect(((await events.next()) as { data: EventData }).data.changeEvents.changeId).toBe(change.id);
    expect(((await metrics.next()) as { data: MetricsData }).data.metrics.kpis.totalChanges).toBe(1);
    await metrics.cancel();
    await events.cancel();
  });

  it('refuses a subscription without a token (401)', async () => {
    const res = await sse(METRICS, null);
    expect(res.status).toBe(401);
  });
});
