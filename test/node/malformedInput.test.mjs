// Malformed input over real sockets against `wrangler dev` (workerd behind wrangler's proxy), the
// way an attacker or a broken client reaches the service: 3,000 seeded requests with bodies from
// 1 byte to 1 MiB, chunked bodies, junk credentials, wrong content types, malformed webhook paths
// and, with a low limit, early 429s. Every request gets a complete answer and none is a 5xx.
// Replay a failing run with FUZZ_SEED=<the printed seed>.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { signDevToken } from '../../scripts/devToken.mjs';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { fuzzSeed, runMalformedInput } from './malformedInput.mjs';

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
let server;

after(() => {
  server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

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
  const result = await runMalformedInput({ baseUrl: server.baseUrl, auth: { token }, seed });
  console.log(
    `sent ${result.sent} in ${result.ms} ms; statuses ${JSON.stringify(result.statuses)}; failures ${result.failures.length}`,
  );
  const kinds = {};
  for (const f of result.failures) {
    const k = `${f.case} ${f.path} ${f.chunked ? 'chunked' : 'length'} → ${f.status ?? f.error}`;
    kinds[k] = (kinds[k] ?? 0) + 1;
  }
  if (result.failures.length) console.log('failures by kind', kinds);
  assert.equal(result.sent, 3000, `the time cap stopped the run at ${result.sent} requests (seed ${seed})`);
  assert.ok(result.statuses[429] > 0, 'the run includes early refusals under rate limiting');
  assert.ok(result.statuses[413] > 0 && result.statuses[401] > 0 && result.statuses[415] > 0);
  assert.deepEqual(result.failures.slice(0, 20), [], `seed ${seed}: ${result.failures.length} failures`);
});
