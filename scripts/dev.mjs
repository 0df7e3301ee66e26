// npm start: migrate the local D1, start `wrangler dev`, seed a demo tenant, print URLs and tokens.
// Everything stays on this machine: local D1 under .wrangler/, loopback only, no Cloudflare account.
import {
  ensureDevAuditSigningKey,
  ensureDevEnvironment,
  ensureDevSecret,
  ensureDevSecretsKey,
  readDevVars,
  signDevToken,
} from '../src/runtime/node/devVars.mjs';
import { migrateLocalSummary as migrateLocal, startLocalServer, tickScheduled } from './localServer.mjs';
import { seedDemo } from './seed.mjs';

const PORT = Number(process.env.PORT ?? 8787);
const TENANT = process.env.DEMO_TENANT ?? 'acme';
// Where the local D1 and Durable Objects live (wrangler's --persist-to): .wrangler/state by
// default; a test points it at a scratch directory so it never touches yours.
const persistTo = process.env.CHANGEFLOW_PERSIST_TO || undefined;

// wrangler.toml's top level is production; development comes from .dev.vars.
ensureDevEnvironment();
const secret = ensureDevSecret();
// The key that encrypts workflow secrets at rest; wrangler dev reads it from .dev.vars too.
ensureDevSecretsKey();
// The key that signs the hourly audit digests (wrangler.toml turns them on); its public half is at
// /.well-known/changeflow-audit-keys.json.
ensureDevAuditSigningKey();

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
/**
 * wrangler dev's output: held back while the service starts and the demo is seeded, so that the
 * banner comes last (the held lines are shown if the start fails, and its warnings and errors in
 * any case), then passed through. wrangler's own line per request is dropped: the Worker logs each
 * request itself, with its request id.
 */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const WRANGLER_REQUEST_LINE = /^\[wrangler:info\] [A-Z]+ \S+ \d{3} /;
const WARNING = /\[WARNING\]|\[ERROR\]|"level":"(warn|error)"/;
/** @type {string[]} */
const held = [];
let live = false;
/** @param {string} line */
function onOutput(line) {
  if (WRANGLER_REQUEST_LINE.test(line.replace(ANSI, ''))) return;
  if (live) console.log(line);
  else held.push(line);
}

/** @type {Awaited<ReturnType<typeof startLocalServer>> | undefined} */
let server;
/** @param {number} code */
const stop = (code) => {
  server?.stop();
  process.exit(code);
};
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

try {
  console.log(`› local D1 migrations: ${migrateLocal({ persistTo })}`);
  console.log(`› starting wrangler dev on port ${PORT} and seeding tenant "${TENANT}"`);
  server = await startLocalServer({ port: PORT, persistTo, onOutput, vars: egressFromEnv });
  server.child.on('exit', (code) => process.exit(code ?? 1));
  tickScheduled(server.baseUrl);
  const base = `http://localhost:${PORT}`;
  /** @type {(sub: string, name: string, roles: string[]) => Promise<string>} */
  const sign = (sub, name, roles) => signDevToken({ secret, sub, name, tenant: TENANT, roles });
  const tokens = {
    admin: await sign('alice', 'Alice Admin', ['admin']),
    requester: await sign('rita', 'Rita Requester', ['requester']),
    approver1: await sign('abe', 'Abe Approver', ['approver']),
    approver2: await sign('ada', 'Ada Approver', ['approver']),
    manager: await sign('max', 'Max Manager', ['change_manager']),
  };
  const seeded = await seedDemo(server.baseUrl, tokens);
  for (const line of held) if (WARNING.test(line)) console.log(line);
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

    approver   ${tokens.approver1}

  More: npm run -s token -- --tenant ${TENANT} --roles approver --sub ada
  The five-minute tour, in another terminal: npm run tour${PORT === 8787 ? '' : ` -- --url ${base}`}
  Stop with Ctrl-C. Requests are logged below, one line each.
`);
  live = true;
} catch (e) {
  for (const line of held) console.error(line);
  console.error(`✗ ${e instanceof Error ? e.message : e}`);
  stop(1);
}
