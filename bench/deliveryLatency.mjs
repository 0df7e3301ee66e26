// Delivery latency of live updates under `wrangler dev`: N WebSocket subscribers (graphql-ws
// protocol) on one tenant's hub; after each mutation's HTTP response, how long until the change
// event reaches each subscriber. Reports p50/p99 per N. Loopback only; bounded.
//
//   node bench/deliveryLatency.mjs [--sizes 1,100,1000] [--mutations 10]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { migrateLocal, startLocalServer } from '../scripts/localServer.mjs';
import { signDevToken } from '../src/runtime/node/devVars.mjs';
import { percentile } from './lib.mjs';

const { values } = parseArgs({
  options: { sizes: { type: 'string', default: '1,100,1000' }, mutations: { type: 'string', default: '10' } },
});
const SECRET = 'bench-secret-0123456789abcdef0123456789abcd';
const TENANT = 'bench-live';
// Every subscriber is the same caller: it may hold as many sockets as the bench opens.
const LIMITS = {
  WS_MAX_SOCKETS_PER_CALLER: '1000000',
  RATE_LIMIT_PER_MINUTE: '10000000',
  RATE_LIMIT_BURST_PER_SECOND: '1000000',
  RATE_LIMIT_PER_IP_PER_MINUTE: '10000000',
  RATE_LIMIT_TIERS: JSON.stringify({ anonymous: { perMinute: 1000000, burstPerSecond: 100000 } }),
};

/**
 * A graphql-transport-ws subscriber to changeEvents; `onEvent(changeId, arrival time)`.
 * @param {string} baseUrl
 * @param {string} token
 * @param {(changeId: string, at: number) => void} onEvent
 * @returns {Promise<WebSocket>}
 */
function subscriber(baseUrl, token, onEvent) {
  return new Promise((resolve, reject) => {
    // The upgrade carries the credential (an unauthenticated one is refused with 401).
    const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/graphql`, 'graphql-transport-ws', {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.on('error', reject);
    ws.on('open', () =>
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${token}` } })),
    );
    ws.on('message', (raw) => {
      const m = /** @type {{ type: string, payload?: { data: { changeEvents: { changeId: string } } } }} */ (
        JSON.parse(String(raw))
      );
      if (m.type === 'ping') ws.send('{"type":"pong"}');
      else if (m.type === 'connection_ack') {
        ws.send(
          JSON.stringify({
            id: '1',
            type: 'subscribe',
            payload: { query: 'subscription { changeEvents { changeId } }' },
          }),
        );
        // graphql-ws sends nothing on subscribe; give the hub a moment to register it.
        setTimeout(() => resolve(ws), 50);
      } else if (m.type === 'next' && m.payload)
        onEvent(m.payload.data.changeEvents.changeId, performance.now());
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'cf-live-'));
/** @type {Awaited<ReturnType<typeof startLocalServer>> | undefined} */
let server;
try {
  migrateLocal({ persistTo: dir, quiet: true });
  server = await startLocalServer({ persistTo: dir, vars: { JWT_SECRET: SECRET, ...LIMITS } });
  const { baseUrl } = server;
  const token = await signDevToken({ secret: SECRET, sub: 'bench', tenant: TENANT, roles: ['requester'] });
  const create = async () => {
    const res = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation($i: CreateChangeRequestInput!) { createChangeRequest(input: $i) { id } }',
        variables: {
          i: {
            title: 'Live bench',
            description: 'd',
            impact: 'LOW',
            urgency: 'LOW',
            affectedServices: ['x'],
          },
        },
      }),
    });
    const body = /** @type {{ data: { createChangeRequest: { id: string } } }} */ (await res.json());
    return { id: body.data.createChangeRequest.id, at: performance.now() };
  };
  console.log('wrangler dev, delivery of a change event after the mutation response (ms)');
  console.log('  subscribers   p50      p99      max      delivered');
  for (const n of values.sizes.split(',').map(Number)) {
    /** @type {Map<string, number[]>} */
    const arrivals = new Map();
    /** @type {WebSocket[]} */
    const sockets = [];
    for (let i = 0; i < n; i += 50) {
      const batch = Array.from({ length: Math.min(50, n - i) }, () =>
        subscriber(baseUrl, token, (id, at) => {
          const list = arrivals.get(id) ?? [];
          list.push(at);
          arrivals.set(id, list);
        }),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    /** @type {number[]} */
    const latencies = [];
    let delivered = 0;
    for (let k = 0; k < Number(values.mutations); k++) {
      const { id, at } = await create();
      const deadline = Date.now() + 10_000;
      while ((arrivals.get(id)?.length ?? 0) < n && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      const got = arrivals.get(id) ?? [];
      delivered += got.length;
      // An event may arrive before the HTTP response is read: that counts as 0 ms.
      for (const t of got) latencies.push(Math.max(0, t - at));
    }
    const f = (/** @type {number} */ x) => x.toFixed(1).padStart(7);
    console.log(
      `  ${String(n).padStart(10)}  ${f(percentile(latencies, 50))}  ${f(percentile(latencies, 99))}  ${f(Math.max(...latencies))}   ${delivered}/${n * Number(values.mutations)}`,
    );
    for (const ws of sockets) ws.close();
    await new Promise((r) => setTimeout(r, 500));
  }
} finally {
  server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
