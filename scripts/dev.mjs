// npm start: migrate the local D1, start `wrangler dev`, seed a demo tenant, print URLs and tokens.
// Everything stays on this machine: local D1 under .wrangler/, loopback only, no Cloudflare account.
import {
  ensureDevEnvironment,
  ensureDevSecret,
  ensureDevSecretsKey,
  readDevVars,
  signDevToken,
} from './devToken.mjs';
import { migrateLocal, startLocalServer, tickScheduled } from './localServer.mjs';
import { seedDemo } from './seed.mjs';

const PORT = Number(process.env.PORT ?? 8787);
const TENANT = process.env.DEMO_TENANT ?? 'acme';

// wrangler.toml's top level is production; development comes from .dev.vars.
ensureDevEnvironment();
const secret = ensureDevSecret();
// The key that encrypts workflow secrets at rest; wrangler dev reads it from .dev.vars too.
ensureDevSecretsKey();

// Egress exceptions for workflow HTTP steps, from the environment (passed on to wrangler dev) or
// .dev.vars (which wrangler dev reads itself). The demo seed calls no HTTP upstream, so none is set
// by default; `EGRESS_ALLOW_PRIVATE=true npm start` lets workflows reach services on this machine.
const EGRESS_VARS = ['EGRESS_ALLOW_PRIVATE', 'EGRESS_ALLOW_PRIVATE_HOSTS'];
const devVars = readDevVars();
const egressFromEnv = Object.fromEntries(
  EGRESS_VARS.flatMap((k) => (process.env[k] ? [[k, process.env[k]]] : [])),
);
const egress = {
  ...Object.fromEntries(EGRESS_VARS.flatMap((k) => (devVars[k] ? [[k, devVars[k]]] : []))),
  ...egressFromEnv,
};

function egressLine() {
  const hosts = (egress.EGRESS_ALLOW_PRIVATE_HOSTS ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  const parts = ['loopback, private and metadata addresses refused'];
  if (egress.EGRESS_ALLOW_PRIVATE?.trim().toLowerCase() === 'true') {
    parts[0] = 'EGRESS_ALLOW_PRIVATE=true: private and loopback addresses reachable (development only)';
  }
  if (hosts.length) parts.push(`except EGRESS_ALLOW_PRIVATE_HOSTS: ${hosts.join(', ')}`);
  return parts.join('; ');
}
console.log('› applying migrations to the local D1');
migrateLocal();
console.log(`› starting wrangler dev on port ${PORT}`);

let server;
const stop = (code) => {
  server?.stop();
  process.exit(code);
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  server = await startLocalServer({ port: PORT, stdio: 'inherit', vars: egressFromEnv });
  server.child.on('exit', (code) => process.exit(code ?? 1));
  tickScheduled(server.baseUrl);
  const base = `http://localhost:${PORT}`;
  const sign = (sub, name, roles) => signDevToken({ secret, sub, name, tenant: TENANT, roles });
  const tokens = {
    admin: await sign('alice', 'Alice Admin', ['admin']),
    requester: await sign('rita', 'Rita Requester', ['requester']),
    approver1: await sign('abe', 'Abe Approver', ['approver']),
    approver2: await sign('ada', 'Ada Approver', ['approver']),
    manager: await sign('max', 'Max Manager', ['change_manager']),
  };
  const seeded = await seedDemo(server.baseUrl, tokens);
  console.log(`
  ChangeFlow is running (tenant "${TENANT}"; ${seeded.skipped ? 'demo data already present' : `seeded ${seeded.created} demo changes`})

    GraphiQL        ${base}/graphql
    Dashboard       ${base}/dashboard
    MCP endpoint    ${base}/mcp
    Metrics         ${base}/metrics
    Health          ${base}/health
    Schema (SDL)    ${base}/schema.graphql

  Workflow HTTP egress: ${egressLine()}

  Development tokens (24 hours, fresh at every start; send as "Authorization: Bearer <token>"):

    admin      ${tokens.admin}

    requester  ${tokens.requester}

  More: npm run token -- --tenant ${TENANT} --roles approver --sub abe
  Stop with Ctrl-C.
`);
} catch (e) {
  console.error(`✗ ${e.message}`);
  stop(1);
}
