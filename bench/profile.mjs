// CPU profile of ChangeFlow's in-process request path (createApp(schema).fetch, as in section 1 of
// the bench) for the single read and the list of 50: V8's sampling profiler — the one behind
// `node --cpu-prof` — driven through node:inspector so that it covers only the measured loop, not
// the imports, the schema build or the seeding. Writes one .cpuprofile per operation (open them
// in Chrome DevTools or speedscope) and prints a summary (bench/profile/summarise.mjs) to stderr.
//
//   node --import tsx bench/profile.mjs [--ops single,list] [--seconds 5] [--interval-us 100]
//        [--dir <output dir>] > /dev/null        (stdout is the app's request log)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { schema } from '../src/schema/index.ts';
import { BENCH_VARS, benchTokens } from './fixture/auth.mjs';
import { OPERATIONS } from './fixture/operations.mjs';
import { createBenchDatabase } from './inprocess/database.mjs';
import { createYogaVariant } from './inprocess/yoga.mjs';
import { printSummary, summarise } from './profile/summarise.mjs';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: 'single,list' },
    seconds: { type: 'string', default: '5' },
    'interval-us': { type: 'string', default: '100' },
    dir: { type: 'string' },
    top: { type: 'string', default: '25' },
  },
});
const outDir = values.dir ?? mkdtempSync(join(tmpdir(), 'changeflow-profile-'));
mkdirSync(outDir, { recursive: true });

const dbDir = mkdtempSync(join(tmpdir(), 'changeflow-profile-db-'));
try {
  const db = await createBenchDatabase(join(dbDir, 'bench.sqlite'));
  const tokens = await benchTokens();
  const yoga = createYogaVariant({ schema, db, vars: BENCH_VARS, tokens });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: Number(values['interval-us']) });

  for (const opName of values.ops.split(',')) {
    const op = Object.hasOwn(OPERATIONS, opName)
      ? OPERATIONS[/** @type {keyof typeof OPERATIONS} */ (opName)]
      : undefined;
    if (!op) throw new Error(`unknown operation ${opName}`);
    // Warm-up: JIT, Yoga's document caches, SQLite statement cache.
    for (const end = performance.now() + 2000; performance.now() < end; ) await yoga.run(op);
    await session.post('Profiler.start');
    let n = 0;
    const end = performance.now() + Number(values.seconds) * 1000;
    while (performance.now() < end) {
      await yoga.run(op);
      n++;
    }
    const { profile } = await session.post('Profiler.stop');
    const file = join(outDir, `yoga-${opName}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    const s = summarise(profile, { top: Number(values.top), requests: n });
    printSummary(`${op.label} — the Yoga path in process, profiled`, s);
    process.stderr.write(`  profile: ${file}\n`);
  }
  session.disconnect();
  db.close();
} finally {
  rmSync(dbDir, { recursive: true, force: true });
}
