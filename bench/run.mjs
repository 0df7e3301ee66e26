// `npm run bench`: every side-by-side comparison of issue 7 in one run, each section in its own
// process (so that no section's JIT state, heap or servers colour another's figures), then one
// table, bench/results/latest.json and a dated copy bench/results/bench-YYYY-MM-DD.json.
//
//   npm run bench                      full run (up to about an hour on 2 cores: rounds repeat until ±5%)
//   npm run bench -- --quick           fewer and shorter rounds: a smoke run (see below)
//   npm run bench -- --smoke           label the run a smoke run (implied by --quick)
//
// Results are recorded only from a clean tree (stats.mjs assertRecordable): a full run refuses to
// start on a dirty one. A smoke run may run anywhere; its file is bench/results/smoke-latest.json,
// marked `"smoke": true`, and never latest.json: its figures prove the bench runs, nothing more.
//   npm run bench -- --only inprocess,http   some sections only (inprocess, http, worker, bundle)
//   npm run bench -- --rounds 7        override every section's number of rounds
//
// Sections: inprocess (1: Yoga vs graphql-js floor vs Apollo vs Mercurius, and 4: SQL statements),
// http (2: loopback HTTP with autocannon), worker (3: wrangler dev, GraphQL vs no-GraphQL floor,
// MCP vs GraphQL; and wrangler dev start-up), bundle (5: bundle size and evaluation time).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderReport } from './report.mjs';
import { assertRecordable, gitState } from './stats.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECTIONS = {
  // Node flags: tsx where a section imports TypeScript (src/, or the typed operations).
  // Rounds repeat until every interval is within ±5%, up to --rounds (in process: 9+ servers ×
  // 3 operations × up to 30 rounds of 2 s; HTTP: 7 servers × 4 runs × up to 12 rounds of 3 s).
  inprocess: { node: ['--import', 'tsx'], limitS: 2400, rounds: true },
  http: { node: ['--import', 'tsx'], limitS: 2400, rounds: true },
  worker: { node: ['--import', 'tsx'], limitS: 300, rounds: true },
  bundle: { node: [], limitS: 120, rounds: false },
};

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
  },
});
/** @typedef {keyof typeof SECTIONS} SectionName */
/**
 * @param {string} name
 * @returns {name is SectionName}
 */
function isSection(name) {
  return Object.hasOwn(SECTIONS, name);
}
const only = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(SECTIONS);
/** @type {SectionName[]} */
const sections = only.map((name) => {
  if (!isSection(name)) throw new Error(`unknown section ${name}`);
  return name;
});

/**
 * Runs one section script; resolves with its JSON result or `{ error }`. Never throws.
 * @param {SectionName} name
 * @param {string} outFile
 * @returns {Promise<unknown>}
 */
function runSection(name, outFile) {
  const { node, limitS, rounds } = SECTIONS[name];
  const args = [
    ...node,
    join(ROOT, 'bench/sections', `${name}.mjs`),
    '--out',
    outFile,
    ...(values.quick ? ['--quick'] : []),
    ...(values.rounds && rounds ? ['--rounds', values.rounds] : []),
  ];
  return new Promise((resolve) => {
    // stdout is discarded: in process it carries the app's request log (part of the measured cost).
    // Every server measured as deployed: production mode (graphql-js skips its development checks;
    // the Worker bundle and `npm run serve:node` fold NODE_ENV to production too).
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production' },
    });
    // A bounded run: a section over its limit is asked to stop (it stops its servers), then killed.
    const term = setTimeout(() => child.kill('SIGTERM'), limitS * 1000);
    const kill = setTimeout(() => child.kill('SIGKILL'), (limitS + 15) * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(term);
      clearTimeout(kill);
      if (code === 0) resolve(JSON.parse(readFileSync(outFile, 'utf8')));
      else resolve({ error: signal ? `stopped by ${signal} (limit ${limitS} s)` : `exit code ${code}` });
    });
  });
}

const smoke = values.quick || values.smoke;
const tree = gitState(ROOT);
// Before measuring anything: minutes of a full run are not spent on figures that cannot be kept.
assertRecordable(tree, { smoke });

const started = performance.now();
const loadStart = loadavg();
const tmp = mkdtempSync(join(tmpdir(), 'changeflow-bench-'));
/** @type {Record<string, unknown>} */
const results = {};
const KEYS = { inprocess: 'inProcess', http: 'http', worker: 'worker', bundle: 'bundle' };
try {
  for (const name of sections) {
    console.error(`\n▶ ${name}`);
    const t = performance.now();
    results[KEYS[name]] = await runSection(name, join(tmp, `${name}.json`));
    console.error(`  ${name}: ${((performance.now() - t) / 1000).toFixed(0)} s`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const date = new Date().toISOString().slice(0, 10);
const report = {
  meta: {
    date,
    mode: values.quick ? 'quick' : 'full',
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    // Other work on the machine shows here: the figures are only comparable within one run.
    loadStart,
    loadEnd: loadavg(),
    durationS: (performance.now() - started) / 1000,
    commit: tree.commit,
    dirty: tree.dirty,
    smoke,
    sections: only,
  },
  ...results,
};

const dir = join(ROOT, 'bench/results');
mkdirSync(dir, { recursive: true });
const json = `${JSON.stringify(report, null, 2)}\n`;
// The tree may have changed during the run (another session's checkout): checked again.
const after = gitState(ROOT);
const unchanged = after.commit === tree.commit && after.dirty === tree.dirty;
console.log(`\n${renderReport(report)}\n`);
if (smoke) {
  writeFileSync(join(dir, 'smoke-latest.json'), json);
  console.log('Written: bench/results/smoke-latest.json (a smoke run: proves the bench runs, not a result)');
} else if (!unchanged) {
  console.error(
    `✗ not recorded: the tree changed during the run (${tree.commit} → ${after.commit}, dirty ${after.dirty})`,
  );
  process.exitCode = 1;
} else {
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, `bench-${date}.json`), json);
  console.log(`Written: bench/results/latest.json, bench/results/bench-${date}.json`);
}
const failed = (/** @type {unknown} */ r) => typeof r === 'object' && r !== null && 'error' in r;
if (Object.values(results).some(failed)) process.exitCode = 1;
