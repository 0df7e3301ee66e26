// npm run bench:scale: write throughput per tenant and per database (docs/scaling.md). Closed-loop
// writers (one request in flight each) create changes, the service's createChange with its audit
// event, for a fixed time per round; each writer count runs with all writers in one tenant (they
// take turns at its audit chain) and with each writer in a tenant of its own (only the database is
// shared). Variants, alternated round by round on the same machine:
//
//   wrangler  service    the ChangeFlow Worker under `wrangler dev` (local D1), the GraphQL
//                        createChangeRequest mutation, production configuration, limiter on
//             proto-d1   bench/scale/worker.ts: the same use case on the same local D1, the
//                        TenantLock write turn as the service takes it, no HTTP/GraphQL layer
//             proto-d1-race  the same without the write turn: writers race for the chain head,
//                        losers retry (what the turn replaced)
//             proto-do   bench/scale/worker.ts: the same use case in the tenant's own SQLite-backed
//                        Durable Object, its writes queued in the object's memory
//   node      service    the Node runtime (dist bundle, SQLite file), the same mutation
//
// Then every tenant is checked: as many changes stored as acknowledged (at most the failed attempts
// more), one audit event per change, the chain verifying. Loopback only; bounded by
// --duration × --rounds per variant and scenario.
//
//   npm run bench:scale                                   everything (about 6 minutes)
//   npm run bench:scale -- --runtimes wrangler --writers 1,8 --duration 2 --rounds 2 --smoke
//
// Options: --writers <list> (1,4,16), --duration <s> per round (3), --rounds (3), --runtimes
// (wrangler,node), --smoke (allowed from a dirty tree; the file says so), --label <name>,
// --no-write-results. Writes bench/results/scale-<label or date>.json.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { BENCH_VARS, signBenchToken } from '../fixture/auth.mjs';
import { percentile } from '../lib.mjs';
import { assertRecordable, gitState } from '../stats.mjs';
import { prepareLocalD1, startWranglerDev, stopAllWranglerDev } from '../worker/wranglerDev.mjs';
import { closedLoop, scenarios, storedProblems, summarise, tenantNames, tenantOf } from './plan.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** This runner's loopback ports (the other benches keep to 8800–8823). */
const PORTS = { service: 8830, serviceInspector: 8831, proto: 8832, protoInspector: 8833, node: 8834 };

const { values: opts } = parseArgs({
  options: {
    writers: { type: 'string', default: '1,4,16' },
    duration: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    runtimes: { type: 'string', default: 'wrangler,node' },
    smoke: { type: 'boolean', default: false },
    label: { type: 'string' },
    'no-write-results': { type: 'boolean', default: false },
  },
});
const WRITERS = opts.writers.split(',').map(Number);
const DURATION_MS = Number(opts.duration) * 1000;
const ROUNDS = Number(opts.rounds);
const RUNTIMES = opts.runtimes.split(',');
if (!(DURATION_MS > 0 && DURATION_MS <= 60_000) || !Number.isInteger(ROUNDS) || ROUNDS < 1 || ROUNDS > 10) {
  console.error('✗ --duration must be in (0, 60] s and --rounds an integer in 1–10');
  process.exit(2);
}
if (RUNTIMES.some((r) => r !== 'wrangler' && r !== 'node')) {
  console.error('✗ --runtimes takes wrangler and/or node');
  process.exit(2);
}
const SCENARIOS = scenarios(WRITERS);
const git = gitState(ROOT);
if (!opts['no-write-results']) assertRecordable(git, { smoke: opts.smoke });

const runId = Date.now().toString(36);
const round2 = (/** @type {number} */ x) => Math.round(x * 100) / 100;
const load = () => loadavg().map(round2);

const CREATE = `mutation ScaleCreate($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }`;
const INPUT = {
  title: 'Scale bench change',
  description: 'Created by bench/scale to measure write throughput',
  type: 'NORMAL',
  impact: 'LOW',
  urgency: 'LOW',
  affectedServices: ['scale-svc'],
};
const VERIFY = `query ScaleVerify($cursor: String) {
  changes(first: 1) { totalCount }
  verifyAuditChain(mode: FULL, cursor: $cursor) { valid complete cursor toSeq brokenAtSeq }
}`;

