// One side of bench/micro/inprocessAB.mjs: the app of the tree at --root, in process, on its own
// seeded database; answers each { op, ms } message with the operations done in that time and the
// main thread's CPU µs they took. Output of the app (its request log) goes nowhere.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { root: { type: 'string' }, db: { type: 'string' } } });
if (!values.root || !values.db) throw new Error('usage: --root <tree> --db <file>');
const from = (/** @type {string} */ path) =>
  import(pathToFileURL(join(/** @type {string} */ (values.root), path)).href);
const [
  { schema },
  { BENCH_VARS, benchTokens },
  { OPERATIONS },
  { createBenchDatabase },
  { createYogaVariant },
  { threadCpuMicros },
] = await Promise.all([
  from('src/schema/index.ts'),
  from('bench/fixture/auth.mjs'),
  from('bench/fixture/operations.mjs'),
  from('bench/inprocess/database.mjs'),
  from('bench/inprocess/yoga.mjs'),
  from('bench/stats.mjs'),
]);
const db = await createBenchDatabase(values.db);
const variant = createYogaVariant({ schema, db, vars: BENCH_VARS, tokens: await benchTokens() });
process.on('message', async (/** @type {{ op: string, ms: number }} */ { op, ms }) => {
  const operation = OPERATIONS[op];
  globalThis.gc?.();
  const cpu0 = threadCpuMicros() ?? 0;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    await variant.run(operation);
    n++;
  }
  const elapsed = performance.now() - t0;
  process.send?.({ n, ms: elapsed, cpuUs: (threadCpuMicros() ?? 0) - cpu0 });
});
process.send?.({ ready: true });
