// The D1 adapter over SQLite (src/runtime/node/sqlite.ts) at two commits, and raw better-sqlite3
// beside them, side by side in one process on copies of one seeded database: the statements the
// single read and the list of 50 run (recorded through the app once, with their values), and a
// writing batch of six statements (five UPDATEs and a SELECT, one transaction, as a commit does).
// Rounds alternate; reports µs per operation (mean ±95%) and the adapter's overhead over raw.
//
//   node --import tsx bench/micro/sqliteAdapter.mjs --base <rev> [--rounds 10] [--round-ms 1000] > /dev/null
//   (the table goes to stderr; stdout is the request log of the recording runs)
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { OPERATIONS } from '../fixture/operations.mjs';
import { createBenchDatabase } from '../inprocess/database.mjs';
import { createYogaVariant } from '../inprocess/yoga.mjs';
import { confidenceInterval } from '../stats.mjs';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    rounds: { type: 'string', default: '10' },
    'round-ms': { type: 'string', default: '1000' },
  },
});
if (!values.base) throw new Error('usage: --base <rev>');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'changeflow-sqlite-ab-'));

/** @typedef {{ method: string, sql: string, params: unknown[] }} Recorded */
/** Each statement the app runs for `op` (after a warm-up run), in order, batches as arrays. */
async function record(/** @type {string} */ path, /** @type {keyof typeof OPERATIONS} */ op) {
  const db = await createBenchDatabase(path);
  /** @type {(Recorded | Recorded[])[]} */
  const into = [];
  const tap = /** @type {any} */ (db);
  const { prepare, batch } = tap;
  let on = false;
  tap.prepare = (/** @type {string} */ sql) => {
    const stmt = prepare.call(db, sql);
    const wrap = (/** @type {any} */ s) =>
      new Proxy(s, {
        get(target, prop) {
          if (prop === 'bind') return (/** @type {unknown[]} */ ...v) => wrap(target.bind(...v));
          const value = Reflect.get(target, prop, target);
          if (['first', 'all', 'run', 'raw'].includes(String(prop))) {
            return (/** @type {unknown[]} */ ...a) => {
              if (on) into.push({ method: String(prop), sql: target.sql, params: [...target.params] });
              return value.apply(target, a);
            };
          }
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    return wrap(stmt);
  };
  tap.batch = (/** @type {any[]} */ stmts) => {
    if (on) into.push(stmts.map((s) => ({ method: 'batch', sql: s.sql, params: [...s.params] })));
    return batch.call(
      db,
      stmts.map((s) => Reflect.get(s, 'valueOf') && s),
    );
  };
  const variant = createYogaVariant({ schema, db, vars: BENCH_VARS, tokens: await benchTokens() });
  await variant.run(OPERATIONS[op]);
  on = true;
  await variant.run(OPERATIONS[op]);
  db.close();
  return into;
}

const seeded = join(dir, 'seeded.sqlite');
const reads = {
  single: await record(seeded, 'single'),
  list: await record(join(dir, 'list.sqlite'), 'list'),
};
const ids = new Database(seeded).prepare('SELECT id FROM change_requests ORDER BY id LIMIT 5').pluck().all();

// The base commit's adapter, from its own tree.
const baseRoot = join(dir, 'base');
mkdirSync(baseRoot);
const commit = execFileSync('git', ['rev-parse', values.base], { cwd: ROOT, encoding: 'utf8' }).trim();
execFileSync('sh', ['-c', `git archive ${commit} src | tar -x -C '${baseRoot}'`], { cwd: ROOT });
symlinkSync(join(ROOT, 'node_modules'), join(baseRoot, 'node_modules'));
const adapters = {
  base: await import(pathToFileURL(join(baseRoot, 'src/runtime/node/sqlite.ts')).href),
  head: await import(pathToFileURL(join(ROOT, 'src/runtime/node/sqlite.ts')).href),
};

/** Runs what was recorded for an operation against a D1Database. */
async function replay(/** @type {D1Database} */ db, /** @type {(Recorded | Recorded[])[]} */ statements) {
  for (const s of statements) {
    if (Array.isArray(s)) await db.batch(s.map((x) => db.prepare(x.sql).bind(...x.params)));
    else {
      const stmt = db.prepare(s.sql).bind(...s.params);
      if (s.method === 'raw') await stmt.raw();
      else if (s.method === 'first') await stmt.first();
      else await stmt.all();
    }
  }
}
const writeBatch = (/** @type {D1Database} */ db) =>
  db.batch([
    ...ids.map((id) => db.prepare('UPDATE change_requests SET version = version + 1 WHERE id = ?1').bind(id)),
    db.prepare('SELECT COUNT(*) AS n FROM change_requests WHERE id IN (?1, ?2)').bind(ids[0], ids[1]),
  ]);

/** The floor: the same statements through better-sqlite3 directly (numbered ?NNN bound by name). */
function rawRunner(/** @type {import('better-sqlite3').Database} */ sqlite) {
  const cache = new Map();
  const prep = (/** @type {string} */ sql) => {
    let s = cache.get(sql);
    if (!s) {
      let max = 0;
      s = sqlite.prepare(
        sql.replace(/\?(\d*)/g, (_, d) => {
          const n = d ? Number(d) : max + 1;
          max = Math.max(max, n);
          return `@p${n}`;
        }),
      );
      cache.set(sql, s);
    }
    return s;
  };
  const bind = (/** @type {unknown[]} */ params) =>
    params.length ? [Object.fromEntries(params.map((v, i) => [`p${i + 1}`, v]))] : [];
  const update = sqlite.transaction(() => {
    for (const id of ids)
      prep('UPDATE change_requests SET version = version + 1 WHERE id = ?1').run(...bind([id]));
    return prep('SELECT COUNT(*) AS n FROM change_requests WHERE id IN (?1, ?2)').all(
      ...bind([ids[0], ids[1]]),
    );
  });
  return {
    replay: (/** @type {(Recorded | Recorded[])[]} */ statements) => {
      for (const s of statements) {
        for (const x of Array.isArray(s) ? s : [s]) {
          const st = prep(x.sql);
          if (st.reader) st.all(...bind(x.params));
          else st.run(...bind(x.params));
        }
      }
    },
    write: () => update.immediate(),
  };
}

/** @typedef {'single' | 'list' | 'write'} Op */
/** @type {Record<string, Record<Op, () => Promise<unknown>>>} */
const contestants = {};
for (const name of ['base', 'head']) {
  const path = join(dir, `${name}.sqlite`);
  copyFileSync(seeded, path);
  const db = adapters[/** @type {'base' | 'head'} */ (name)].openSqliteD1(path);
  contestants[name] = {
    single: () => replay(db, reads.single),
    list: () => replay(db, reads.list),
    write: () => writeBatch(db),
  };
}
{
  const path = join(dir, 'raw.sqlite');
  copyFileSync(seeded, path);
  const sqlite = new Database(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  const raw = rawRunner(sqlite);
  contestants.raw = {
    single: async () => raw.replay(reads.single),
    list: async () => raw.replay(reads.list),
    write: async () => raw.write(),
  };
}

const roundMs = Number(values['round-ms']);
console.error(
  `D1 adapter over SQLite, base ${values.base} against the worktree and raw better-sqlite3, ${values.rounds} alternating rounds × ${roundMs} ms`,
);
for (const op of /** @type {Op[]} */ (['single', 'list', 'write'])) {
  const names = Object.keys(contestants);
  /** @type {Record<string, number[]>} */
  const us = Object.fromEntries(names.map((n) => [n, []]));
  for (let k = -1; k < Number(values.rounds); k++) {
    const order = names.map((_, i) => /** @type {string} */ (names[(i + Math.max(k, 0)) % names.length]));
    for (const name of order) {
      const run = /** @type {Record<Op, () => Promise<unknown>>} */ (contestants[name])[op];
      let n = 0;
      const t0 = performance.now();
      while (performance.now() - t0 < (k < 0 ? 300 : roundMs)) {
        await run();
        n++;
      }
      if (k >= 0) us[name]?.push(((performance.now() - t0) * 1000) / n);
    }
  }
  const ci = (/** @type {string} */ n) => confidenceInterval(us[n] ?? []);
  const statements = op === 'write' ? 6 : reads[op].flat().length;
  for (const n of names) {
    console.error(
      `  ${op.padEnd(6)} ${n.padEnd(5)} ${ci(n).mean.toFixed(1).padStart(8)} µs ±${(ci(n).relative * 100).toFixed(1)}%  (${statements} statements)`,
    );
  }
  const over = (/** @type {string} */ n) => ci(n).mean - ci('raw').mean;
  console.error(
    `  ${op.padEnd(6)} adapter over raw: base ${over('base').toFixed(1)} µs, head ${over('head').toFixed(1)} µs`,
  );
}
rmSync(dir, { recursive: true, force: true });
