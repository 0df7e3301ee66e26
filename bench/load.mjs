// npm run load: a bounded load test of a local ChangeFlow. Several clients (one request in flight
// each) run a mix of reads, writes and MCP tool calls for a fixed time, some of them racing to
// edit the same changes; then the checks (bench/loadVerdict.mjs), none of which can pass on an
// empty run: at least --min-writes writes acknowledged; no 429 (unless --tolerate-429); every
// acknowledged write read back with the state it acknowledged and matched to its audit event by
// target and action; no audit event nobody explains; the list's count equal to totalCount; idempotent
// replays created nothing twice; contended writes either acknowledged at distinct versions or
// refused with a version conflict (at least one), the change left at the last acknowledged one;
// the audit chain verifies. With --restart the server is killed (SIGKILL) mid-run and started
// again on the same database, and the checks then show whether anything acknowledged was lost.
//
//   npm run load                                   own `wrangler dev` (port 8810–8819, fresh state)
//   npm run load -- --node --restart               own Node runtime (dist/node/load-server.mjs, a
//                                                  fresh SQLite file), killed and restarted mid-run
//   npm run load -- --restart                      own wrangler dev, its process group killed and
//                                                  started again on the same local state mid-run
//   npm run load -- --duration 10 --clients 4
//   npm run load -- --url http://127.0.0.1:8787    a running instance (wrangler dev or the Node
//                                                  runtime); the secret comes from --jwt-secret,
//                                                  $JWT_SECRET or .dev.vars
//
// Options: --url, --duration <s> (60), --clients <n> (8), --tenant <id> (own server: "load";
// with --url: a fresh "load-<run id>"), --jwt-secret, --warmup <s> (3), --port (own server),
// --allow-remote (otherwise only loopback URLs), --no-write-results, --live-sources (own server:
// serve the checkout itself instead of a snapshot of its sources taken at start), --node,
// --restart (own server: wrangler dev or --node), --min-writes <n> (20), --tolerate-429, --no-contention.
// Writes bench/results/load-latest.json and bench/results/load-YYYY-MM-DD.json (from a clean tree
// only; a --label run writes load-<label>-YYYY-MM-DD.json from any tree). Exit code 1 on
// errors other than rate limiting, lost or stale writes, duplicates, or a broken audit chain.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildNodeServer } from '../scripts/buildNode.mjs';
import { migrateLocal, startLocalServer } from '../scripts/localServer.mjs';
import { readDevVars, signDevToken } from '../src/runtime/node/devVars.mjs';
import {
  CHECK_DOCS,
  createClient,
  createTransport,
  DOCS,
  Ledger,
  MIX,
  outage,
  Recorder,
} from './loadMix.mjs';
import { checkContention, loadVerdict, matchAudit } from './loadVerdict.mjs';
import { assertRecordable, gitState } from './stats.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OWN_PORTS = { first: 8810, last: 8819 };

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    duration: { type: 'string', default: '60' },
    clients: { type: 'string', default: '8' },
    tenant: { type: 'string' },
    'jwt-secret': { type: 'string' },
    warmup: { type: 'string', default: '3' },
    port: { type: 'string' },
    'allow-remote': { type: 'boolean', default: false },
    'no-write-results': { type: 'boolean', default: false },
    'live-sources': { type: 'boolean', default: false },
    node: { type: 'boolean', default: false },
    restart: { type: 'boolean', default: false },
    'min-writes': { type: 'string', default: '20' },
    'tolerate-429': { type: 'boolean', default: false },
    'no-contention': { type: 'boolean', default: false },
    // Written into the result, and into its file name instead of `latest` (e.g. a smoke run).
    label: { type: 'string' },
  },
});
const MIN_WRITES = Number(opts['min-writes']);
const CONTENTION = !opts['no-contention'];
if (!Number.isInteger(MIN_WRITES) || MIN_WRITES < 1) {
  console.error('✗ --min-writes must be an integer ≥ 1 (a load test that needs no write proves nothing)');
  process.exit(2);
}
if (opts.restart && opts.url) {
  console.error('✗ --restart kills and restarts the server this script started: not with --url');
  process.exit(2);
}

const DURATION_S = Number(opts.duration);
const CLIENTS = Number(opts.clients);
const WARMUP_S = Number(opts.warmup);
if (!(DURATION_S > 0) || !Number.isInteger(CLIENTS) || CLIENTS < 1 || CLIENTS > 256 || !(WARMUP_S >= 0)) {
  console.error('✗ --duration must be > 0 s, --clients an integer in 1–256, --warmup ≥ 0 s');
  process.exit(2);
}

const runId = new Date()
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d+Z$/, 'Z');

/**
 * 127.0.0.0/8, ::1 and localhost.
 * @param {string} hostname
 */
