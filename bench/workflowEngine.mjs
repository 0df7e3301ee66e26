// The workflow engine under `wrangler dev`, measured:
// 1. Overhead per step: a workflow of 20 no-op `transform` steps against one of 1 step, run
//    alternately; per step = (median 20-step time − median 1-step time) / 19, from the
//    execution's own startedAt/endedAt (engine time, not client polling).
// 2. Executions at once: K executions started together (each 5 transforms and a 1 s delay);
//    how long until all ended, and whether any was left PENDING/RUNNING (stuck) after the bound.
// 3. A restart: executions waiting in a delay when `wrangler dev` is stopped and started again
//    on the same state; the scheduled watchdog (fired as npm start does) must bring them home.
// Loopback only; bounded in count and time.
//
//   node bench/workflowEngine.mjs [--rounds 5] [--concurrency 10,25,50]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateLocal, startLocalServer } from '../scripts/localServer.mjs';
import { BENCH_VARS, signBenchToken } from './fixture/auth.mjs';
import { median } from './lib.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '10,25,50' },
    'skip-restart': { type: 'boolean', default: false },
  },
});
const ROUNDS = Number(values.rounds);
const LEVELS = values.concurrency.split(',').map(Number);
const VARS = BENCH_VARS;

const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-engine-'));
migrateLocal({ persistTo, quiet: true });
const stdio = process.env.BENCH_VERBOSE ? 'inherit' : 'ignore';
let server = await startLocalServer({ persistTo, vars: VARS, stdio });
// Whatever happens (a failed request throws), never leave wrangler dev running.
process.on('exit', () => server.stop());
// With the bench's audiences: BENCH_VARS is a production configuration.
const token = await signBenchToken({
  sub: 'max',
  name: 'Max',
  tenant: 'bench',
  roles: ['change_manager'],
});

/** @typedef {{ id: string, status: string, startedAt: string | null, endedAt: string | null }} Execution */

let restartsSeen = 0;
/**
 * One GraphQL request; the caller names the shape of the data its query selects.
 * @param {string} query
 * @param {Record<string, unknown>} [variables]
 * @param {{ retryRestart?: boolean }} [options]
 * @returns {Promise<unknown>}
 */
