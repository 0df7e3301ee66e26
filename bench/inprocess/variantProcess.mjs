// One in-process server in a process of its own (forked by bench/sections/inprocess.mjs): its
// own copy of the bench database, its own heap and JIT state. Measured side by side in one
// process, the servers slowed each other down — they share graphql-js, our resolvers and
// DataLoader, whose call sites each server's different call patterns turn polymorphic — by up
// to 2× for Yoga on the same machine minute. Separate processes are also how they are deployed.
//
// Protocol (IPC): after start-up it sends `{ ready: true }`; each `{ id, op, ms }` runs operation
// `op` for `ms` of wall time and answers `{ id, n, wallMs, cpuUs }`; `{ exit: true }` ends it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schema } from '../../src/schema/index.ts';
import { BENCH_VARS, benchTokens } from '../fixture/auth.mjs';
import { OPERATIONS } from '../fixture/operations.mjs';
import { createBenchDatabase } from './database.mjs';
import { timeLoop } from './measure.mjs';
import { variantFor } from './variants.mjs';

const name = process.argv[2];
if (!name) throw new Error('usage: variantProcess.mjs <variant>');
const { factory, ablated } = variantFor(name);
const send = process.send?.bind(process);
if (!send) throw new Error('variantProcess.mjs runs forked, with an IPC channel (see forkVariant.mjs)');
const dir = mkdtempSync(join(tmpdir(), `changeflow-bench-${name}-`));
const db = await createBenchDatabase(join(dir, 'bench.sqlite'));
const variant = await factory({ schema, db, vars: BENCH_VARS, tokens: await benchTokens() });
// An ablation must have happened (ablate.mjs announces each replaced plugin), or it measures `yoga`.
const done = /** @type {{ __benchAblated?: string[] }} */ (globalThis).__benchAblated ?? [];
if (ablated && !done.includes(ablated)) throw new Error(`${name}: ${ablated} was not switched off`);
if (!ablated && done.length) throw new Error(`${name}: plugins switched off: ${done.join(', ')}`);

// Every operation answered without errors by this very process before anything is timed: an
// ablation that broke the app (or a peer that errors) must not be measured as fast.
for (const [opName, op] of Object.entries(OPERATIONS)) {
  if (variant.skips?.(op)) continue;
  for (let i = 0; i < 2; i++) {
    const body = /** @type {{ data?: unknown, errors?: unknown }} */ (JSON.parse(await variant.run(op)));
    if (body.errors || !body.data) throw new Error(`${name} ${opName}: ${JSON.stringify(body.errors)}`);
  }
}

const cleanUp = () => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
};
// The parent went away (Ctrl-C, a failed section): do not outlive it.
process.on('disconnect', () => {
  cleanUp();
  process.exit(1);
});
/** @param {import('../types.ts').VariantReply} reply */
const reply = (reply) => send(reply);
process.on('message', async (/** @type {import('../types.ts').VariantRequest} */ msg) => {
  if ('exit' in msg) {
    await variant.close?.();
    cleanUp();
    process.exit(0);
  }
  const op = OPERATIONS[/** @type {keyof typeof OPERATIONS} */ (msg.op)];
  if (!op) throw new Error(`unknown bench operation ${msg.op}`);
  reply({ id: msg.id, ...(await timeLoop(() => variant.run(op), msg.ms)) });
});
reply({ ready: true });
