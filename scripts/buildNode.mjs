// Bundles the Node runtime into one ES module, dist/node/server.mjs, run by plain `node` (no
// TypeScript loader at run time). better-sqlite3 stays external: it is a native addon, loaded
// from node_modules. `npm run serve:node` builds on demand (the bundle and the static pages in
// public/ it serves), so a fresh clone needs only `npm ci`.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { buildAssets } from './buildAssets.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function buildNodeServer(outfile = `${root}dist/node/server.mjs`) {
  await build({
    entryPoints: [`${root}src/runtime/node/main.ts`],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', 'bufferutil', 'utf-8-validate'],
    // Bundled CommonJS dependencies may still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    sourcemap: 'linked',
    // As in the Worker bundle: graphql-js's development-mode checks (a cross-realm instanceof
    // test on every node) cost 4% of a list request in the profile.
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // The static pages it serves (GraphiQL, the REST reference, the dashboard's graphql-ws client):
  // generated, so built here too; up to date ones are left alone.
  await buildAssets({ log: () => {} });
  await buildNodeServer();
}
