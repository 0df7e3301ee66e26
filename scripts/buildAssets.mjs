#!/usr/bin/env node
// Builds the generated static assets that the pages under public/ need, so that they work with
// no internet access (no CDN):
//   public/vendor/graphql-ws.js  the graphql-ws client (`createClient`) as one minified ES module,
//                                imported by the dashboard (public/dashboard/dashboard.js);
//   public/graphiql/index.html   the offline GraphiQL page of @graphql-yoga/render-graphiql
//                                (about 9 MB: too big for the Worker bundle, served as an asset);
//   public/api-reference/        the REST reference: Redoc's standalone bundle and a page that
//                                renders /openapi.json with it (no CDN, no fonts from elsewhere);
//   public/mcp-apps/*.html       the MCP Apps' pages (the approval card) as committed in
//                                src/mcp/ui/*.generated.ts: the Worker reads them through
//                                env.ASSETS rather than carry ~400 KB of HTML in its script.
// All are gitignored. Each output starts with a stamp of what it was built from (package
// versions, options, this script); an output whose stamp matches is left alone, so a run with
// nothing to do takes milliseconds. `wrangler dev`/`deploy` run this first ([build] in
// wrangler.toml), and so does the vitest global setup.
//
// Usage: node scripts/buildAssets.mjs [--force] [--quiet]
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { committedPages } from './buildMcpApps.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PUBLIC = join(ROOT, 'public');
const require = createRequire(join(ROOT, 'package.json'));

/** The session-storage key under which the dashboard keeps the signed-in token. */
export const TOKEN_STORAGE_KEY = 'changeflow.token';

/** What GraphiQL shows in its headers pane until the user pastes a token. */
const TOKEN_PLACEHOLDER = 'Bearer <paste a token from: npm run token>';

/** The options the GraphiQL page is rendered with (see GraphiQLOptions in graphql-yoga). */
/** @type {import('graphql-yoga').GraphiQLOptions} */
export const GRAPHIQL_OPTIONS = {
  endpoint: '/graphql',
  title: 'ChangeFlow GraphiQL',
  // Subscriptions over SSE on the same endpoint (the Worker routes them to the tenant's hub).
  subscriptionsProtocol: 'SSE',
  // Every operation needs a token. The headers pane opens with the header to fill in; a token the
  // dashboard signed in with (same tab) is used automatically (see AUTH_SCRIPT).
  headers: JSON.stringify({ Authorization: TOKEN_PLACEHOLDER }, null, 2),
  defaultEditorToolsVisibility: 'headers',
  // Tokens are not written to localStorage.
  shouldPersistHeaders: false,
  defaultQuery: `# ChangeFlow GraphiQL
#
# Every operation needs a bearer token:
# - signed in on /dashboard in this tab? It is used here;
# - otherwise put yours in the Headers pane below:
#   { "Authorization": "Bearer <token>" }
# Local token: npm run token -- --roles requester
#
# Subscriptions (metrics, changeEvents) run over SSE.

query Dashboard {
  liveMetrics {
    kpis {
      totalChanges
      activeChanges
      pendingApprovals
      meanTimeToApproveHours
      successRate
      emergencyRatio
      changesByStatus { status count }
    }
    system { requestsPerMinute latencyP95Ms errorRate }
    generatedAt
  }
}
`,
};

/**
 * Runs before GraphiQL: adds `Authorization` to its same-origin requests to the endpoint when the
 * headers pane has none (or still the placeholder), from the token the dashboard keeps in this
 * tab's sessionStorage; drops the placeholder otherwise, so the server answers with its clear
 * "Authentication required" error instead of "invalid token".
 */
