// `npm run bench:open-loop`: throughput and latency against concurrency, open loop (issue 17
// item 3). The Node runtime as `npm run serve:node` runs it (the esbuild bundle, production
// configuration of bench/fixture/auth.mjs, every limiter on with limits that refuse nothing) on a
// generated data set (bench/curves/generate.mjs, 10,000 changes by default), over loopback HTTP.
// For each level L of in-flight requests (1 … 256) requests arrive at a fixed rate and are sent
// at their time whatever came back (bench/openLoop/generator.mjs): latency is measured from
// the intended send time, so queueing shows (no coordinated omission).
//
// The rate of a level: 70% of what L slots carry at the unloaded latency (L / latency at 1 in
// flight), at most 70% of the capacity measured closed-loop (32 in flight) first; then the top
// level once more offered 1.5 × that capacity, an overload that shows how the server degrades. Every level is bounded in count (--max-requests) and in time
// (--duration-s, then at most --grace-s for the stragglers).
//
//   npm run bench:open-loop                          levels 1,4,16,64,256, 3 s each
//   npm run bench:open-loop -- --levels 1,8,64 --duration-s 2 --changes 1000 --no-write

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildNodeServer } from '../scripts/buildNode.mjs';
import { applyMigrations, openSqliteD1 } from '../src/runtime/node/sqlite.ts';
import { generateDatabase, MEASURED_TENANT } from './curves/generate.mjs';
import { BENCH_VARS, signBenchToken } from './fixture/auth.mjs';
import { cleanupOnSignal, progress } from './harness.mjs';
import { spawnServer } from './http/spawnServer.mjs';
import { openLoop } from './openLoop/generator.mjs';
import { assertRecordable, gitState } from './stats.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    levels: { type: 'string', default: '1,4,16,64,256' },
    'duration-s': { type: 'string', default: '3' },
    'grace-s': { type: 'string', default: '10' },
    'max-requests': { type: 'string', default: '4000' },
    changes: { type: 'string', default: '10000' },
    port: { type: 'string', default: '8840' },
    label: { type: 'string', default: 'shared-loaded' },
    smoke: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const levels = values.levels.split(',').map(Number);
/** Below capacity: this share of what the level's slots carry at the unloaded latency (at most of the capacity). */
const LOAD = 0.7;
/** The extra run at the top level, offered 1.5 × the capacity. */
const OVERLOAD = -1;
if (levels.some((l) => !(Number.isInteger(l) && l >= 1 && l <= 256))) throw new Error('levels are 1 … 256');
const durationMs = Number(values['duration-s']) * 1000;
const tree = gitState(ROOT);
if (!values['no-write']) assertRecordable(tree, { smoke: values.smoke });

