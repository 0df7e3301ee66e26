// The in-process servers of section 1, by name: each factory takes the built schema, a
// D1Database, the configuration variables and the bench tokens, and returns `{ run(op) }`
// (resolving to the response body as text) with an optional `close()` and `skips(op)`.
//   yoga                  ours: createApp(schema).fetch, limiter port on, production config
//   yogaBare              graphql-yoga as installed with our context (framework vs our layer)
//   apollo                Apollo Server 5, executeHTTPGraphQLRequest, as installed (cache control on)
//   apolloNoCacheControl  the same with ApolloServerPluginCacheControlDisabled
//   mercurius             Mercurius on fastify (inject), JIT off (its default; Workers forbid JIT)
//   mercuriusJit          the same with graphql-jit (jit: 1)
//   floor                 graphql-js execute on a cached document, principal given: GraphQL's floor
//   sqliteFloor           raw better-sqlite3, the same statements, hand-built JSON (reads only)
// The peers get the same request id, auth, limiter and log line as ours (gate.mjs); the floors
// get none. `yoga-no-<plugin>` (ablate.mjs) is `yoga` with one of our Yoga plugins off.
import { apolloVariant } from './apollo.mjs';
import { createFloorVariant } from './floor.mjs';
import { mercuriusVariant } from './mercurius.mjs';
import { createSqliteFloorVariant } from './sqliteFloor.mjs';
import { createYogaVariant } from './yoga.mjs';
import { createYogaBareVariant } from './yogaBare.mjs';

export const VARIANTS = {
  yoga: createYogaVariant,
  yogaBare: createYogaBareVariant,
  apollo: apolloVariant({ cacheControl: true }),
  apolloNoCacheControl: apolloVariant({ cacheControl: false }),
  mercurius: mercuriusVariant({ jit: false }),
  mercuriusJit: mercuriusVariant({ jit: true }),
  floor: createFloorVariant,
  sqliteFloor: createSqliteFloorVariant,
};

/** Variants whose body is not a GraphQL response of the same data (excluded from agreement). */
export const NON_GRAPHQL = new Set(['sqliteFloor']);

const ABLATION = /^yoga-no-(\w+)$/;

/**
 * The factory and, for an ablation, the plugin to switch off (the process must be started with
 * ablate.mjs and BENCH_ABLATE set to it: see forkVariant.mjs).
 * @param {string} name
 */
export function variantFor(name) {
  const ablated = ABLATION.exec(name)?.[1];
  if (ablated) return { factory: createYogaVariant, ablated };
  if (!Object.hasOwn(VARIANTS, name)) {
    throw new Error(`unknown variant ${name}: ${Object.keys(VARIANTS).join(', ')} or yoga-no-<plugin>`);
  }
  return { factory: VARIANTS[/** @type {keyof typeof VARIANTS} */ (name)], ablated: null };
}