const AUTH_SCRIPT = `(() => {
  const KEY = ${JSON.stringify(TOKEN_STORAGE_KEY)};
  const PLACEHOLDER = ${JSON.stringify(TOKEN_PLACEHOLDER)};
  const endpoint = new URL(${JSON.stringify(GRAPHIQL_OPTIONS.endpoint)}, location.href).href;
  const originalFetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    try {
      const url = new URL(input instanceof Request ? input.url : String(input), location.href);
      if (url.origin + url.pathname !== endpoint) return originalFetch(input, init);
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const current = (headers.get('authorization') ?? '').trim();
      if (current === '' || current === PLACEHOLDER || /^bearer$/i.test(current)) {
        let token = null;
        try { token = sessionStorage.getItem(KEY); } catch {}
        if (token) headers.set('authorization', 'Bearer ' + token);
        else headers.delete('authorization');
        return originalFetch(input, { ...init, headers });
      }
    } catch {}
    return originalFetch(input, init);
  };
})();`;

const args = new Set(process.argv.slice(2));

/** @param {string} name */
function packageVersion(name) {
  return JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
}

/**
 * The stamp of an output: changes whenever anything it is built from changes.
 * @param {unknown[]} parts
 */
function stampOf(parts) {
  const self = readFileSync(fileURLToPath(import.meta.url));
  return createHash('sha256').update(JSON.stringify(parts)).update(self).digest('hex').slice(0, 16);
}

/**
 * The first bytes of a file, or '' when it does not exist.
 * @param {string} path
 */