async function gql(query, variables = {}, { retryRestart = false } = {}) {
  for (;;) {
    const res = await fetch(`${server.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await res.text();
    // wrangler dev answers this (not JSON) when workerd restarted under the request; a read may retry.
    if (text.startsWith('Your worker restarted')) {
      restartsSeen++;
      if (retryRestart) continue;
      throw new Error(text);
    }
    const body = /** @type {{ data?: unknown, errors?: unknown }} */ (JSON.parse(text));
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data;
  }
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * @param {string} name
 * @param {Record<string, unknown>[]} steps
 */
async function workflow(name, steps) {
  const d = /** @type {{ createWorkflow: { id: string } }} */ (
    await gql('mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }', {
      i: { name, steps },
    })
  );
  return d.createWorkflow.id;
}

/** @param {string} id */
const execute = async (id) => {
  const d = /** @type {{ executeWorkflow: { id: string } }} */ (
    await gql('mutation($w: ID!) { executeWorkflow(workflowId: $w) { id } }', { w: id })
  );
  return d.executeWorkflow.id;
};

/** @param {string[]} ids */
async function states(ids) {
  /** @type {Execution[]} */
  const out = [];
  for (const id of ids) {
    const d = /** @type {{ execution: Execution }} */ (
      await gql(
        'query($id: ID!) { execution(id: $id) { id status startedAt endedAt } }',
        { id },
        { retryRestart: true },
      )
    );
    out.push(d.execution);
  }
  return out;
}

/**
 * @param {string[]} ids
 * @param {number} timeoutMs
 */
async function waitAll(ids, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  /** @type {Execution[]} */
  let last = [];
  while (Date.now() < deadline) {
    last = await states(ids);
    if (last.every((e) => TERMINAL.has(e.status))) return last;
    await sleep(100);
  }
  return last;
}

const transforms = (/** @type {number} */ n) =>
  Array.from({ length: n }, (_, i) => ({ id: `t${i}`, type: 'transform', spec: { value: i } }));
const engineMs = (/** @type {Execution} */ e) => Date.parse(e.endedAt ?? '') - Date.parse(e.startedAt ?? '');

// 1. Per-step overhead.
const one = await workflow('one step', transforms(1));
const twenty = await workflow('twenty steps', transforms(20));
for (const id of [one, twenty]) await waitAll([await execute(id)], 60_000); // warm-up
/** @type {number[]} */
const t1 = [];
/** @type {number[]} */
const t20 = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const [id, into] of /** @type {[string, number[]][]} */ ([
    [one, t1],
    [twenty, t20],
  ])) {
    const [e] = await waitAll([await execute(id)], 60_000);
    if (!e) throw new Error(`no state for an execution of ${id}`);
    if (e.status !== 'SUCCEEDED') throw new Error(`execution ${e.id} ended ${e.status}`);
    into.push(engineMs(e));
  }
}
const perStep = (median(t20) - median(t1)) / 19;
console.log('\nOverhead per step (20 no-op transforms vs 1, engine time from startedAt to endedAt)');
console.log(`  1 step:   median ${median(t1)} ms   (${t1.join(', ')})`);
console.log(`  20 steps: median ${median(t20)} ms   (${t20.join(', ')})`);
console.log(`  per step: ${perStep.toFixed(1)} ms`);

// 2. Executions at once.
const mixed = await workflow('five and a pause', [
  ...transforms(5),
  { id: 'pause', type: 'delay', durationMs: 1000 },
]);
const concurrency = [];
console.log('\nExecutions at once (5 transforms + 1 s delay each; bound 180 s)');
for (const k of LEVELS) {
  const started = Date.now();
  const ids = await Promise.all(Array.from({ length: k }, () => execute(mixed)));
  const end = await waitAll(ids, 180_000);
  const ok = end.filter((e) => e.status === 'SUCCEEDED').length;
  const stuck = end.filter((e) => !TERMINAL.has(e.status)).length;
  const row = {
    workerRestarts: restartsSeen,
    executions: k,
    succeeded: ok,
    stuck,
    drainedMs: Date.now() - started,
    medianEngineMs: median(end.filter((e) => e.endedAt).map(engineMs)),
  };
  concurrency.push(row);
  console.log(
    `  ${String(k).padStart(4)} at once: ${ok} succeeded, ${stuck} stuck, all ended in ${row.drainedMs} ms (median ${row.medianEngineMs} ms each)`,
  );
}

// 3. A restart of wrangler dev while executions wait in a delay.
let restart = null;
if (!values['skip-restart']) {
  const waiting = await workflow('wait across a restart', [
    { id: 'pause', type: 'delay', durationMs: 3000 },
    { id: 'after', type: 'transform', spec: { value: 'done' } },
  ]);
  const ids = await Promise.all(Array.from({ length: 5 }, () => execute(waiting)));
  await sleep(1000);
  server.stop();
  await sleep(2000);
  server = await startLocalServer({ persistTo, vars: VARS, stdio });
  const restartedAt = Date.now();
  // Wait past the nudge threshold (60 s after the planned wake-up), then fire the cron as npm start does.
  let end = await waitAll(ids, 5_000);
  const endedWithoutHelp = end.filter((e) => TERMINAL.has(e.status)).length;
  if (!end.every((e) => TERMINAL.has(e.status))) {
    await sleep(Math.max(0, 64_000 - (Date.now() - restartedAt)));
    await fetch(`${server.baseUrl}/__scheduled?cron=*+*+*+*+*`);
    end = await waitAll(ids, 30_000);
  }
  restart = {
    executions: ids.length,
    endedWithoutWatchdog: endedWithoutHelp,
    succeeded: end.filter((e) => e.status === 'SUCCEEDED').length,
    stuck: end.filter((e) => !TERMINAL.has(e.status)).length,
    recoveredInMs: Date.now() - restartedAt,
  };
  console.log('\nRestart of wrangler dev with 5 executions in a delay');
  console.log(
    `  ${restart.endedWithoutWatchdog} ended by themselves; after the watchdog: ${restart.succeeded} succeeded, ${restart.stuck} stuck (${restart.recoveredInMs} ms after the restart)`,
  );
}

server.stop();
rmSync(persistTo, { recursive: true, force: true });
console.log(JSON.stringify({ perStepMs: perStep, t1, t20, concurrency, restart }));
