// Module hooks of ablate.mjs (they run on the loader thread): the plugin's module, when imported
// by anything but our replacement, resolves to a synthetic module that re-exports it with the
// plugin factory shadowed by one returning an empty plugin (a local export wins over `export *`).
const PREFIX = 'changeflow-ablate:';
/** @type {{ plugin: string, file: string } | null} */
let target = null;

/** @param {{ plugin: string, file: string }} data */
export function initialize(data) {
  target = data;
}

/**
 * @param {string} specifier
 * @param {{ parentURL?: string }} context
 * @param {(s: string, c: object) => Promise<{ url: string }>} next
 */
export async function resolve(specifier, context, next) {
  if (specifier.startsWith(PREFIX)) return { url: specifier, shortCircuit: true };
  const result = await next(specifier, context);
  if (target && result.url === target.file && !context.parentURL?.startsWith(PREFIX)) {
    return { url: `${PREFIX}${target.plugin}`, shortCircuit: true };
  }
  return result;
}

/**
 * @param {string} url
 * @param {object} context
 * @param {(u: string, c: object) => Promise<unknown>} next
 */
export async function load(url, context, next) {
  if (!url.startsWith(PREFIX) || !target) return next(url, context);
  const { plugin, file } = target;
  const source = [
    `export * from ${JSON.stringify(file)};`,
    `export const ${plugin} = () => ({});`,
    `(globalThis.__benchAblated ??= []).push(${JSON.stringify(plugin)});`,
  ].join('\n');
  return { format: 'module', source, shortCircuit: true };
}
