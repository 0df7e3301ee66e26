// Malformed input over real sockets against `wrangler dev` (workerd behind wrangler's proxy), the
// way an attacker or a broken client reaches the service: 3,000 seeded requests with bodies from
// 1 byte to 1 MiB, chunked bodies, junk credentials, wrong content types, malformed webhook paths
// and, with a low limit, early 429s. Every request gets a complete answer and none is a 5xx.
// Replay a failing run with FUZZ_SEED=<the printed seed>.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { fuzzSeed, runMalformedInput, send } from './malformedInput.mjs';

const SECRET = 'fuzz-test-secret-0123456789abcdef0123456789';
// Low limits, so that a good part of the run is refused early with 429 while bodies arrive.
const VARS = {
  JWT_SECRET: SECRET,
  RATE_LIMIT_PER_MINUTE: '600',
  RATE_LIMIT_BURST_PER_SECOND: '200',
  RATE_LIMIT_TIERS: JSON.stringify({ anonymous: { perMinute: 600, burstPerSecond: 200 } }),
  RATE_LIMIT_PER_IP_PER_MINUTE: '2400',
};
const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-fuzz-'));
const BUNDLE = join(import.meta.dirname, '../../dist/node/fuzz-server.mjs');
let server;
let nodeServer;

after(() => {
  server?.stop();
  nodeServer?.kill('SIGTERM');
  rmSync(persistTo, { recursive: true, force: true });
  for (const file of [BUNDLE, `${BUNDLE}.map`]) rmSync(file, { force: true });
});

/** Failures grouped by case, path, framing and outcome, for the log. */
function failureKinds(failures) {
  const kinds = {};
  for (const f of failures) {
    const k = `${f.case} ${f.path} ${f.chunked ? 'chunked' : 'length'} → ${f.status ?? f.error}`;
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  return kinds;
}

/** The run's verdict: all sent, early refusals of each kind seen, no 5xx, no broken request. */
function assertClean(result, seed) {
  console.log(
    `sent ${result.sent} in ${result.ms} ms; statuses ${JSON.stringify(result.statuses)}; failures ${result.failures.length}`,
  );
  if (result.failures.length) console.log('failures by kind', failureKinds(result.failures));
  assert.equal(result.sent, 3000, `the time cap stopped the run at ${result.sent} requests (seed ${seed})`);
  for (const status of [400, 401, 413, 415, 429]) {
    assert.ok(result.statuses[status] > 0, `the run includes early ${status}s`);
  }
  assert.deepEqual(result.failures.slice(0, 20), [], `seed ${seed}: ${result.failures.length} failures`);
}

test('3,000 malformed requests over real sockets to wrangler dev: no 5xx, no dropped connection', async () => {
  const seed = fuzzSeed();
  console.log(`malformed-input seed ${seed} (replay with FUZZ_SEED=${seed})`);
  migrateLocal({ persistTo, quiet: true });
  server = await startLocalServer({
    persistTo,
    vars: VARS,
    stdio: process.env.FUZZ_VERBOSE ? 'inherit' : 'ignore',
  });
  const token = await signDevToken({ secret: SECRET, sub: 'fuzz', tenant: 'fuzz', roles: ['viewer'] });
  assertClean(await runMalformedInput({ baseUrl: server.baseUrl, auth: { token }, seed }), seed);
  server.stop();
  server = null;
});

/** The Node runtime's bundle on a free loopback port with a fresh SQLite file; resolves its URL. */
async function startNodeServer(dir) {
  const bundle = await buildNodeServer(BUNDLE);
  const child = spawn(process.execPath, [bundle, '--db', join(dir, 'fuzz.sqlite'), '--port', '0'], {
    env: { ...process.env, ...VARS, ENVIRONMENT: 'development' },
    stdio: ['ignore', 'pipe', process.env.FUZZ_VERBOSE ? 'inherit' : 'ignore'],
  });
  nodeServer = child;
  let out = '';
  return new Promise((resolve, reject) => {
    const banner = (chunk) => {
      out += chunk;
      const m = /GraphQL\s+(http:\/\/\S+)\/graphql/.exec(out);
      if (!m) return;
      child.stdout.off('data', banner);
      child.stdout.resume(); // the request log: read and dropped
      resolve(m[1]);
    };
    child.stdout.on('data', banner);
    child.on('exit', (code) => reject(new Error(`node server exited (${code}):\n${out}`)));
  });
}

test('the same 3,000 malformed requests against the Node runtime: no 5xx, no dropped connection', async () => {
  const seed = fuzzSeed();
  console.log(`malformed-input (node) seed ${seed} (replay with FUZZ_SEED=${seed})`);
  const baseUrl = await startNodeServer(persistTo);
  const token = await signDevToken({ secret: SECRET, sub: 'fuzz', tenant: 'fuzz', roles: ['viewer'] });
  // Over what the app drains (8 MiB): still a complete 413, then the connection closes.
  const agent = new Agent({ keepAlive: true });
  const huge = {
    path: '/graphql',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: Buffer.alloc(9 * 1024 * 1024, 0x20),
    chunked: true,
  };
  assert.deepEqual(await send(baseUrl, agent, huge, 30_000), { status: 413 });
  agent.destroy();
  assertClean(await runMalformedInput({ baseUrl, auth: { token }, seed }), seed);
});
