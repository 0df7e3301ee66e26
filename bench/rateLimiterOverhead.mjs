// Added latency of the rate limiter (a Durable Object per caller) under `wrangler dev`: the same
// GraphQL read against two local instances, limiter on and limiter off, alternating rounds in one
// run. Loopback only; bounded in count.
//
//   node bench/rateLimiterOverhead.mjs [--rounds 5] [--requests 300] [--concurrency 1]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateLocal, startLocalServer } from '../scripts/localServer.mjs';
import { signDevToken } from '../src/runtime/node/devVars.mjs';
import { sideBySide } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '1' },
  },
});
const SECRET = 'bench-secret-0123456789abcdef0123456789abcd';
// High limits: we measure the cost of asking the limiter, not of being refused.
const LIMITS = {
  RATE_LIMIT_PER_MINUTE: '10000000',
  RATE_LIMIT_BURST_PER_SECOND: '1000000',
  RATE_LIMIT_PER_IP_PER_MINUTE: '10000000',
};

const dirs = [mkdtempSync(join(tmpdir(), 'cf-rl-on-')), mkdtempSync(join(tmpdir(), 'cf-rl-off-'))];
/** @type {Awaited<ReturnType<typeof startLocalServer>>[]} */
const servers = [];
try {
  for (const d of dirs) migrateLocal({ persistTo: d, quiet: true });
  servers.push(await startLocalServer({ persistTo: dirs[0], vars: { JWT_SECRET: SECRET, ...LIMITS } }));
  servers.push(
    await startLocalServer({
      persistTo: dirs[1],
      vars: { JWT_SECRET: SECRET, ...LIMITS, RATE_LIMIT_ENABLED: 'false' },
    }),
  );
  const token = await signDevToken({ secret: SECRET, sub: 'bench', tenant: 'bench', roles: ['viewer'] });
  const send = (/** @type {Awaited<ReturnType<typeof startLocalServer>>} */ server) => async () => {
    const res = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"query":"{ me { id tenantId roles } }"}',
    });
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    const limited = res.headers.has('x-ratelimit-limit');
    if (limited !== (server === servers[0]))
      throw new Error('limiter state is not what this instance should have');
    await res.arrayBuffer();
  };
  const [on, off] = servers;
  if (!on || !off) throw new Error('two servers were to start');
  const r = await sideBySide(
    { limiterOn: send(on), limiterOff: send(off) },
    {
      rounds: Number(values.rounds),
      requests: Number(values.requests),
      concurrency: Number(values.concurrency),
    },
  );
  const fmt = (/** @type {number} */ x) => x.toFixed(2).padStart(7);
  console.log(
    `wrangler dev, ${values.rounds} rounds × ${values.requests} requests, ${values.concurrency} in flight`,
  );
  console.log('                 p50 ms   p99 ms   req/s');
  for (const [name, v] of Object.entries(r)) {
    console.log(`  ${name.padEnd(12)} ${fmt(v.p50)}  ${fmt(v.p99)}  ${v.rate.toFixed(0).padStart(6)}`);
  }
  console.log(
    `  added by the limiter: p50 ${(r.limiterOn.p50 - r.limiterOff.p50).toFixed(2)} ms, p99 ${(r.limiterOn.p99 - r.limiterOff.p99).toFixed(2)} ms`,
  );
} finally {
  for (const s of servers) s.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}
