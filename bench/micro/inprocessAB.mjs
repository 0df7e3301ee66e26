// ChangeFlow's whole request path in process (createApp(schema).fetch, bench/inprocess/yoga.mjs:
// production configuration, every limiter on) at two commits, side by side: each commit's tree
// runs in a process of its own (bench/micro/inprocessWorker.mjs) on its own copy of the seeded
// database, and timed rounds alternate between them (the first rotating). Reports ops/s and
// main-thread CPU µs per operation, each as a mean with its 95% interval, and the ratios.
//
//   node --import tsx bench/micro/inprocessAB.mjs --base <rev> [--head <rev>|worktree]
//        [--ops single,list,create] [--rounds 10] [--round-ms 1500]
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { confidenceInterval } from '../stats.mjs';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    head: { type: 'string', default: 'worktree' },
    ops: { type: 'string', default: 'single,list,create' },
    rounds: { type: 'string', default: '10' },
    'round-ms': { type: 'string', default: '1500' },
  },
});
if (!values.base) throw new Error('usage: --base <rev> [--head <rev>|worktree]');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'changeflow-inprocess-ab-'));

function tree(/** @type {string} */ rev, /** @type {string} */ name) {
  if (rev === 'worktree') return ROOT;
  const root = join(dir, name);
  mkdirSync(root);
  const commit = execFileSync('git', ['rev-parse', rev], { cwd: ROOT, encoding: 'utf8' }).trim();
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C '${root}'`], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

/** @typedef {{ n: number, ms: number, cpuUs: number }} Round */
/** A worker process for one tree; `run(op, ms)` resolves with what one timed round did. */
async function start(/** @type {string} */ root, /** @type {string} */ name) {
  const child = fork(
    join(ROOT, 'bench/micro/inprocessWorker.mjs'),
    ['--root', root, '--db', join(dir, `${name}.sqlite`)],
    {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return {
    run: (/** @type {string} */ op, /** @type {number} */ ms) =>
      /** @type {Promise<Round>} */ (
        new Promise((resolve) => {
          child.once('message', (m) => resolve(/** @type {Round} */ (m)));
          child.send({ op, ms });
        })
      ),
    stop: () => child.kill(),
  };
}

const workers = [];
try {
  const variants = [
    { name: `base ${values.base}`, root: tree(values.base, 'base') },
    { name: `head ${values.head}`, root: tree(values.head, 'head') },
  ];
  for (const [i, v] of variants.entries()) workers.push(await start(v.root, `v${i}`));
  const roundMs = Number(values['round-ms']);
  console.log(
    `in process A/B, ${values.rounds} alternating rounds × ${roundMs} ms per operation (${new Date().toISOString()})`,
  );
  for (const op of values.ops.split(',')) {
    for (const w of workers) await w.run(op, 1000); // warm-up
    /** @type {{ rate: number[], cpu: number[] }[]} */
    const r = workers.map(() => ({ rate: [], cpu: [] }));
    for (let k = 0; k < Number(values.rounds); k++) {
      for (const i of k % 2 ? [1, 0] : [0, 1]) {
        const x = await /** @type {(typeof workers)[number]} */ (workers[i]).run(op, roundMs);
        const e = /** @type {(typeof r)[number]} */ (r[i]);
        e.rate.push(x.n / (x.ms / 1000));
        e.cpu.push(x.cpuUs / x.n);
      }
    }
    const rates = r.map((e) => confidenceInterval(e.rate));
    const cpus = r.map((e) => confidenceInterval(e.cpu));
    for (const [i, v] of variants.entries()) {
      const rate = /** @type {(typeof rates)[number]} */ (rates[i]);
      const cpu = /** @type {(typeof cpus)[number]} */ (cpus[i]);
      console.log(
        `  ${op.padEnd(7)} ${v.name.padEnd(22)} ${rate.mean.toFixed(0).padStart(6)} ops/s ±${(rate.relative * 100).toFixed(1)}%  main-thread CPU ${cpu.mean.toFixed(0)} µs/op ±${(cpu.relative * 100).toFixed(1)}%`,
      );
    }
    const [ra, rb] = rates;
    const [ca, cb] = cpus;
    if (ra && rb && ca && cb) {
      console.log(
        `  ${op.padEnd(7)} head/base: ops/s ×${(rb.mean / ra.mean).toFixed(3)}, CPU per op ×${(cb.mean / ca.mean).toFixed(3)}`,
      );
    }
  }
} finally {
  for (const w of workers) w.stop();
  rmSync(dir, { recursive: true, force: true });
}