function head(path, bytes = 256) {
  let fd;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const buf = Buffer.alloc(bytes);
    const n = readSync(fd, buf, 0, bytes, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes through a temporary file and a rename, so a concurrent reader never sees half a file.
 * @param {string} path
 * @param {string | Uint8Array} content
 */
function writeAtomic(path, content) {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

/** @param {number} n */
const kib = (n) => `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;

/** @param {{ force: boolean }} options */
async function buildGraphqlWs({ force }) {
  const out = join(PUBLIC, 'vendor', 'graphql-ws.js');
  const version = packageVersion('graphql-ws');
  const marker = `/*! graphql-ws ${version} client, built by scripts/buildAssets.mjs (stamp ${stampOf(['graphql-ws', version])}) */`;
  if (!force && head(out).startsWith(marker)) return { path: out, wrote: false };
  const { build } = await import('esbuild');
  const result = await build({
    stdin: {
      contents: "export { createClient, CloseCode, MessageType } from 'graphql-ws/client';",
      resolveDir: ROOT,
      sourcefile: 'graphql-ws-client-entry.js',
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild wrote no graphql-ws client bundle');
  const code = output.text;
  const content = `${marker}\n${code}`;
  writeAtomic(out, content);
  return { path: out, wrote: true, size: Buffer.byteLength(content) };
}

/** @param {{ force: boolean }} options */
async function buildGraphiQL({ force }) {
  const out = join(PUBLIC, 'graphiql', 'index.html');
  const version = packageVersion('@graphql-yoga/render-graphiql');
  const marker = `<!-- @graphql-yoga/render-graphiql ${version}, built by scripts/buildAssets.mjs (stamp ${stampOf(['render-graphiql', version, GRAPHIQL_OPTIONS])}) -->`;
  if (!force && head(out).startsWith(marker)) return { path: out, wrote: false };
  const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
  const html = renderGraphiQL(GRAPHIQL_OPTIONS).trim();
  const root = '<div id="root"></div>';
  if (!html.includes(root)) {
    throw new Error(`render-graphiql ${version}: the page has no ${root} to add the token script before`);
  }
  const content = `${marker}\n${html.replace(root, `${root}\n      <script>${AUTH_SCRIPT}</script>`)}\n`;
  writeAtomic(out, content);
  return { path: out, wrote: true, size: Buffer.byteLength(content) };
}

/**
 * The REST reference page (/api-reference/): Redoc renders the document the server publishes at
 * /openapi.json (where introspection is on; elsewhere the page says the document is not published).
 */
const API_REFERENCE_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>ChangeFlow REST API reference</title>
    <style>body { margin: 0; font-family: system-ui, sans-serif; } #status { padding: 2rem; }</style>
  </head>
  <body>
    <div id="status">Loading /openapi.json…</div>
    <div id="reference"></div>
    <script src="./redoc.standalone.js"></script>
    <script>
      (async () => {
        const status = document.getElementById('status');
        try {
          const res = await fetch('/openapi.json', { headers: { accept: 'application/json' } });
          const body = await res.json();
          if (!res.ok) throw new Error(body?.error?.message ?? 'HTTP ' + res.status);
          status.remove();
          Redoc.init(body, { hideDownloadButton: false, expandResponses: '200,201' }, document.getElementById('reference'));
        } catch (e) {
          status.textContent = 'The OpenAPI document is not available here: ' + e.message;
        }
      })();
    </script>
  </body>
</html>
`;

const REDOCLY_LOGO = 'https://cdn.redoc.ly/redoc/logo-mini.svg';
const EMPTY_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E";

/** @param {{ force: boolean }} options */
async function buildApiReference({ force }) {
  const dir = join(PUBLIC, 'api-reference');
  const out = join(dir, 'index.html');
  const version = packageVersion('redoc');
  const marker = `<!-- redoc ${version} standalone, built by scripts/buildAssets.mjs (stamp ${stampOf(['redoc', version, API_REFERENCE_PAGE])}) -->`;
  if (!force && head(out).startsWith(marker)) return { path: out, wrote: false };
  const source = readFileSync(
    join(dirname(require.resolve('redoc/package.json')), 'bundles', 'redoc.standalone.js'),
    'utf8',
  );
  // The one thing the bundle loads from elsewhere: the side menu's Redocly logo, from its CDN.
  // Offline it is an empty image (the "API docs by Redocly" link stays). Any other outside URL a
  // new version adds fails the browser test (test/browser/dashboard.test.mjs).
  const parts = source.split(REDOCLY_LOGO);
  if (parts.length !== 2) throw new Error(`redoc ${version}: expected its logo URL once in the bundle`);
  const bundle = parts.join(EMPTY_SVG);
  writeAtomic(join(dir, 'redoc.standalone.js'), bundle);
  const content = `${marker}\n${API_REFERENCE_PAGE}`;
  writeAtomic(out, content);
  return { path: out, wrote: true, size: Buffer.byteLength(content) + Buffer.byteLength(bundle) };
}

/**
 * The MCP Apps' pages, copied as they are (a marker before `<!doctype html>` would put the page in
 * quirks mode): a page whose content differs is rewritten.
 * @param {{ force: boolean }} options
 */
async function buildMcpAppPages({ force }) {
  const dir = join(PUBLIC, 'mcp-apps');
  const results = committedPages().map(({ name, html }) => {
    const out = join(dir, `${name}.html`);
    let current = null;
    try {
      current = readFileSync(out, 'utf8');
    } catch {
      // missing: written below
    }
    if (!force && current === html) return { path: out, wrote: false };
    writeAtomic(out, html);
    return { path: out, wrote: true, size: Buffer.byteLength(html) };
  });
  return results;
}

/** Builds every asset that is missing or out of date; returns what it did. */
export async function buildAssets({ force = false, log = console.log } = {}) {
  const started = performance.now();
  const results = await Promise.all([
    buildGraphqlWs({ force }),
    buildGraphiQL({ force }),
    buildApiReference({ force }),
    buildMcpAppPages({ force }),
  ]).then((done) => done.flat());
  const ms = Math.round(performance.now() - started);
  for (const r of results) {
    const path = relative(ROOT, r.path);
    log(r.wrote ? `buildAssets: wrote ${path} (${kib(r.size)})` : `buildAssets: up to date ${path}`);
  }
  log(`buildAssets: done in ${ms} ms`);
  return results;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildAssets({ force: args.has('--force'), log: args.has('--quiet') ? () => {} : console.log }).catch(
    (e) => {
      console.error(`buildAssets: failed: ${e?.stack ?? e}`);
      process.exit(1);
    },
  );
}