const dir = mkdtempSync(join(tmpdir(), 'changeflow-open-loop-'));
/** @type {{ stop: () => Promise<unknown> } | null} */
let server = null;
cleanupOnSignal(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});
const loadStart = loadavg();
try {
  const dbPath = join(dir, 'tenant.sqlite');
  const db = openSqliteD1(dbPath);
  applyMigrations(db, join(ROOT, 'migrations'));
  const changes = Number(values.changes);
  await generateDatabase(db, {
    seed: 17,
    changes,
    auditEvents: changes * 10,
    signingKey: JSON.parse(BENCH_VARS.AUDIT_SIGNING_KEY),
    onProgress: progress,
  });
  const ids = /** @type {string[]} */ (
    db.sqlite
      .prepare('SELECT id FROM change_requests WHERE tenant_id = ? ORDER BY id')
      .pluck()
      .all(MEASURED_TENANT)
  ).filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 256)) === 0);
  db.close();

  const token = await signBenchToken({ sub: 'mgr-0', tenant: MEASURED_TENANT, roles: ['change_manager'] });
  const port = Number(values.port);
  const query =
    'query($id: ID!) { change(id: $id) { id title status riskLevel affectedServices approvals { approver { id } decision } } }';
  const bodies = ids.map((id) => JSON.stringify({ query, variables: { id } }));
  let next = 0;
  /** One GraphQL POST over a keep-alive agent; ok only for a 200 with data and no errors. */
  const post = (/** @type {Agent} */ agent) =>
    new Promise((resolve) => {
      const body = /** @type {string} */ (bodies[next++ % bodies.length]);
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          path: '/graphql',
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            authorization: `Bearer ${token}`,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => {
            text += d;
          });
          res.on('end', () => {
            const ok = res.statusCode === 200 && text.includes('"data"') && !text.includes('"errors"');
            resolve({ ok, status: res.statusCode });
          });
          res.on('error', (e) => resolve({ ok: false, error: e.message }));
        },
      );
      req.on('error', (e) => resolve({ ok: false, error: e.message }));
      req.end(body);
    });

  const main = await buildNodeServer();
  server = await spawnServer({
    name: 'changeflow',
    args: [main, '--db', dbPath, '--port', String(port), '--host', '127.0.0.1'],
    env: { ...BENCH_VARS, NODE_ENV: 'production' },
    url: `http://127.0.0.1:${port}/graphql`,
    probe: async () => {
      const agent = new Agent({ keepAlive: false });
      const r = /** @type {{ ok: boolean }} */ (await post(agent));
      return r.ok;
    },
  });

  // Calibration, closed loop: latency with one in flight, and capacity with 32.
  const closed = async (/** @type {number} */ inFlight, /** @type {number} */ ms) => {
    const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
    /** @type {number[]} */
    const latencies = [];
    let n = 0;
    const end = performance.now() + ms;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          await post(agent);
          latencies.push(performance.now() - t);
          n++;
        }
      }),
    );
    agent.destroy();
    latencies.sort((a, b) => a - b);
    return {
      rate: n / ((performance.now() - t0) / 1000),
      p50: latencies[Math.floor(latencies.length / 2)] ?? 1,
    };
  };
  await closed(4, 1000); // warm-up
  const unloaded = await closed(1, 1500);
  const capacity = await closed(32, 2000);
  progress(
    `unloaded p50 ${unloaded.p50.toFixed(2)} ms, closed-loop capacity ${capacity.rate.toFixed(0)} req/s`,
  );

  const results = [];
  // Each level below capacity, then the top level once more as an overload.
  for (const level of [...levels, OVERLOAD]) {
    const rate =
      level === OVERLOAD
        ? 1.5 * capacity.rate
        : LOAD * Math.min((level * 1000) / unloaded.p50, capacity.rate);
    const inFlight = level === OVERLOAD ? Math.max(...levels) : level;
    const agent = new Agent({ keepAlive: true, maxSockets: inFlight });
    const r = await openLoop({
      send: () => /** @type {Promise<{ ok: boolean, status?: number }>} */ (post(agent)),
      rate,
      durationMs,
      maxInFlight: inFlight,
      maxRequests: Number(values['max-requests']),
      graceMs: Number(values['grace-s']) * 1000,
    });
    agent.destroy();
    results.push({
      level: level === OVERLOAD ? Math.max(...levels) : level,
      overload: level === OVERLOAD,
      ...r,
    });
    progress(
      `${level === OVERLOAD ? `${Math.max(...levels)} in flight (overload)` : `${level} in flight`}: offered ${rate.toFixed(0)}/s, ${r.throughput.toFixed(0)} ok/s, p50 ${r.latencyMs.p50.toFixed(1)} ms, p99 ${r.latencyMs.p99.toFixed(1)} ms, errors ${r.errors}, unfinished ${r.unfinished}`,
    );
    // Let the server drain between levels.
    await new Promise((r) => setTimeout(r, 500));
  }

  const report = {
    kind: 'open-loop',
    label: values.label,
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, shared/loaded (other sessions running)`,
      loadStart,
      loadEnd: loadavg(),
      commit: tree.commit,
      dirty: tree.dirty,
      smoke: values.smoke,
      changes,
      operation: 'single read (change by id, with its approvals), GraphQL POST over loopback HTTP',
      durationS: durationMs / 1000,
    },
    calibration: { unloadedP50Ms: unloaded.p50, closedLoopCapacity: capacity.rate },
    levels: results,
  };
  console.log('| in flight | offered /s | ok /s | p50 ms | p99 ms | errors | unfinished |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.level}${r.overload ? ' (overload)' : ''} | ${r.offeredRate.toFixed(0)} | ${r.throughput.toFixed(0)} | ${r.latencyMs.p50.toFixed(1)} | ${r.latencyMs.p99.toFixed(1)} | ${r.errors} | ${r.unfinished} |`,
    );
  }
  if (!values['no-write']) {
    const out = join(ROOT, 'bench/results');
    mkdirSync(out, { recursive: true });
    const file = values.smoke
      ? join(out, 'open-loop-smoke-latest.json')
      : join(out, `open-loop-${values.label}-${report.meta.date.slice(0, 10)}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`Written: ${file.slice(ROOT.length)}`);
  }
  if (results.some((r) => r.errors > 0)) process.exitCode = 1;
} finally {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
}
