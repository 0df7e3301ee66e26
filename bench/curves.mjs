// `npm run bench:curves`: cost against data size (issue 17 item 3). For each size (100, 10,000 and
// 100,000 changes of the measured tenant by default, about ten audit events per change, two
// other tenants at a tenth of its size), a child process generates the data set
// (bench/curves/generate.mjs: seeded, deterministic, hash chain and signed digests by the
// project's own code) in a SQLite file with every migration applied, then runs each operation
// through the real app in process (createNodeApp(...).fetch over the Node runtime's SQLite, the
// production configuration of bench/fixture/auth.mjs with every limiter on) and reports per
// operation: wall µs (median, p90, mean of the iterations), the SQL statements it ran, the rows
// they returned, and EXPLAIN QUERY PLAN of each statement. The parent then judges each curve
// (bench/curves/flatness.mjs) and writes bench/results/curves-<label>-<date>.json.
//
//   npm run bench:curves                               100 / 10k / 100k, label "shared-loaded"
//   npm run bench:curves -- --sizes 100,10000 --smoke  anywhere, writes curves-smoke-latest.json
//   npm run bench:curves -- --without 0021_curve_indexes.sql --label before-0021
//        the same without a migration (to show what an index changed)
//
// Results are recorded only from a clean tree (bench/stats.mjs), or with --smoke. Each size runs
// in its own process so that one size's heap and JIT state never colour another's figures.
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { curveVerdicts } from './curves/flatness.mjs';
import { assertRecordable, gitState } from './stats.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100,10000,100000' },
    'events-per-change': { type: 'string', default: '10' },
    iterations: { type: 'string', default: '40' },
    seed: { type: 'string', default: '17' },
    label: { type: 'string', default: 'shared-loaded' },
    without: { type: 'string', default: '' },
    smoke: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    // Internal: one size, in a child process.
    child: { type: 'boolean', default: false },
    size: { type: 'string' },
    out: { type: 'string' },
    migrations: { type: 'string' },
  },
});

/** Operations whose cost must not grow with the data: all but the KPIs (an aggregate over every change). */
const EXPECT_FLAT = {
  single: true,
  listByStatus: true,
  listByService: true,
  deepPage: true,
  kpis: false,
  compliance: true,
  auditPage: true,
  auditOfTarget: true,
  verifyRecent: true,
  create: true,
  approve: true,
};

if (values.child) {
  const { measureSize } = await import('./curves/measure.mjs');
  const result = await measureSize({
    size: Number(values.size),
    eventsPerChange: Number(values['events-per-change']),
    iterations: Number(values.iterations),
    seed: Number(values.seed),
    migrationsDir: values.migrations ?? join(ROOT, 'migrations'),
  });
  writeFileSync(/** @type {string} */ (values.out), JSON.stringify(result));
  process.exit(0);
}

const sizes = values.sizes.split(',').map(Number);
const tree = gitState(ROOT);
assertRecordable(tree, { smoke: values.smoke });
const tmp = mkdtempSync(join(tmpdir(), 'changeflow-curves-'));
// --without: the migrations minus the named files (what the curve was before an index).
const migrationsDir = join(tmp, 'migrations');
mkdirSync(migrationsDir);
const without = new Set(values.without.split(',').filter(Boolean));
for (const f of readdirSync(join(ROOT, 'migrations'))) {
  if (!without.has(f)) copyFileSync(join(ROOT, 'migrations', f), join(migrationsDir, f));
}

/** Runs one size in a child process (stdout, the app's request log, discarded). */
function runSize(/** @type {number} */ size) {
  const out = join(tmp, `size-${size}.json`);
  const args = [
    '--import',
    'tsx',
    fileURLToPath(import.meta.url),
    '--child',
    '--size',
    String(size),
    '--out',
    out,
    '--migrations',
    migrationsDir,
    '--events-per-change',
    values['events-per-change'],
    '--iterations',
    values.iterations,
    '--seed',
    values.seed,
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    // Bounded: an hour per size at most (the 100k generation hashes a million events).
    const kill = setTimeout(() => child.kill('SIGKILL'), 3600_000);
    child.on('exit', (code, signal) => {
      clearTimeout(kill);
      resolve(code === 0 ? JSON.parse(readFileSync(out, 'utf8')) : { size, error: `exit ${code ?? signal}` });
    });
  });
}