/** Tokens per (tenant, writer), minted once. */
const tokens = new Map();
/**
 * @param {string} tenant
 * @param {string} sub
 * @param {string[]} roles
 */
async function tokenFor(tenant, sub, roles = ['requester']) {
  const key = `${tenant}/${sub}/${roles.join()}`;
  if (!tokens.has(key)) tokens.set(key, await signBenchToken({ sub, tenant, roles }));
  return /** @type {string} */ (tokens.get(key));
}

/**
 * A GraphQL call to the service; 'ok' or the error's label (HTTP status, GraphQL error code).
 * @param {string} url
 * @param {string} token
 * @param {string} query
 * @param {Record<string, unknown>} variables
 */
async function graphql(url, token, query, variables) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  /** @type {{ data?: any, errors?: { message: string, extensions?: { code?: string } }[] }} */
  let body = {};
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: reported by status below
  }
  const error = body.errors?.[0];
  if (!res.ok || error) {
    return {
      outcome: `${res.status} ${error?.extensions?.code ?? error?.message ?? text.slice(0, 80)}`,
      data: null,
    };
  }
  return { outcome: 'ok', data: body.data };
}

/**
 * @typedef {{
 *   send: (tenant: string, writer: number) => Promise<string>,
 *   prepare: (tenant: string) => Promise<number | null>,
 *   verify: (tenant: string) => Promise<{ changes: number, events: number, valid: boolean, bytes?: number }>,
 *   cpuMs: () => number,
 *   samples: Samples,
 * }} Variant
 */

/**
 * What the prototype reports of each write: how long it held its tenant's turn, its database
 * round trips, the time its batches took (ms).
 * @typedef {{ heldMs: number[], dbCalls: number[], batchMs: number[] }} Samples
 */

/** @returns {Samples} */
const noSamples = () => ({ heldMs: [], dbCalls: [], batchMs: [] });

/**
 * The medians of a scenario's samples (null where none were reported).
 * @param {Samples} s
 */
const medians = (s) => {
  const p50 = (/** @type {number[]} */ xs) => (xs.length ? round2(percentile(xs, 50)) : null);
  return { turnHeldMsP50: p50(s.heldMs), dbCallsP50: p50(s.dbCalls), batchMsP50: p50(s.batchMs) };
};

/**
 * The service's write, as a variant: a requester per writer, the GraphQL mutation.
 * @param {string} url
 * @param {() => number} cpuMs the CPU time (ms) the server's processes have used so far
 * @returns {Variant}
 */
const serviceVariant = (url, cpuMs) => ({
  cpuMs,
  samples: noSamples(),
  async send(tenant, writer) {
    const token = await tokenFor(tenant, `scale-writer-${writer}`);
    return (await graphql(url, token, CREATE, { input: INPUT })).outcome;
  },
  async prepare() {
    return null;
  },
  async verify(tenant) {
    const token = await tokenFor(tenant, 'scale-auditor', ['change_manager']);
    /** @type {string | null} */
    let cursor = null;
    let changes = -1;
    let events = -1;
    for (let page = 0; page < 1000; page++) {
      const { outcome, data } = await graphql(url, token, VERIFY, { cursor });
      if (outcome !== 'ok') throw new Error(`verifying ${tenant}: ${outcome}`);
      if (page === 0) {
        changes = data.changes.totalCount;
        events = data.verifyAuditChain.toSeq;
      }
      if (!data.verifyAuditChain.valid) return { changes, events, valid: false };
      if (data.verifyAuditChain.complete) return { changes, events, valid: true };
      cursor = data.verifyAuditChain.cursor;
    }
    throw new Error(`verifying ${tenant}: the chain did not complete in 1000 pages`);
  },
});

/**
 * The prototype's write, as a variant: /d1, /d1-race or /do on bench/scale/worker.ts. Each
 * answer says how long the write held its tenant's turn (`held`, ms).
 * @param {string} url
 * @param {'d1' | 'd1-race' | 'do'} store
 * @param {string} migrations
 * @param {() => number} cpuMs
 * @returns {Variant}
 */