function isLoopback(hostname) {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * @param {number} port
 * @returns {Promise<boolean>}
 */
function portIsFree(port) {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** What `wrangler dev` needs to build and serve the Worker (node_modules is linked, not copied). */
const SNAPSHOT_ENTRIES = [
  'src',
  'migrations',
  'scripts',
  'public',
  'wrangler.toml',
  'package.json',
  'tsconfig.json',
];

/**
 * A copy of the Worker's sources as they are now, so that edits made to the checkout during the
 * run (wrangler dev rebuilds and reloads on every change) neither disturb nor change what is
 * measured. --live-sources serves the checkout itself instead.
 * @param {string} into
 */
function snapshotSources(into) {
  mkdirSync(into);
  for (const entry of SNAPSHOT_ENTRIES) {
    const from = join(ROOT, entry);
    if (existsSync(from)) cpSync(from, join(into, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(into, 'node_modules'), 'dir');
  return into;
}

/**
 * Runs `fn` with `dir` as the working directory (wrangler reads wrangler.toml from there).
 * @template T
 * @param {string} dir
 * @param {() => T | Promise<T>} fn
 * @returns {Promise<T>}
 */
async function inDir(dir, fn) {
  const previous = process.cwd();
  process.chdir(dir);
  try {
    return await fn();
  } finally {
    process.chdir(previous);
  }
}

/**
 * Starts our own `wrangler dev` on the first free port of 8810–8819, with a fresh migrated state
 * and generous rate limits, and counts the Worker reloads it reports while running.
 * @param {string} secret
 */
async function startOwnServer(secret) {
  const tmp = mkdtempSync(join(tmpdir(), 'changeflow-load-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  const persistTo = join(tmp, 'state');
  let workDir = ROOT;
  try {
    if (!opts['live-sources']) workDir = snapshotSources(join(tmp, 'app'));
    await inDir(workDir, () => migrateLocal({ persistTo, quiet: true }));
  } catch (e) {
    cleanup();
    throw e;
  }
  // Limits high enough that no request of the test is refused: this measures the service.
  const vars = { JWT_SECRET: secret, ...generousLimits() };
  const candidates = opts.port
    ? [Number(opts.port)]
    : Array.from({ length: OWN_PORTS.last - OWN_PORTS.first + 1 }, (_, i) => OWN_PORTS.first + i);
  /** @type {unknown} */
  let lastError = null;
  for (const port of candidates) {
    if (!(await portIsFree(port))) continue;
    try {
      /** @type {{ reloads: number, tail: string[] }} */
      const watch = { reloads: 0, tail: [] };
      const launch = async () => {
        const started = await inDir(workDir, () =>
          startLocalServer({ port, persistTo, vars, stdio: 'pipe' }),
        );
        // Drain wrangler's output (request logs included) and count reloads.
        for (const stream of [started.child.stdout, started.child.stderr]) {
          stream?.setEncoding('utf8');
          stream?.on('data', (/** @type {string} */ chunk) => {
            for (const line of chunk.split('\n')) {
              if (line.includes('Reloading local server')) watch.reloads++;
              if (line.trim() && !line.startsWith('{')) watch.tail = [...watch.tail.slice(-19), line];
            }
          });
        }
        return started;
      };
      let current = await launch();
      const exited = (/** @type {import('node:child_process').ChildProcess} */ c) =>
        c.exitCode !== null || c.signalCode !== null
          ? Promise.resolve()
          : /** @type {Promise<void>} */ (new Promise((resolve) => c.once('exit', () => resolve())));
      return {
        baseUrl: current.baseUrl,
        port,
        watch,
        sources: workDir === ROOT ? 'checkout (live)' : 'snapshot',
        restarts: 0,
        /**
         * SIGKILL to wrangler's whole process group (workerd included: no chance to flush), then
         * `wrangler dev` again on the same state directory and port.
         */
        async restart() {
          const old = current.child;
          try {
            if (old.pid !== undefined) process.kill(-old.pid, 'SIGKILL');
          } catch {
            // already gone
          }
          await Promise.race([exited(old), new Promise((r) => setTimeout(r, 10_000))]);
          // workerd may outlive wrangler for a moment: wait for the port to be free.
          for (let i = 0; i < 100 && !(await portIsFree(port)); i++)
            await new Promise((r) => setTimeout(r, 100));
          current = await launch();
          this.restarts++;
        },
        // Stop the process group, then remove the state once workerd has let go of it.
        async stop() {
          const child = current.child;
          current.stop();
          await Promise.race([exited(child), new Promise((r) => setTimeout(r, 5000))]);
          cleanup();
        },
      };
    } catch (e) {
      lastError = e;
    }
  }
  cleanup();
  throw new Error(
    `could not start wrangler dev on any free port of ${candidates.join(', ')}${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
  );
}

/** The limits of our own servers: high enough that no request of the test is refused. */
function generousLimits() {
  const huge = { perMinute: 100_000_000, burstPerSecond: 10_000_000 };
  return {
    RATE_LIMIT_PER_MINUTE: String(huge.perMinute),
    RATE_LIMIT_BURST_PER_SECOND: String(huge.burstPerSecond),
    RATE_LIMIT_PER_IP_PER_MINUTE: String(huge.perMinute),
    RATE_LIMIT_TIERS: JSON.stringify({ anonymous: huge, mcpRead: huge, mcpWrite: huge }),
  };
}

/**
 * Our own Node runtime (what `npm run serve:node` runs) on a fresh SQLite file, on the first free
 * port of 8810–8819; `restart()` kills it with SIGKILL (no chance to flush anything) and starts it
 * again on the same file and port.
 * @param {string} secret
 */
async function startOwnNodeServer(secret) {
  const tmp = mkdtempSync(join(tmpdir(), 'changeflow-load-node-'));
  const dbPath = join(tmp, 'load.sqlite');
  // Beside node_modules (better-sqlite3 stays external) and below migrations/, as serve:node's.
  const script = await buildNodeServer(join(ROOT, 'dist/node/load-server.mjs'));
  const candidates = opts.port
    ? [Number(opts.port)]
    : Array.from({ length: OWN_PORTS.last - OWN_PORTS.first + 1 }, (_, i) => OWN_PORTS.first + i);
  let port = 0;
  for (const p of candidates) {
    if (await portIsFree(p)) {
      port = p;
      break;
    }
  }
  if (!port) throw new Error(`no free port among ${candidates.join(', ')}`);
  const baseUrl = `http://127.0.0.1:${port}`;
  /** @type {string[]} */
  let tail = [];
  const env = { ...process.env, ENVIRONMENT: 'development', JWT_SECRET: secret, ...generousLimits() };
  const launch = async () => {
    const child = spawn(
      process.execPath,
      [script, '--db', dbPath, '--port', String(port), '--host', '127.0.0.1'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env,
      },
    );
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (/** @type {string} */ d) => {
      tail = [...tail, ...d.split('\n').filter((l) => l.trim())].slice(-20);
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null)
        throw new Error(`the Node server exited with ${child.exitCode}: ${tail.join(' | ')}`);
      try {
        if ((await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) })).ok) return child;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    throw new Error(`the Node server did not answer within 60 s: ${tail.join(' | ')}`);
  };
  let child = await launch();
  const exited = (/** @type {import('node:child_process').ChildProcess} */ c) =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));
  return {
    baseUrl,
    dbPath,
    watch: { reloads: 0, tail },
    sources: 'dist bundle of the checkout',
    restarts: 0,
    /** SIGKILL, then start again on the same file; resolves once it answers /health. */
    async restart() {
      const old = child;
      old.kill('SIGKILL');
      await exited(old);
      child = await launch();
      this.restarts++;
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited(child), new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

function gitDescribe() {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations'], { cwd: ROOT })
      .toString()
      .trim();
    return dirty ? `${commit} (src/ or migrations/ modified)` : commit;
  } catch {
    return null;
  }
}

/**
 * The newest modification time under src/ and migrations/: `wrangler dev` rebuilds and reloads
 * the Worker when its sources change, so an edit during the run would disturb the figures.
 */
function newestSourceMtime() {
  let newest = 0;
  const walk = (/** @type {string} */ dir) => {
    /** @type {import('node:fs').Dirent[]} */
    let entries = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    }
  };
  walk(join(ROOT, 'src'));
  walk(join(ROOT, 'migrations'));
  return newest;
}

// ---------------------------------------------------------------------------------------------

/** @type {(Awaited<ReturnType<typeof startOwnServer>> | Awaited<ReturnType<typeof startOwnNodeServer>>) | null} */
let server = null;
const stopServer = async () => {
  const s = server;
  server = null;
  await s?.stop();
};
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, async () => {
    await stopServer();
    process.exit(130);
  });
}

// Taken before wrangler dev bundles the Worker.
const sourcesAtStart = opts.url || !opts['live-sources'] ? 0 : newestSourceMtime();
/** @type {string} */
let baseUrl;
/** @type {string} */
let secret;
/** @type {string} */
let tenant;
/** @type {'url' | 'own wrangler dev' | 'own Node runtime'} */
let target;
if (opts.url) {
  let url;
  try {
    url = new URL(opts.url);
  } catch {
    console.error(`✗ --url ${opts.url} is not a URL`);
    process.exit(2);
  }
  if (!isLoopback(url.hostname) && !opts['allow-remote']) {
    console.error(`✗ ${url.hostname} is not a loopback address; this load test only targets this machine`);
    console.error('  (pass --allow-remote to load an instance elsewhere that you own)');
    process.exit(2);
  }
  baseUrl = url.origin;
  const given =
    opts['jwt-secret'] ?? process.env.JWT_SECRET ?? readDevVars(join(ROOT, '.dev.vars')).JWT_SECRET;
  if (!given) {
    console.error(
      '✗ no JWT secret: pass --jwt-secret, set JWT_SECRET, or run from a checkout with .dev.vars',
    );
    process.exit(2);
  }
  secret = given;
  tenant = opts.tenant ?? `load-${runId.toLowerCase()}`;
  target = 'url';
} else if (opts.node) {
  secret = opts['jwt-secret'] ?? randomBytes(32).toString('hex');
  tenant = opts.tenant ?? 'load';
  target = 'own Node runtime';
  console.log('› building and starting the Node runtime on a fresh SQLite file (ports 8810–8819)');
  try {
    server = await startOwnNodeServer(secret);
  } catch (e) {
    console.error(`✗ ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
  baseUrl = server.baseUrl;
} else {
  secret = opts['jwt-secret'] ?? randomBytes(32).toString('hex');
  tenant = opts.tenant ?? 'load';
  target = 'own wrangler dev';
  console.log('› migrating a fresh local D1 and starting wrangler dev (ports 8810–8819)');
  try {
    server = await startOwnServer(secret);
  } catch (e) {
    console.error(`✗ ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
  baseUrl = server.baseUrl;
}

const exitCode = await main().catch((e) => {
  console.error(`✗ ${e instanceof Error ? (process.env.DEBUG ? e.stack : e.message) : e}`);
  return 1;
});
await stopServer();
process.exit(exitCode);

async function main() {
  const health = /** @type {{ environment?: string, version?: string }} */ (
    await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(10_000) })
      .then((r) => r.json())
      .catch((e) => {
        throw new Error(`${baseUrl}/health did not answer: ${e.cause?.message ?? e.message}`);
      })
  );
  if (health.environment === 'production') throw new Error('refusing to load an instance in production');

  /** @type {(sub: string, name: string, roles: string[]) => Promise<string>} */
  const sign = (sub, name, roles) => signDevToken({ secret, sub, name, tenant, roles, expiresIn: '6h' });
  const tokens = {
    requesters: await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        sign(`load-requester-${i}`, `Load Requester ${i}`, ['requester']),
      ),
    ),
    approvers: [
      await sign('load-approver-1', 'Load Approver 1', ['approver']),
      await sign('load-approver-2', 'Load Approver 2', ['approver']),
      await sign('load-manager', 'Load Manager', ['change_manager']),
    ],
    viewer: await sign('load-viewer', 'Load Viewer', ['viewer']),
    admin: await sign('load-admin', 'Load Admin', ['admin']),
    // One requester every client writes as on the shared changes (a user with several tabs).
    contender: await sign('load-contender', 'Load Contender', ['requester']),
  };
  const transport = createTransport({ baseUrl });
  /**
   * A check's request: generous timeout, and any failure ends the run.
   * @template TResult, TVariables
   * @param {import('@graphql-typed-document-node/core').TypedDocumentNode<TResult, TVariables>} document
   * @param {TVariables} [variables]
   * @returns {Promise<TResult>}
   */
  const slow = (document, variables) =>
    transport.graphql(tokens.admin, document, variables, { timeout: 180_000 }).then((out) => {
      if (!out.ok) throw new Error(`${out.error.key}: ${out.error.message}`);
      return out.data;
    });

  // Before: the tenant's count of changes and audit head (an existing tenant is fine).
  let before;
  try {
    before = {
      changes: (await slow(DOCS.total)).changes.totalCount,
      auditHead: await auditHead(slow),
    };
  } catch (e) {
    throw new Error(
      `the instance at ${baseUrl} refused our token (${e instanceof Error ? e.message : e}); is --jwt-secret the instance's JWT_SECRET?`,
    );
  }

  console.log(
    `› ${target} at ${baseUrl} (${health.environment ?? '?'} ${health.version ?? ''}); tenant "${tenant}"` +
      ` (${before.changes} changes, ${before.auditHead} audit events before)`,
  );
  console.log(`› ${CLIENTS} clients, ${WARMUP_S} s warm-up, then ${DURATION_S} s measured`);

  const ledger = new Ledger();
  if (CONTENTION) {
    // The changes every client races to edit: one per two clients, at least two.
    for (let i = 0; i < Math.max(2, Math.floor(CLIENTS / 2)); i++) {
      const out = await transport.graphql(tokens.contender, DOCS.create, {
        input: {
          title: `Shared change ${i}`,
          description: 'Edited by every load client at once',
          type: 'NORMAL',
          impact: 'LOW',
          urgency: 'LOW',
          affectedServices: ['api'],
          backoutPlan: 'Revert',
          testPlan: 'Smoke',
        },
      });
      if (!out.ok) throw new Error(`could not create a shared change: ${out.error.message}`);
      const c = out.data.createChangeRequest;
      ledger.ack(c, { via: 'shared' });
      ledger.expect(c.id, 'change.created');
      ledger.shared.set(c.id, {
        acks: [{ version: c.version, title: `Shared change ${i}` }],
        uncertain: false,
      });
    }
  }
  const clients = Array.from({ length: CLIENTS }, (_, id) =>
    createClient({ id, transport, tokens, ledger, runId }),
  );
  const warmRecorder = new Recorder();
  if (WARMUP_S > 0) {
    const deadline = performance.now() + WARMUP_S * 1000;
    await Promise.all(clients.map((c) => c.run({ recorder: warmRecorder, deadline })));
  }
  const recorder = new Recorder();
  const reloadsBefore = server?.watch.reloads ?? 0;
  const started = performance.now();
  const deadline = started + DURATION_S * 1000;
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg()[0] ?? 0;
  // --restart: halfway through, the server is killed and started again while the clients run.
  const nodeServer = server;
  const restarting =
    opts.restart && nodeServer
      ? new Promise((r) => setTimeout(r, (DURATION_S * 1000) / 2)).then(async () => {
          const t = performance.now();
          outage.active = true;
          console.log('› killing the server (SIGKILL) and starting it again on the same database');
          try {
            await nodeServer.restart();
          } finally {
            outage.active = false;
          }
          return performance.now() - t;
        })
      : Promise.resolve(null);
  await Promise.all(clients.map((c) => c.run({ recorder, deadline })));
  const outageMs = await restarting;
  const elapsed = (performance.now() - started) / 1000;
  const summary = recorder.summary(elapsed);

  // Races: max(2, clients) edits of one shared change sent at once with the same expectedVersion.
  // Exactly one may be acknowledged; every other must be refused with a version conflict. Two
  // acknowledged would be a silent overwrite (a lost update).
  /** @type {{ writers: number, winners: number, conflicts: number, errors: number }[]} */
  const bursts = [];
  const raced = [...ledger.shared.keys()][0];
  if (CONTENTION && raced) {
    const writers = Math.max(2, CLIENTS);
    for (let b = 0; b < 5; b++) {
      const read = await transport.graphql(tokens.contender, CHECK_DOCS.readTitle, { id: raced });
      if (!read.ok) throw new Error(`race ${b + 1}: could not read ${raced}: ${read.error.message}`);
      const outs = await Promise.all(
        Array.from({ length: writers }, (_, i) =>
          transport.graphql(tokens.contender, CHECK_DOCS.update, {
            id: raced,
            expectedVersion: read.data.change.version,
            input: { title: `Race ${b + 1} writer ${i}` },
          }),
        ),
      );
      const burst = { writers, winners: 0, conflicts: 0, errors: 0 };
      for (const out of outs) {
        if (out.ok) {
          burst.winners++;
          const c = out.data.updateChangeRequest;
          ledger.ack(c);
          ledger.expect(c.id, 'change.updated');
          ledger.shared.get(raced)?.acks.push({ version: c.version, title: c.title });
        } else if (out.error.key.includes('CHANGE_VERSION_CONFLICT')) {
          burst.conflicts++;
          ledger.conflicts++;
        } else {
          burst.errors++;
          if (isUncertainOutcome(out)) ledger.uncertain(raced);
        }
      }
      bursts.push(burst);
    }
  }
  const warm = warmRecorder.summary(Math.max(WARMUP_S, 0.001));
  const sourcesChanged = sourcesAtStart > 0 && newestSourceMtime() > sourcesAtStart;
  const reloads = server ? server.watch.reloads - reloadsBefore : null;
  if (sourcesChanged || reloads)
    console.log(`! the Worker's sources changed during the run (wrangler dev reloads: ${reloads})`);

  console.log(`› measured ${elapsed.toFixed(1)} s; checking ${ledger.changes.size} changes written…`);
  const checks = await runChecks({ slow, ledger, before });
  const failures = loadVerdict({
    errors: summary.errors,
    warmupErrors: warm.errors,
    writes: checks.writes,
    auditChain: checks.auditChain,
    audit: checks.audit,
    contention: checks.contention,
    contentionAttempts: CONTENTION ? { conflicts: ledger.conflicts } : null,
    bursts: CONTENTION ? bursts : undefined,
    restart: opts.restart
      ? { wanted: true, restarts: nodeServer?.restarts ?? 0, outageErrors: summary.errors.outage }
      : null,
    config: { minWrites: MIN_WRITES, tolerateRateLimited: opts['tolerate-429'], contention: CONTENTION },
  });

  const result = {
    kind: 'load',
    ...(opts.label ? { label: opts.label } : {}),
    runId,
    startedAt,
    target: {
      kind: target,
      url: baseUrl,
      environment: health.environment,
      version: health.version,
      ...(server ? { sources: server.sources } : {}),
    },
    commit: gitDescribe(),
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      // Other work on the machine competes with the server for the same cores.
      loadAverage1m: {
        atStart: Number(loadBefore.toFixed(2)),
        atEnd: Number((loadavg()[0] ?? 0).toFixed(2)),
      },
    },
    config: {
      durationSeconds: DURATION_S,
      warmupSeconds: WARMUP_S,
      clients: CLIENTS,
      maxInFlight: CLIENTS,
      tenant,
      mix: Object.fromEntries(MIX),
      rateLimits:
        target === 'url'
          ? 'the instance’s own (429s and RATE_LIMITED tool results counted as rate_limited)'
          : 'raised by this script (RATE_LIMIT_* vars) so that none applies',
      rateLimitedIs: opts['tolerate-429'] ? 'reported' : 'a failure',
      minWrites: MIN_WRITES,
      contention: CONTENTION,
      restart: opts.restart,
    },
    races: bursts,
    ...(opts.restart
      ? {
          restart: {
            restarts: nodeServer?.restarts ?? 0,
            outageMs: outageMs === null ? null : Math.round(outageMs),
            outageErrors: summary.errors.outage,
          },
        }
      : {}),
    elapsedSeconds: Number(elapsed.toFixed(2)),
    workerReloadsDuringRun: reloads,
    sourcesChangedDuringRun: sourcesChanged,
    ...summary,
    warmup: { requests: warm.totals.requests, errors: warm.errors },
    checks,
    ok: failures.length === 0,
    failures,
    ...(server && failures.length ? { wranglerOutputTail: server.watch.tail } : {}),
  };

  printReport(result);
  if (!opts['no-write-results']) {
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    const text = `${JSON.stringify(result, null, 2)}\n`;
    if (opts.label) {
      // A labelled run (a smoke run, a run on a loaded machine) never becomes `latest`.
      const slug = opts.label
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '');
      const name = `load-${slug}-${startedAt.slice(0, 10)}.json`;
      writeFileSync(join(dir, name), text);
      console.log(`\nwrote bench/results/${name}`);
    } else if (gitState(ROOT).dirty) {
      // As for the bench: an unlabelled result must name a commit that rebuilds what ran.
      try {
        assertRecordable(gitState(ROOT), { smoke: false });
      } catch (e) {
        console.error(`\n✗ not written: ${e instanceof Error ? e.message : e} (or pass --label)`);
      }
    } else {
      writeFileSync(join(dir, 'load-latest.json'), text);
      writeFileSync(join(dir, `load-${startedAt.slice(0, 10)}.json`), text);
      console.log(
        `\nwrote bench/results/load-latest.json and bench/results/load-${startedAt.slice(0, 10)}.json`,
      );
    }
  }
  return failures.length ? 1 : 0;
}

