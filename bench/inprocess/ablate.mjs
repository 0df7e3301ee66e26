// `--import bench/inprocess/ablate.mjs` with BENCH_ABLATE=<plugin>: the process loads our app with
// that one Yoga plugin of src/http/graphqlServer.ts replaced by an empty plugin, without touching
// src/. A module hook (ablateHooks.mjs) serves, in place of the plugin's module, one that
// re-exports everything of it but the plugin factory. The replacement announces itself in
// globalThis.__benchAblated, so the variant process can refuse to measure an ablation that did
// not happen (a renamed plugin, a moved file).
import { register } from 'node:module';

/** The plugins of createGraphQLServer, by factory name, and the module each comes from. */
export const ABLATABLE = {
  useObservation: 'plugins/use-observation.ts',
  useErrorReporting: 'plugins/use-error-reporting.ts',
  useTracing: 'plugins/use-tracing.ts',
  useCsrfPrevention: 'plugins/use-csrf-prevention.ts',
  useMaxTokens: 'plugins/use-max-tokens.ts',
  useQueryLimits: 'plugins/use-query-limits.ts',
  useIntrospectionPolicy: 'plugins/use-introspection-policy.ts',
  useErrorStatus: 'plugins/use-error-status.ts',
  useUnsupportedMediaTypeError: 'plugins/use-unsupported-media-type-error.ts',
  useRequestParseErrors: 'plugins/use-request-parse-errors.ts',
  useNotAcceptableError: 'plugins/use-not-acceptable-error.ts',
  useRest: 'rest/sofa.ts',
};

const plugin = process.env.BENCH_ABLATE;
if (plugin) {
  if (!Object.hasOwn(ABLATABLE, plugin)) {
    throw new Error(`BENCH_ABLATE=${plugin}: not one of ${Object.keys(ABLATABLE).join(', ')}`);
  }
  const file = new URL(
    `../../src/http/${ABLATABLE[/** @type {keyof typeof ABLATABLE} */ (plugin)]}`,
    import.meta.url,
  ).href;
  register('./ablateHooks.mjs', import.meta.url, { data: { plugin, file } });
}