const protoVariant = (url, store, migrations, cpuMs) => {
  const samples = noSamples();
  return {
    cpuMs,
    samples,
    async send(tenant, writer) {
      const res = await fetch(`${url}/${store}/create?tenant=${tenant}&writer=scale-writer-${writer}`, {
        method: 'POST',
      });
      /** @type {{ heldMs?: number | null, dbCalls?: number, batchMs?: number, error?: string }} */
      let body = {};
      try {
        body = await res.json();
      } catch {
        // reported by status
      }
      if (!res.ok) return `${res.status} ${String(body.error ?? '').slice(0, 100)}`;
      if (typeof body.heldMs === 'number') samples.heldMs.push(body.heldMs);
      if (typeof body.dbCalls === 'number') samples.dbCalls.push(body.dbCalls);
      if (typeof body.batchMs === 'number') samples.batchMs.push(body.batchMs);
      return 'ok';
    },
    async prepare(tenant) {
      if (store !== 'do') return null;
      const res = await fetch(`${url}/do/migrate?tenant=${tenant}`, { method: 'POST', body: migrations });
      if (!res.ok) throw new Error(`migrating ${tenant}'s object: ${res.status} ${await res.text()}`);
      return /** @type {{ size: number }} */ (await res.json()).size;
    },
    async verify(tenant) {
      const res = await fetch(`${url}/${store === 'do' ? 'do' : 'd1'}/verify?tenant=${tenant}`);
      if (!res.ok) throw new Error(`verifying ${tenant}: ${res.status} ${await res.text()}`);
      return /** @type {{ changes: number, events: number, valid: boolean, bytes: number }} */ (
        await res.json()
      );
    },
  };
};

/** Clock ticks per second, as /proc/<pid>/stat counts CPU time. */
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/**
 * User + system CPU time (ms) of the processes matching `select` (by pid and process group).
 * @param {(pid: number, pgrp: number) => boolean} select
 */
function processCpuMs(select) {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // After the command name in parentheses: state ppid pgrp … utime (14th field) stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (select(Number(entry), Number(fields[2]))) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLK_TCK;
}

/**
 * The process group of the `wrangler dev` serving `port` (wrangler, its esbuild, workerd): the
 * group of the process whose arguments say `dev … --port <port>`.
 * @param {number} port
 */