/**
 * A write whose outcome is unknown: no answer, or a 5xx.
 * @param {{ error?: { category: string, key: string }, status?: number }} out
 */
const isUncertainOutcome = (out) =>
  out.error !== undefined &&
  out.error.key !== 'network ECONNREFUSED' &&
  (out.error.category === 'network' || out.error.category === 'outage' || (out.status ?? 500) >= 500);

/** @typedef {<TResult, TVariables>(document: import('@graphql-typed-document-node/core').TypedDocumentNode<TResult, TVariables>, variables?: TVariables) => Promise<TResult>} Slow */

/** @param {Slow} slow */
async function auditHead(slow) {
  const data = await slow(DOCS.auditHead);
  return data.auditLog.nodes[0]?.seq ?? 0;
}

/**
 * Reads everything back and compares it with what was acknowledged.
 * @param {{ slow: Slow, ledger: Ledger, before: { changes: number, auditHead: number } }} options
 */
async function runChecks({ slow, ledger, before }) {
  const t = performance.now();
  /** @typedef {NonNullable<import('../operations.generated.ts').LoadReadOneQuery['change']>} ReadChange */
  /** @type {Map<string, ReadChange>} */
  const seen = new Map();
  /** @type {string | null} */
  let after = null;
  let pages = 0;
  do {
    /** @type {import('../operations.generated.ts').LoadReadBackQuery['changes']} */
    const page = (await slow(DOCS.readBack, { after })).changes;
    pages++;
    for (const c of page.nodes) seen.set(c.id, c);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);

  const w = {
    acknowledgedWrites: ledger.acknowledgedWrites,
    changesTracked: ledger.changes.size,
    pagesRead: pages,
    listed: seen.size,
    readBack: 0,
    lost: 0,
    stale: 0,
    mismatched: 0,
    newerThanAcknowledged: 0,
    missingApprovals: 0,
    missedByList: 0,
    uncertainWrites: 0,
    uncertainCreates: ledger.uncertainCreates,
    tenantChangesBefore: before.changes,
    /** @type {number | null} */
    tenantChangesAfter: null,
    unexplainedExtra: 0,
    /** @type {string[]} */
    examples: [],
  };
  const example = (/** @type {string} */ what) => w.examples.length < 10 && w.examples.push(what);
  for (const [id, acked] of ledger.changes) {
    if (acked.uncertain) w.uncertainWrites++;
    /** @type {ReadChange | null | undefined} */
    let got = seen.get(id);
    if (!got) {
      // Not in the list: is it readable by id at all?
      got = await slow(DOCS.readOne, { id })
        .then((d) => d.change)
        .catch(() => null);
      if (got) {
        w.missedByList++;
        example(`${id} readable by id but missing from the changes list`);
      } else {
        w.lost++;
        example(`${id} acknowledged (v${acked.version} ${acked.status}) but not found`);
        continue;
      }
    }
    w.readBack++;
    if (got.version < acked.version) {
      w.stale++;
      example(`${id}: acknowledged v${acked.version} ${acked.status}, stored v${got.version} ${got.status}`);
    } else if (got.version === acked.version && got.status !== acked.status) {
      w.mismatched++;
      example(`${id}: acknowledged ${acked.status} at v${acked.version}, stored ${got.status}`);
    } else if (got.version > acked.version) {
      // Only a write whose outcome we never learnt (a timeout, a 5xx) may have moved it on.
      w.newerThanAcknowledged++;
      if (!acked.uncertain) {
        w.mismatched++;
        example(`${id}: stored v${got.version} ${got.status}, newer than any write sent (v${acked.version})`);
      }
    }
    const stored = new Set(got.approvals.map((a) => a.id));
    for (const a of acked.approvals) {
      if (!stored.has(a)) {
        w.missingApprovals++;
        example(`${id}: acknowledged approval ${a} missing`);
      }
    }
  }
  const changesAfter = (await slow(DOCS.total)).changes.totalCount;
  w.tenantChangesAfter = changesAfter;
  // Changes nobody acknowledged: beyond the creates whose outcome was unknown, duplicates.
  w.unexplainedExtra = Math.max(
    0,
    changesAfter - w.tenantChangesBefore - ledger.changes.size - ledger.uncertainCreates,
  );
  if (w.listed !== changesAfter)
    example(`the list returned ${w.listed} changes, totalCount says ${changesAfter}`);

  // Every acknowledged write against the audit events this run added (newest first, down to the
  // head read before it).
  /** @type {import('./loadVerdict.mjs').AuditEventRow[]} */
  const events = [];
  /** @type {string | null} */
  let auditAfter = null;
  let auditPages = 0;
  for (;;) {
    /** @type {{ nodes: import('./loadVerdict.mjs').AuditEventRow[], pageInfo: { hasNextPage: boolean, endCursor: string | null } }} */
    const page = (await slow(CHECK_DOCS.auditPage, { after: auditAfter })).auditLog;
    auditPages++;
    let older = false;
    for (const e of page.nodes) {
      if (e.seq > before.auditHead) events.push(e);
      else older = true;
    }
    if (older || !page.pageInfo.hasNextPage) break;
    auditAfter = page.pageInfo.endCursor;
  }
  const audit = {
    ...matchAudit(ledger.expected, events, { uncertainWrites: ledger.uncertainWrites }),
    pagesRead: auditPages,
  };
  for (const m of audit.missing.slice(0, 5)) example(`no audit event ${m.action} for ${m.targetId}`);

  // The shared changes as stored now.
  /** @type {Map<string, { version: number, title: string } | null>} */
  const stored = new Map();
  for (const id of ledger.shared.keys()) {
    stored.set(
      id,
      await slow(CHECK_DOCS.readTitle, { id })
        .then((d) => d.change)
        .catch(() => null),
    );
  }
  const contention = { ...checkContention(ledger.shared, stored), conflicts: ledger.conflicts };

  const tv = performance.now();
  const v = (await slow(DOCS.verifyChain)).verifyAuditChain;
  const headAfter = await auditHead(slow);
  const auditChain = {
    ...v,
    verifySeconds: Number(((performance.now() - tv) / 1000).toFixed(2)),
    eventsBefore: before.auditHead,
    eventsAfter: headAfter,
    eventsAdded: headAfter - before.auditHead,
  };
  return {
    writes: w,
    auditChain,
    audit,
    contention,
    checkSeconds: Number(((performance.now() - t) / 1000).toFixed(2)),
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * What printReport reads of the result.
 * @typedef {object} LoadReport
 * @property {{ kind: string, url: string }} target
 * @property {{ clients: number, maxInFlight: number, tenant: string }} config
 * @property {number} elapsedSeconds
 * @property {{ cpus: number, cpuModel: string | undefined, node: string, loadAverage1m: { atStart: number, atEnd: number } }} machine
 * @property {string | null} commit
 * @property {Record<string, import('./loadMix.mjs').KindSummary>} byKind
 * @property {import('./loadMix.mjs').KindSummary & { okOpsPerSecond: number | null }} totals
 * @property {import('./loadMix.mjs').ErrorSummary} errors
 * @property {{ errors: import('./loadMix.mjs').ErrorSummary }} warmup
 * @property {Awaited<ReturnType<typeof runChecks>>} checks
 * @property {{ restarts: number, outageMs: number | null, outageErrors: number }} [restart]
 * @property {{ writers: number, winners: number, conflicts: number, errors: number }[]} races
 * @property {boolean} ok
 * @property {string[]} failures
 */

/** @param {LoadReport} r */
function printReport(r) {
  /** @type {(s: string | number | null | undefined, n: number) => string} */
  const pad = (s, n) => String(s ?? '–').padStart(n);
  /** @type {(x: number | null | undefined) => string} */
  const fmt = (x) => (x === null || x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const head = `  ${'operation'.padEnd(28)}${pad('requests', 9)}${pad('ok', 8)}${pad('ops/s', 8)}${pad('p50', 8)}${pad('p90', 8)}${pad('p99', 8)}${pad('max', 8)}`;
  console.log(
    `\nChangeFlow load test: ${r.target.kind} ${r.target.url}, ${r.config.clients} clients (≤ ${r.config.maxInFlight} in flight), ${r.elapsedSeconds} s, tenant "${r.config.tenant}"`,
  );
  console.log(
    `  ${r.machine.cpus} × ${r.machine.cpuModel ?? 'cpu'}, Node ${r.machine.node}, commit ${r.commit ?? '?'}, load average ${r.machine.loadAverage1m.atStart} → ${r.machine.loadAverage1m.atEnd}`,
  );
  console.log(`\n${head}   (latency ms)`);
  console.log(`  ${'-'.repeat(head.length - 2)}`);
  /** @type {(name: string, k: import('./loadMix.mjs').KindSummary) => void} */
  const row = (name, k) =>
    console.log(
      `  ${name.padEnd(28)}${pad(k.requests, 9)}${pad(k.ok, 8)}${pad(k.opsPerSecond?.toFixed(1), 8)}${pad(fmt(k.latencyMs.p50), 8)}${pad(fmt(k.latencyMs.p90), 8)}${pad(fmt(k.latencyMs.p99), 8)}${pad(fmt(k.latencyMs.max), 8)}`,
    );
  for (const [kind, k] of Object.entries(r.byKind)) row(kind, k);
  console.log(`  ${'-'.repeat(head.length - 2)}`);
  row('all', r.totals);
  console.log(`  (ok ops/s: ${r.totals.okOpsPerSecond})`);

  const e = r.errors;
  console.log(
    `\nErrors: ${e.total} (${e.other} counted as errors, ${e.rateLimited} rate-limited${r.target.kind === 'url' ? ': the instance’s own limits' : ''}, ${e.outage} while the server was down on purpose)`,
  );
  for (const [kind, byKey] of Object.entries(e.byKind)) {
    for (const [key, x] of Object.entries(byKey)) {
      console.log(`  ${kind.padEnd(28)} ${x.category.padEnd(13)} ${key.padEnd(44)} ${pad(x.count, 6)}`);
      if (x.samples?.[0]) console.log(`      e.g. ${x.samples[0]}`);
    }
  }
  if (r.warmup.errors.total) console.log(`  warm-up: ${r.warmup.errors.total} errors (see JSON)`);

  const w = r.checks.writes;
  const a = r.checks.auditChain;
  console.log('\nChecks');
  console.log(
    `  acknowledged writes   ${w.acknowledgedWrites} on ${w.changesTracked} changes; read back ${w.readBack} (${w.pagesRead} pages of 100, ${w.listed} listed)`,
  );
  console.log(
    `  lost ${w.lost}, stale ${w.stale}, other state ${w.mismatched}, approvals missing ${w.missingApprovals}, missing from list ${w.missedByList}`,
  );
  console.log(
    `  tenant changes        ${w.tenantChangesBefore} → ${w.tenantChangesAfter}; unexplained extra ${w.unexplainedExtra} (uncertain creates ${w.uncertainCreates})`,
  );
  console.log(
    `  audit chain           ${a.valid ? 'ok' : `BROKEN at seq ${a.brokenAtSeq}: ${a.reason}`}; ${a.checked} events checked (${a.verifySeconds} s), ${a.eventsAdded} added by this run`,
  );
  const au = r.checks.audit;
  console.log(
    `  audit match           ${au.matched}/${au.expected} acknowledged writes matched to their event (target + action); ${au.leftOver} events left over, ${au.unexplained} unexplained`,
  );
  const c = r.checks.contention;
  console.log(
    `  contention            ${c.acknowledged} writes acknowledged on ${c.changes} shared changes, ${c.conflicts} version conflicts; lost updates ${c.duplicateVersions}, wrong final state ${c.wrongFinal}`,
  );
  if (r.races.length)
    console.log(
      `  races                 ${r.races.map((b) => `${b.winners}/${b.writers} won, ${b.conflicts} conflicts`).join('; ')}`,
    );
  if (r.restart)
    console.log(
      `  restart               ${r.restart.restarts} kill + restart (${r.restart.outageMs} ms down, ${r.restart.outageErrors} requests failed meanwhile)`,
    );
  for (const x of [...w.examples, ...c.examples]) console.log(`    ${x}`);
  console.log(r.ok ? '\nPASS' : `\nFAIL: ${r.failures.join('; ')}`);
}