const loadStart = loadavg();
const started = performance.now();
/** @type {any[]} */
const results = [];
try {
  for (const size of sizes) {
    console.error(`▶ ${size} changes`);
    results.push(await runSize(size));
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const measured = results.filter((r) => !r.error);
const curves = Object.fromEntries(
  Object.entries(EXPECT_FLAT).map(([op, expectFlat]) => [
    op,
    {
      expectFlat,
      points: measured.flatMap((r) =>
        r.operations[op]
          ? [{ size: r.size, micros: r.operations[op].medianUs, items: r.operations[op].items }]
          : [],
      ),
    },
  ]),
);
const verdict = curveVerdicts(curves);
const load = loadavg();
const report = {
  kind: 'cost-curves',
  label: values.label,
  meta: {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'unknown'}, shared/loaded (other sessions running)`,
    loadStart,
    loadEnd: load,
    durationS: (performance.now() - started) / 1000,
    commit: tree.commit,
    dirty: tree.dirty,
    smoke: values.smoke,
    without: [...without],
    seed: Number(values.seed),
    eventsPerChange: Number(values['events-per-change']),
    iterations: Number(values.iterations),
  },
  verdict,
  sizes: results,
};

console.log(renderTable(report));
if (!values['no-write']) {
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const after = gitState(ROOT);
  const file = values.smoke
    ? join(dir, 'curves-smoke-latest.json')
    : join(dir, `curves-${values.label}-${report.meta.date.slice(0, 10)}.json`);
  if (!values.smoke && (after.commit !== tree.commit || after.dirty !== tree.dirty)) {
    console.error(`✗ not recorded: the tree changed during the run (${tree.commit} → ${after.commit})`);
    process.exitCode = 1;
  } else {
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`Written: ${file.slice(ROOT.length)} (${(statSync(file).size / 1024).toFixed(0)} KiB)`);
  }
}
if (results.some((r) => r.error)) process.exitCode = 1;

/** The curve table: median µs per operation at each size, rows returned, and the verdict. */
function renderTable(/** @type {typeof report} */ r) {
  const ok = r.sizes.filter((s) => !s.error);
  const lines = [
    `| operation | ${ok.map((s) => `${s.size} changes`).join(' | ')} | per-item growth | verdict |`,
    `|---|${ok.map(() => '---|').join('')}---|---|`,
  ];
  for (const op of Object.keys(EXPECT_FLAT)) {
    const v = r.verdict.verdicts[op];
    if (!v) continue;
    const cells = ok.map((s) => {
      const o = s.operations[op];
      return o ? `${Math.round(o.medianUs)} µs, ${o.statements} st, ${o.rowsReturned} rows` : '–';
    });
    const verdictText = !v.expectFlat
      ? `grows (aggregate), ×${v.ratio.toFixed(1)}`
      : v.flat === null
        ? 'not judged'
        : v.flat
          ? 'flat'
          : 'NOT flat';
    lines.push(
      `| ${op} | ${cells.join(' | ')} | ×${Number.isFinite(v.ratio) ? v.ratio.toFixed(2) : '?'} | ${verdictText} |`,
    );
  }
  for (const s of r.sizes.filter((x) => x.error)) lines.push(`\n${s.size}: ${s.error}`);
  for (const s of ok)
    lines.push(
      `\n${s.size}: generated ${s.generated.auditEvents} audit events in ${s.generated.seconds.toFixed(0)} s, ${(s.generated.fileBytes / 1048576).toFixed(0)} MiB; facts check ${s.generated.checksPassed ? 'passed' : 'FAILED'}`,
    );
  lines.push(`\nEvery indexed read flat from smallest to largest: ${r.verdict.allFlat}`);
  return lines.join('\n');
}
