// npm start: migrate the local D1, start `wrangler dev`, seed a demo tenant, print URLs and tokens.
// Everything stays on this machine: local D1 under .wrangler/, loopback only, no Cloudflare account.
import { execFileSync, spawn } from 'node:child_process';
import { ensureDevSecret, signDevToken } from './devToken.mjs';
import { seedDemo } from './seed.mjs';

const PORT = process.env.PORT ?? '8787';
const HOST = '127.0.0.1';
const BASE = `http://${HOST === '127.0.0.1' ? 'localhost' : HOST}:${PORT}`;
const TENANT = process.env.DEMO_TENANT ?? 'acme';
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' };

const secret = ensureDevSecret();
console.log('› applying migrations to the local D1');
execFileSync('npx', ['wrangler', 'd1', 'migrations', 'apply', 'DB', '--local'], { stdio: 'inherit', env });

console.log(`› starting wrangler dev on ${BASE}`);
// Own process group, so stopping us stops workerd too (killing npx alone leaves it running).
const child = spawn('npx', ['wrangler', 'dev', '--port', PORT, '--ip', HOST], {
  detached: true,
  stdio: ['ignore', 'inherit', 'inherit'],
  env,
});
const stop = (code) => {
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // already gone
  }
  process.exit(code);
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));
child.on('exit', (code) => process.exit(code ?? 1));

async function waitForHealth(timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${BASE}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`ChangeFlow did not become healthy at ${BASE}/health within ${timeoutMs / 1000}s`);
}

try {
  await waitForHealth();
  const sign = (sub, name, roles) => signDevToken({ secret, sub, name, tenant: TENANT, roles });
  const tokens = {
    admin: await sign('alice', 'Alice Admin', ['admin']),
    requester: await sign('rita', 'Rita Requester', ['requester']),
    approver1: await sign('abe', 'Abe Approver', ['approver']),
    approver2: await sign('ada', 'Ada Approver', ['approver']),
    manager: await sign('max', 'Max Manager', ['change_manager']),
  };
  const seeded = await seedDemo(BASE, tokens);
  console.log(`
  ChangeFlow is running (tenant "${TENANT}"; ${seeded.skipped ? 'demo data already present' : `seeded ${seeded.created} demo changes`})

    GraphiQL        ${BASE}/graphql
    Health          ${BASE}/health
    Schema (SDL)    ${BASE}/schema.graphql

  Development tokens (7 days; send as "Authorization: Bearer <token>"):

    admin      ${tokens.admin}

    requester  ${tokens.requester}

  More: npm run token -- --tenant ${TENANT} --roles approver --sub abe
  Stop with Ctrl-C.
`);
} catch (e) {
  console.error(`✗ ${e.message}`);
  stop(1);
}
