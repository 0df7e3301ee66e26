// What every section script shares: its flags, and handing its result back. A section runs in its
// own process (spawned by bench/run.mjs, or by hand), so that one section's JIT state, heap and
// child servers never leak into the next one's figures.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Parses `--quick`, `--out <file>`, the section's own numeric options and its text options
 * (`texts`: name → default). With `--quick`, each numeric option takes its `quick` value unless
 * given explicitly.
 * @template {string} K
 * @template {string} [T=never]
 * @param {Record<K, { full: number, quick: number }>} options
 * @param {Record<T, string>} [texts]
 * @returns {SectionArgs & Record<K, number> & Record<T, string>}
 */
export function sectionArgs(options, texts = /** @type {Record<T, string>} */ ({})) {
  /** @type {import('node:util').ParseArgsOptionsConfig} */
  const spec = { quick: { type: 'boolean', default: false }, out: { type: 'string' } };
  for (const name of [...Object.keys(options), ...Object.keys(texts)]) spec[name] = { type: 'string' };
  const { values } = parseArgs({ options: spec, allowPositionals: false });
  /** @type {Record<string, unknown>} */
  const args = { quick: values.quick === true, out: values.out };
  for (const [name, fallback] of Object.entries(texts)) args[name] = values[name] ?? fallback;
  for (const [name, { full, quick }] of /** @type {[K, { full: number, quick: number }][]} */ (
    Object.entries(options)
  )) {
    args[name] = Number(values[name] ?? (values.quick ? quick : full));
  }
  return /** @type {SectionArgs & Record<K, number> & Record<T, string>} */ (args);
}

/** @typedef {{ quick: boolean, out: string | undefined }} SectionArgs */

/**
 * Writes the section's result where run.mjs expects it, or prints it when run by hand.
 * @param {SectionArgs} args
 * @param {unknown} result
 */
export function finish(args, result) {
  const text = JSON.stringify(result, null, 2);
  if (args.out) writeFileSync(args.out, text);
  else process.stdout.write(`${text}\n`);
}

/** Progress goes to stderr: stdout may be a result or (in-process) the app's request log. */
export const progress = (/** @type {string} */ msg) => process.stderr.write(`  · ${msg}\n`);

/**
 * Runs `cleanup` (stop servers this section started) on Ctrl-C or on the runner's time limit
 * before exiting: `wrangler dev` runs in its own process group and would outlive the section.
 * @param {() => unknown} cleanup
 */
export function cleanupOnSignal(cleanup) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      try {
        await cleanup();
      } finally {
        process.exit(130);
      }
    });
  }
}
