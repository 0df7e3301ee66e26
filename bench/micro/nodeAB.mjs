// The Node runtime at two commits, side by side over loopback: each commit's source is exported
// (git archive) and bundled as `npm run serve:node` bundles it, both servers run on one seeded
// SQLite file in their own processes with the bench's production configuration (every limiter
// on), and autocannon rounds alternate between them (the first one rotating), so that a loaded
// machine colours both alike. Prints req/s (mean ±95%), p50/p99, and the server process's CPU
// per request (user + system, from /proc: what a loaded machine disturbs least), and the ratios.
// `--server bridge` runs the node:http bridge of each commit alone instead, in front of a fixed
// answer (bench/micro/bridgeServer.mjs).
//
//   node --import tsx bench/micro/nodeAB.mjs --base <rev> [--head <rev>|worktree]
//        [--server runtime|bridge] [--ops single,list] [--connections 10] [--rounds 8] [--duration-s 3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { OPERATIONS } from '../fixture/operations.mjs';
import { load } from '../http/load.mjs';
import { createBenchDatabase } from '../inprocess/database.mjs';
import { median } from '../lib.mjs';
import { confidenceInterval } from '../stats.mjs';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    head: { type: 'string', default: 'worktree' },
    server: { type: 'string', default: 'runtime' },
    ops: { type: 'string', default: 'single,list' },
    connections: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '8' },
    'duration-s': { type: 'string', default: '3' },
  },
});
if (!values.base) throw new Error('usage: --base <rev> [--head <rev>|worktree]');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const git = (/** @type {string[]} */ args) =>
  execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const dir = mkdtempSync(join(tmpdir(), 'changeflow-node-ab-'));

/** The source tree of `rev` (the worktree as it is for `worktree`). */
function tree(/** @type {string} */ rev, /** @type {string} */ name) {
  let root = ROOT;
  if (rev !== 'worktree') {
    root = join(dir, name);
    mkdirSync(root);
    execFileSync('sh', ['-c', `git archive ${git(['rev-parse', rev])} | tar -x -C '${root}'`], { cwd: ROOT });
    // better-sqlite3 stays external: the bundle loads it from beside itself.
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  }
  return root;
}

/** The node arguments that run the server of `rev`: its bundled runtime, or its bridge alone. */
async function serverCommand(/** @type {string} */ rev, /** @type {string} */ name) {
  const root = tree(rev, name);
  if (values.server === 'bridge') {
    return ['--import', 'tsx', join(ROOT, 'bench/micro/bridgeServer.mjs'), '--root', root];
  }
  const { buildNodeServer } = await import(pathToFileURL(join(root, 'scripts/buildNode.mjs')).href);
  return [await buildNodeServer(join(root, 'dist/node', `${name}.mjs`))];
}

/** CPU seconds (user + system) the process has used so far. */
function cpuSeconds(/** @type {number} */ pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Starts one server and waits until it answers. */
async function startServer(
  /** @type {string[]} */ args,
  /** @type {string} */ url,
  /** @type {(url: string) => Promise<boolean>} */ probe,
) {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...BENCH_VARS, NODE_ENV: 'production' },
  });
  const stop = () =>
    child.exitCode === null ? new Promise((r) => child.once('exit', r).kill('SIGTERM')) : Promise.resolve();
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    if (await probe(url).catch(() => false)) return { pid: /** @type {number} */ (child.pid), stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`${args.join(' ')} did not answer`);
}

/** @type {{ pid: number, stop: () => Promise<unknown> }[]} */
const servers = [];
try {
  const dbPath = join(dir, 'bench.sqlite');
  (await createBenchDatabase(dbPath)).close();
  const { reader } = await benchTokens();
  const headers = { authorization: `Bearer ${reader}` };
  const ops = values.ops.split(',').map((op) => {
    const o = OPERATIONS[/** @type {keyof typeof OPERATIONS} */ (op)];
    if (!o) throw new Error(`unknown operation ${op}`);
    return { op, body: JSON.stringify({ query: o.query, variables: o.variables() }) };
  });
  const probe = async (/** @type {string} */ url) =>
    (
      await fetch(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: ops[0]?.body ?? '',
      })
    ).ok;
  const variants = [
    { name: `base ${values.base}`, rev: values.base, port: 8840 },
    { name: `head ${values.head}`, rev: values.head, port: 8841 },
  ];
  for (const [i, v] of variants.entries()) {
    const command = await serverCommand(v.rev, `v${i}`);
    servers.push(
      await startServer(
        [...command, '--db', dbPath, '--port', String(v.port), '--host', '127.0.0.1'],
        `http://127.0.0.1:${v.port}/graphql`,
        probe,
      ),
    );
  }
  const connections = Number(values.connections);
  const durationS = Number(values['duration-s']);
  console.log(
    `Node ${values.server} A/B over loopback, ${values.rounds} alternating rounds × ${durationS} s, ${connections} connections (${new Date().toISOString()})`,
  );
  for (const { op, body } of ops) {
    /** @type {{ rps: number[], cpuUs: number[], p50: number[], p99: number[], failures: number }[]} */
    const r = variants.map(() => ({ rps: [], cpuUs: [], p50: [], p99: [], failures: 0 }));
    const run = (/** @type {number} */ i, /** @type {number} */ s) =>
      load({
        url: `http://127.0.0.1:${variants[i]?.port}/graphql`,
        body,
        headers,
        connections,
        durationS: s,
      });
    for (const i of variants.keys()) await run(i, 1); // warm-up
    for (let k = 0; k < Number(values.rounds); k++) {
      const order = k % 2 ? [1, 0] : [0, 1];
      for (const i of order) {
        const pid = /** @type {(typeof servers)[number]} */ (servers[i]).pid;
        const cpu = cpuSeconds(pid);
        const x = await run(i, durationS);
        const e = /** @type {(typeof r)[number]} */ (r[i]);
        e.cpuUs.push(((cpuSeconds(pid) - cpu) * 1e6) / (x.rps * durationS));
        e.rps.push(x.rps);
        e.p50.push(x.p50);
        e.p99.push(x.p99);
        e.failures += x.errors + x.non2xx;
      }
    }
    const means = r.map((e) => confidenceInterval(e.rps));
    const cpus = r.map((e) => confidenceInterval(e.cpuUs));
    for (const [i, v] of variants.entries()) {
      const e = /** @type {(typeof r)[number]} */ (r[i]);
      const ci = /** @type {(typeof means)[number]} */ (means[i]);
      const cpu = /** @type {(typeof cpus)[number]} */ (cpus[i]);
      console.log(
        `  ${op.padEnd(7)} ${v.name.padEnd(24)} ${ci.mean.toFixed(0).padStart(6)} req/s ±${(ci.relative * 100).toFixed(1)}%  server CPU ${cpu.mean.toFixed(0)} µs/req ±${(cpu.relative * 100).toFixed(1)}%  p50 ${median(e.p50)} ms  p99 ${median(e.p99)} ms  failures ${e.failures}`,
      );
    }
    const [a, b] = means;
    const [ca, cb] = cpus;
    if (a && b && ca && cb) {
      console.log(
        `  ${op.padEnd(7)} head/base: req/s ×${(b.mean / a.mean).toFixed(3)}, server CPU per request ×${(cb.mean / ca.mean).toFixed(3)}`,
      );
    }
  }
} finally {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
}
