// Run in a fresh process per sample (see bench/sections/bundle.mjs): imports the Worker bundle and
// reports (1) how long its module evaluation took — parsing and compiling 2+ MB of JavaScript and
// building the schema at top level — and (2) the first GraphQL request after it, which pays the
// lazy start-up work (configuration, the Yoga instance, the first parse and validation).
//
//   node bench/bundle/evalBundle.mjs <worker.mjs> <bearer token> <binding,names>
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import { BENCH_VARS } from '../fixture/auth.mjs';

const [bundle, token, bindingList = ''] = process.argv.slice(2);
if (!bundle || !token) throw new Error('usage: evalBundle.mjs <worker.mjs> <bearer token> [binding,names]');

// What the bundle imports from the runtime's own modules, for the stand-ins (cfWorkersHooks.mjs).
/** @type {Record<string, string[]>} */
const imports = {};
const source = readFileSync(bundle, 'utf8');
for (const [, list = '', specifier = ''] of source.matchAll(
  /import\s*\{([^}]*)\}\s*from\s*"(cloudflare:[\w-]+)"/g,
)) {
  const names = list.split(',').map((n) => n.trim().split(/\s+as\s+/)[0] ?? '');
  imports[specifier] = [...new Set([...(imports[specifier] ?? []), ...names.filter(Boolean)])];
}
register(new URL('./cfWorkersHooks.mjs', import.meta.url), { data: { imports } });

// The request log line is not what is measured here.
console.log = () => {};
const t0 = performance.now();
const worker = await import(bundle);
const evalMs = performance.now() - t0;

// A binding that accepts any use (namespace.get(id).method() …) and does nothing: enough for an
// authenticated `{ __typename }`, which reads no D1; limits are off (no Durable Object call).
/** @type {() => unknown} */
const inert = new Proxy(() => {}, {
  get: (_, prop) => (prop === 'then' ? undefined : inert),
  apply: () => inert,
});
/** @type {Record<string, unknown>} */
const env = { ...BENCH_VARS, RATE_LIMIT_ENABLED: 'false', DB: null };
for (const name of bindingList.split(',').filter(Boolean)) env[name] ??= inert;
const ctx = { waitUntil: () => {}, passThroughOnException: () => {} };
const t1 = performance.now();
const res = await worker.default.fetch(
  new Request('http://bench.local/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: '{"query":"{ __typename }"}',
  }),
  env,
  ctx,
);
const body = await res.text();
const firstRequestMs = performance.now() - t1;
if (res.status !== 200) throw new Error(`first request answered ${res.status}: ${body}`);
process.stdout.write(`${JSON.stringify({ evalMs, firstRequestMs })}\n`);
