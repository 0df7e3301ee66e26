// Node module hooks that let the Worker bundle load outside workerd: each `cloudflare:*` module it
// imports (`cloudflare:workers` for the DurableObject and WorkflowEntrypoint base classes, …)
// resolves to a stand-in exporting a plain class per imported name. Nothing else of the bundle
// changes, so the evaluation measured is that of the exact file `wrangler deploy` would upload.
/** @type {Record<string, string[]>} */
let stubs = {};

/**
 * `data.imports`: specifier → the names the bundle imports from it (see evalBundle.mjs).
 * @param {{ imports: Record<string, string[]> }} data
 */
export function initialize(data) {
  stubs = data.imports;
}

/** @type {import('node:module').ResolveHook} */
export async function resolve(specifier, context, next) {
  const names = stubs[specifier];
  if (!names) return next(specifier, context);
  const source = names
    .map((n) => `export class ${n} { constructor(ctx, env) { this.ctx = ctx; this.env = env; } }`)
    .join('\n');
  return { url: `data:text/javascript,${encodeURIComponent(source)}`, shortCircuit: true };
}
