// Starts one in-process server in its own process (variantProcess.mjs) and gives the section a
// runner for it: `run(op, ms)` resolves to `{ n, wallMs, cpuUs }` measured inside that process.
import { fork } from 'node:child_process';

/**
 * @typedef {object} VariantRunner
 * @property {(op: string, ms: number) => Promise<import('../types.ts').LoopSample>} run
 * @property {() => Promise<void>} close
 */

/**
 * @param {string} name
 * @returns {Promise<VariantRunner>}
 */
export function forkVariant(name) {
  // yoga-no-<plugin>: the same app with one Yoga plugin off (see ablate.mjs).
  const ablated = /^yoga-no-(\w+)$/.exec(name)?.[1];
  const child = fork(new URL('./variantProcess.mjs', import.meta.url), [name], {
    execArgv: [
      '--import',
      'tsx',
      ...(ablated ? ['--import', new URL('./ablate.mjs', import.meta.url).href] : []),
      '--expose-gc',
    ],
    env: { ...process.env, BENCH_ABLATE: ablated ?? '' },
    // stdout carries the app's request log: discarded, as in the other sections.
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  /** @type {Map<number, { done: (sample: import('../types.ts').LoopSample) => void, fail: (e: Error) => void }>} */
  const pending = new Map();
  let nextId = 0;
  let closing = false;
  return new Promise((resolve, reject) => {
    // A server process that dies fails its pending round (and the section) instead of hanging it.
    child.once('exit', (code) => {
      const error = new Error(`the ${name} process exited with code ${code}`);
      for (const { fail } of pending.values()) fail(error);
      if (!closing) reject(error);
    });
    child.on('message', (/** @type {import('../types.ts').VariantReply} */ msg) => {
      if (!('ready' in msg)) {
        pending.get(msg.id)?.done(msg);
        pending.delete(msg.id);
        return;
      }
      resolve({
        run: (op, ms) =>
          new Promise((done, fail) => {
            const id = nextId++;
            pending.set(id, { done, fail });
            child.send({ id, op, ms });
          }),
        close: () =>
          /** @type {Promise<void>} */ (
            new Promise((done) => {
              closing = true;
              if (child.exitCode !== null) return done();
              child.once('exit', () => done());
              child.send({ exit: true });
            })
          ),
      });
    });
  });
}