function wranglerGroup(port) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--port');
      if (args.includes('dev') && at >= 0 && args[at + 1] === String(port)) {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      }
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no wrangler dev process serving port ${port}`);
}

/**
 * Every scenario, the variants alternated round by round (their order rotating), then every tenant
 * verified.
 * @param {string} runtime
 * @param {Record<string, Variant>} variants
 */
async function measure(runtime, variants) {
  const names = Object.keys(variants);
  /** @type {Record<string, { acknowledged: number, failed: number }>} */
  const sent = {};
  /** @type {Record<string, number>} a tenant's own database size once migrated, where it has one */
  const baseBytes = {};
  const results = [];
  for (const scenario of SCENARIOS) {
    /** @type {Record<string, string[]>} */
    const tenantsOf = {};
    for (const name of names) {
      const variant = /** @type {Variant} */ (variants[name]);
      const tenants = tenantNames({ runId, variant: name, ...scenario });
      tenantsOf[name] = tenants;
      for (const t of tenants) {
        sent[t] = { acknowledged: 0, failed: 0 };
        const bytes = await variant.prepare(t);
        if (bytes !== null) baseBytes[t] = bytes;
        // Untimed warm-up: the tenant's first write (its objects, its user row, compiled statements).
        const outcome = await variant.send(t, 0);
        if (outcome !== 'ok') throw new Error(`${runtime}/${name}: the warm-up write failed: ${outcome}`);
        sent[t].acknowledged++;
      }
    }
    /** @type {Record<string, (Awaited<ReturnType<typeof closedLoop>> & { cpuMs: number })[]>} */
    const rounds = Object.fromEntries(names.map((n) => [n, []]));
    for (const name of names) {
      for (const xs of Object.values(/** @type {Variant} */ (variants[name]).samples)) xs.length = 0;
    }
    const loadBefore = load();
    for (let r = 0; r < ROUNDS; r++) {
      const order = names.map((_, i) => names[(i + r) % names.length]);
      for (const name of order) {
        const variant = /** @type {Variant} */ (variants[/** @type {string} */ (name)]);
        const tenants = /** @type {string[]} */ (tenantsOf[/** @type {string} */ (name)]);
        const cpuBefore = variant.cpuMs();
        const loop = await closedLoop({
          writers: scenario.writers,
          durationMs: DURATION_MS,
          send: async (w) => {
            const tenant = tenantOf(w, tenants);
            const outcome = await variant.send(tenant, w);
            const s = /** @type {{ acknowledged: number, failed: number }} */ (sent[tenant]);
            if (outcome === 'ok') s.acknowledged++;
            else s.failed++;
            return outcome;
          },
        });
        const round = { ...loop, cpuMs: variant.cpuMs() - cpuBefore };
        /** @type {any[]} */ (rounds[/** @type {string} */ (name)]).push(round);
      }
    }
    const loadAfter = load();
    for (const name of names) {
      const summary = summarise(/** @type {any[]} */ (rounds[name]));
      const turn = medians(/** @type {Variant} */ (variants[name]).samples);
      results.push({
        runtime,
        variant: name,
        ...scenario,
        ...summary,
        ...turn,
        loadAverage: { before: loadBefore, after: loadAfter },
      });
      console.log(
        `  ${runtime.padEnd(8)} ${name.padEnd(13)} writers ${String(scenario.writers).padStart(3)} tenants ${String(scenario.tenants).padStart(3)}: ` +
          `${String(summary.writesPerSecond).padStart(8)} writes/s (±${summary.meanCi95Relative === null ? '?' : Math.round(summary.meanCi95Relative * 100)}%), ` +
          `p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms, server CPU ${summary.cpuMsPerWrite} ms/write` +
          `${turn.turnHeldMsP50 === null ? '' : `, turn held ${turn.turnHeldMsP50} ms`}` +
          `${turn.dbCallsP50 === null ? '' : `, ${turn.dbCallsP50} db round trips, batch ${turn.batchMsP50} ms`}${Object.keys(summary.errors).length ? `, errors ${JSON.stringify(summary.errors)}` : ''}`,
      );
    }
  }
  // Every tenant of every variant: nothing acknowledged lost, nothing unexplained, chains intact.
  /** @type {Record<string, { changes: number, events: number, valid: boolean, bytes?: number }>} */
  const stored = {};
  for (const name of names) {
    const variant = /** @type {Variant} */ (variants[name]);
    for (const scenario of SCENARIOS) {
      for (const t of tenantNames({ runId, variant: name, ...scenario })) stored[t] = await variant.verify(t);
    }
  }
  const problems = storedProblems(sent, stored);
  const acknowledged = Object.values(sent).reduce((n, s) => n + s.acknowledged, 0);
  // Where a tenant has a database of its own: what one change with its audit event adds to it.
  const perChange = Object.entries(baseBytes).flatMap(([t, base]) => {
    const s = stored[t];
    return s?.bytes !== undefined && s.changes > 0 ? [(s.bytes - base) / s.changes] : [];
  });
  const bytesPerChange = perChange.length
    ? { median: Math.round(percentile(perChange, 50)), tenants: perChange.length }
    : null;
  console.log(
    `  ${runtime}: ${Object.keys(sent).length} tenants, ${acknowledged} acknowledged writes verified: ` +
      (problems.length ? `✗ ${problems.join('; ')}` : 'every one stored once, every chain valid'),
  );
  return {
    results,
    verification: { tenants: Object.keys(sent).length, acknowledged, problems },
    bytesPerChange,
  };
}

const migrationsSql = () =>
  readdirSync(join(ROOT, 'migrations'))
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => readFileSync(join(ROOT, 'migrations', f), 'utf8'))
    .join('\n');

async function runWrangler() {
  const tmp = mkdtempSync(join(tmpdir(), 'changeflow-scale-'));
  const servicePersist = join(tmp, 'service');
  const protoPersist = join(tmp, 'proto');
  try {
    for (const persistTo of [servicePersist, protoPersist]) {
      mkdirSync(persistTo);
      prepareLocalD1({ root: ROOT, persistTo, sql: '' });
    }
    const service = await startWranglerDev({
      root: ROOT,
      port: PORTS.service,
      inspectorPort: PORTS.serviceInspector,
      persistTo: servicePersist,
      vars: BENCH_VARS,
    });
    const proto = await startWranglerDev({
      root: join(ROOT, 'bench/scale'),
      config: 'wrangler.toml',
      port: PORTS.proto,
      inspectorPort: PORTS.protoInspector,
      persistTo: protoPersist,
    });
    const migrations = migrationsSql();
    // CPU of each wrangler dev's process group: the service's, and the prototype's (its variants
    // run one at a time, so each round's CPU is that variant's).
    const serviceGroup = wranglerGroup(PORTS.service);
    const protoGroup = wranglerGroup(PORTS.proto);
    const serviceCpu = () => processCpuMs((_, pgrp) => pgrp === serviceGroup);
    const protoCpu = () => processCpuMs((_, pgrp) => pgrp === protoGroup);
    return await measure('wrangler', {
      service: serviceVariant(service.baseUrl, serviceCpu),
      'proto-d1': protoVariant(proto.baseUrl, 'd1', migrations, protoCpu),
      'proto-d1-race': protoVariant(proto.baseUrl, 'd1-race', migrations, protoCpu),
      'proto-do': protoVariant(proto.baseUrl, 'do', migrations, protoCpu),
    });
  } finally {
    await stopAllWranglerDev();
    rmSync(tmp, { recursive: true, force: true });
  }
}

async function runNode() {
  const tmp = mkdtempSync(join(tmpdir(), 'changeflow-scale-node-'));
  // Beside node_modules (better-sqlite3 stays external), as serve:node's bundle.
  const script = await buildNodeServer(join(ROOT, 'dist/node/scale-server.mjs'));
  const url = `http://127.0.0.1:${PORTS.node}`;
  const child = spawn(
    process.execPath,
    [script, '--db', join(tmp, 'scale.sqlite'), '--port', String(PORTS.node), '--host', '127.0.0.1'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...BENCH_VARS, NODE_ENV: 'production' } },
  );
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-2000);
  });
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the Node server exited: ${stderr}`);
      if (Date.now() > deadline) throw new Error(`the Node server did not answer within 60 s: ${stderr}`);
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const pid = child.pid;
    return await measure('node', { service: serviceVariant(url, () => processCpuMs((p) => p === pid)) });
  } finally {
    const exited = child.exitCode === null ? new Promise((r) => child.once('exit', r)) : null;
    child.kill('SIGTERM');
    if (exited) await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => {
  stopAllWranglerDev().finally(() => process.exit(130));
});

const cpu = cpus();
const machine = {
  cpus: cpu.length,
  cpuModel: cpu[0]?.model,
  node: process.version,
  loadAverageAtStart: load(),
  note: 'shared machine: other work was running; the load generator runs on the same 2 cores',
};
console.log(
  `scale bench: ${machine.cpus} × ${machine.cpuModel}, load ${machine.loadAverageAtStart.join(' ')}; ` +
    `writers ${WRITERS.join(',')}, ${ROUNDS} rounds × ${DURATION_MS / 1000} s per variant and scenario`,
);
/** @type {Record<string, Awaited<ReturnType<typeof measure>>>} */
const runs = {};
let failed = false;
for (const runtime of RUNTIMES) {
  runs[runtime] = runtime === 'wrangler' ? await runWrangler() : await runNode();
  if (/** @type {{ verification: { problems: string[] } }} */ (runs[runtime]).verification.problems.length) {
    failed = true;
  }
}
const result = {
  kind: 'scale',
  smoke: opts.smoke,
  label: opts.label ?? null,
  date: new Date().toISOString(),
  commit: git.commit,
  dirty: git.dirty,
  command: `npm run bench:scale -- ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { ...machine, loadAverageAtEnd: load() },
  config: {
    writers: WRITERS,
    durationS: DURATION_MS / 1000,
    rounds: ROUNDS,
    mode: 'closed loop, one request in flight per writer',
  },
  runs,
};
if (!opts['no-write-results']) {
  const name = `scale-${opts.label ?? (opts.smoke ? 'smoke' : 'run')}-${result.date.slice(0, 10)}.json`;
  writeFileSync(join(ROOT, 'bench/results', name), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote bench/results/${name}`);
}
process.exit(failed ? 1 : 0);
