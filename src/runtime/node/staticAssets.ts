import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { isWorkerFirst } from '../../http/workerFirst';

/**
 * The Worker's static assets (public/: the dashboard, the offline GraphiQL, the REST reference)
 * served by the Node runtime as Cloudflare serves them with `html_handling = "auto-trailing-slash"`:
 * `/dashboard/` is `dashboard/index.html` (and `/dashboard` redirects there), `/page` may be
 * `page.html`, and `_headers` adds its headers. The directory is read once, at start: a request
 * can only ever name a file found then, so no path from a request reaches the file system (no
 * `..`, no encoded separator, no symbolic link out of the directory). Dot files, `_headers` and
 * `_redirects` are never served, and neither is anything under a path the app answers first
 * (WORKER_FIRST: /graphql, /mcp, /mcp-apps/*, …).
 */
export interface StaticAssets {
  /** The file's response, a redirect to the directory's own URL, or null when no file matches. */
  serve(request: Request): Response | null;
  /** The binding the app reads a page through (env.ASSETS): a 404 where `serve` has nothing. */
  binding: Fetcher;
  /** How many files are served. */
  size: number;
}

interface Asset {
  file: string;
  bytes: number;
  etag: string;
  type: string;
}

/** Files too large to be held open for a hash are identified by size and time instead. */
const HASHED_BYTES = 1024 * 1024;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  woff2: 'font/woff2',
  wasm: 'application/wasm',
};

const typeOf = (name: string) =>
  TYPES[name.slice(name.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';

const COMPRESSIBLE = /^(text\/|application\/json|image\/svg\+xml)/;
/** Smaller than this, compression saves less than it costs. */
const MIN_COMPRESSED_BYTES = 1024;

/** Whether an Accept-Encoding header takes gzip (named without q=0). */
export function acceptsGzip(header: string | null): boolean {
  return (header ?? '').split(',').some((part) => {
    const [name, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (name !== 'gzip') return false;
    const q = params.find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/** Cloudflare's own files in the root of the assets directory: configuration, not content. */
const CONFIG_FILES = new Set(['_headers', '_redirects']);

/** Every regular file under `root` by its URL path; symbolic links and dot files are left out. */
function index(root: string): Map<string, Asset> {
  const files = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (dir === root && CONFIG_FILES.has(entry.name)) continue;
      const stat = lstatSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile()) {
        const url = `/${relative(root, path).split(sep).join('/')}`;
        const etag =
          stat.size <= HASHED_BYTES
            ? createHash('sha256').update(readFileSync(path)).digest('base64url').slice(0, 27)
            : `${stat.size.toString(36)}-${Math.trunc(stat.mtimeMs).toString(36)}`;
        files.set(url, { file: path, bytes: stat.size, etag: `"${etag}"`, type: typeOf(entry.name) });
      }
    }
  };
  walk(root);
  return files;
}

interface HeaderRule {
  pattern: RegExp;
  headers: [string, string][];
}

/**
 * `_headers` as Cloudflare reads it: a URL pattern on its own line (`*` matches anything, `:name`
 * one segment), then indented `Name: value` lines that apply to it. Only what our file uses is
 * read (no `! Name` removals); a line that is neither is ignored.
 */
export function parseHeaders(text: string): HeaderRule[] {
  const rules: HeaderRule[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    if (!/^\s/.test(line)) {
      const source = line
        .trim()
        .split('*')
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:\w+/g, '[^/]+'))
        .join('.*');
      rules.push({ pattern: new RegExp(`^${source}$`), headers: [] });
      continue;
    }
    const colon = line.indexOf(':');
    const rule = rules.at(-1);
    if (rule && colon > 0) rule.headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return rules;
}

function readHeaders(root: string): HeaderRule[] {
  try {
    return parseHeaders(readFileSync(join(root, '_headers'), 'utf8'));
  } catch {
    return [];
  }
}

/** The path as the files are indexed: percent-decoded; null for one that does not decode. */
function decodedPath(pathname: string): string | null {
  try {
    const path = decodeURIComponent(pathname);
    // A decoded NUL, backslash or `..` segment names no indexed file; refusing it says so plainly.
    return /[\0\\]|(^|\/)\.\.?(\/|$)/.test(path) ? null : path;
  } catch {
    return null;
  }
}

/** Reads `root` (e.g. public/) once and serves its files. */
export function directoryAssets(root: string): StaticAssets {
  const files = index(root);
  const rules = readHeaders(root);

  /** The file for a path, or where its page is (auto-trailing-slash). */
  function resolve(path: string): { asset: Asset } | { redirect: true } | null {
    if (path.endsWith('/')) {
      const page = files.get(`${path}index.html`);
      return page ? { asset: page } : null;
    }
    const asset = files.get(path) ?? files.get(`${path}.html`);
    if (asset) return { asset };
    return files.has(`${path}/index.html`) ? { redirect: true } : null;
  }

  function respond(request: Request, path: string, asset: Asset): Response {
    const headers = new Headers({
      'content-type': asset.type,
      etag: asset.etag,
      // As Cloudflare's assets: always revalidated, so a new deployment is seen at once.
      'cache-control': 'public, max-age=0, must-revalidate',
    });
    for (const rule of rules) {
      if (rule.pattern.test(path)) for (const [name, value] of rule.headers) headers.set(name, value);
    }
    const cached = request.headers
      .get('if-none-match')
      ?.split(',')
      .some((tag) => tag.trim().replace(/^W\//, '') === asset.etag);
    // Text is sent gzipped to a client that takes it, as Cloudflare compresses assets (GraphiQL's
    // 9.1 MB page is 2.4 MB so); the compressed body is another representation, hence a weak tag.
    const compressible = asset.bytes >= MIN_COMPRESSED_BYTES && COMPRESSIBLE.test(asset.type);
    const gzip = compressible && acceptsGzip(request.headers.get('accept-encoding'));
    if (compressible) headers.set('vary', 'accept-encoding');
    if (gzip) {
      headers.set('content-encoding', 'gzip');
      headers.set('etag', `W/${asset.etag}`);
    } else headers.set('content-length', String(asset.bytes));
    if (cached) {
      headers.delete('content-length');
      return new Response(null, { status: 304, headers });
    }
    if (request.method === 'HEAD') return new Response(null, { status: 200, headers });
    const file = createReadStream(asset.file);
    const body = Readable.toWeb(gzip ? file.pipe(createGzip()) : file) as ReadableStream<Uint8Array>;
    return new Response(body, { status: 200, headers });
  }

  function serve(request: Request): Response | null {
    if (request.method !== 'GET' && request.method !== 'HEAD') return null;
    const url = new URL(request.url);
    if (isWorkerFirst(url.pathname)) return null;
    const path = decodedPath(url.pathname);
    const found = path === null ? null : resolve(path);
    if (!found) return null;
    if ('redirect' in found) {
      // Relative to this origin only: a path starting `//` would name another host.
      const location = `/${url.pathname.replace(/^\/+/, '')}/${url.search}`;
      return new Response(null, { status: 307, headers: { location } });
    }
    return respond(request, path as string, found.asset);
  }

  const binding = {
    fetch: async (input: RequestInfo | URL, init?: RequestInit) =>
      serve(new Request(input, init)) ?? new Response('Not found', { status: 404 }),
  } as unknown as Fetcher;

  return { serve, binding, size: files.size };
}
