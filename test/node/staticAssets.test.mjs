// The Node runtime serves the Worker's static pages (public/: the dashboard, the offline GraphiQL,
// the REST reference) as Cloudflare serves them, and nothing else from the disk: a directory read
// once at start, so that no request path reaches the file system. First the server over a real
// socket with the repository's public/, as `npm run serve:node` runs it; then the directory
// reader on a directory built to tempt it (files outside, symbolic links, dot files).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { unstable_readConfig } from 'wrangler';
import { buildAssets } from '../../scripts/buildAssets.mjs';
import { WORKER_FIRST } from '../../src/http/workerFirst.ts';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';
import { directoryAssets, parseHeaders } from '../../src/runtime/node/staticAssets.ts';
import { rawRequest } from './rawHttp.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const PUBLIC = join(ROOT, 'public');
const SECRET = 'node-static-assets-test-secret-0123456789abcdef';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
const PACKAGE_JSON = readFileSync(join(ROOT, 'package.json'), 'utf8');

/** A GET over node:http with exactly these headers, the body as bytes (not decoded). */
function rawBody(port, path, headers) {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host: `127.0.0.1:${port}`, ...headers } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the Node server with the repository public/', () => {
  let server;
  let base;
  let port;

  before(async () => {
    await buildAssets({ log: () => {} });
    const app = openNodeApp({
      dbPath: ':memory:',
      env: { JWT_SECRET: SECRET, ENVIRONMENT: 'development' },
      assetsDir: PUBLIC,
      listenHost: '127.0.0.1',
    });
    server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
    base = server.url;
    port = server.port;
  });
  after(async () => {
    await server?.close();
  });

  test('/dashboard redirects to /dashboard/, which is the page with its security headers', async () => {
    const redirect = await fetch(`${base}/dashboard?x=1`, { redirect: 'manual' });
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.get('location'), '/dashboard/?x=1');
    const res = await fetch(`${base}/dashboard/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    // public/_headers, as Cloudflare applies it
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const html = await res.text();
    assert.equal(html, readFileSync(join(PUBLIC, 'dashboard/index.html'), 'utf8'));
    // Everything the page loads from this server is here, with its type.
    const urls = [...html.matchAll(/(?:src|href)="(\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
    assert.ok(urls.length >= 2, `the page's scripts and styles: ${urls}`);
    for (const url of [...urls, '/vendor/graphql-ws.js']) {
      const r = await fetch(`${base}${url}`);
      assert.equal(r.status, 200, url);
      assert.match(r.headers.get('content-type'), /^text\/(javascript|css); charset=utf-8$/, url);
      await r.arrayBuffer();
    }
  });

  test('a browser opening /graphql gets the offline GraphiQL; API clients still get GraphQL', async () => {
    const page = await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>ChangeFlow GraphiQL<\/title>/);
    const token = await signDevToken({ secret: SECRET, sub: 'rita', tenant: 'acme', roles: ['requester'] });
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    assert.deepEqual(await res.json(), { data: { me: { id: 'rita' } } });
  });

  test('the REST reference and the document it renders', async () => {
    const page = await fetch(`${base}/api-reference/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>ChangeFlow REST API reference<\/title>/);
    const doc = await fetch(`${base}/openapi.json`);
    assert.equal(doc.status, 200);
    assert.equal((await doc.json()).info.title, 'ChangeFlow REST API');
  });

  test('HEAD answers the headers alone; a matching If-None-Match gets 304', async () => {
    const identity = { 'accept-encoding': 'identity' };
    const head = await fetch(`${base}/dashboard/dashboard.js`, { method: 'HEAD', headers: identity });
    assert.equal(head.status, 200);
    const length = Number(head.headers.get('content-length'));
    assert.equal(length, readFileSync(join(PUBLIC, 'dashboard/dashboard.js')).length);
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const etag = head.headers.get('etag');
    assert.match(etag, /^"[\w-]+"$/);
    const again = await fetch(`${base}/dashboard/dashboard.js`, {
      headers: { ...identity, 'if-none-match': etag },
    });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('x-content-type-options'), 'nosniff');
    const other = await fetch(`${base}/dashboard/dashboard.js`, {
      headers: { ...identity, 'if-none-match': '"other"' },
    });
    assert.equal(other.status, 200);
    assert.equal((await other.arrayBuffer()).byteLength, length);
  });

  test('text goes gzipped to a client that takes it (GraphiQL: about a quarter of its size), whole to one that does not', async () => {
    const file = readFileSync(join(PUBLIC, 'graphiql/index.html'));
    const zipped = await rawBody(port, '/graphiql/', { 'accept-encoding': 'br;q=1, gzip;q=0.8' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.equal(zipped.headers.vary, 'accept-encoding');
    assert.match(zipped.headers.etag, /^W\/"/);
    assert.ok(zipped.body.length < file.length / 3, `${zipped.body.length} of ${file.length} bytes`);
    assert.ok(gunzipSync(zipped.body).equals(file));
    for (const encoding of [undefined, 'identity', 'gzip;q=0', 'deflate']) {
      const whole = await rawBody(port, '/graphiql/', encoding ? { 'accept-encoding': encoding } : {});
      assert.equal(whole.headers['content-encoding'], undefined, encoding);
      assert.equal(Number(whole.headers['content-length']), file.length, encoding);
      assert.ok(whole.body.equals(file), encoding);
    }
    // The weak tag of the gzipped body revalidates it.
    const again = await rawBody(port, '/graphiql/', {
      'accept-encoding': 'gzip',
      'if-none-match': zipped.headers.etag,
    });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
  });

  test("the MCP Apps' pages, _headers and other methods are not served from the directory", async () => {
    // public/mcp-apps/ holds the approval card for the Worker's resources/read, not for browsers.
    const card = await fetch(`${base}/mcp-apps/approval-card.html`);
    assert.equal(card.status, 404);
    assert.doesNotMatch(await card.text(), /<html/i);
    const headers = await fetch(`${base}/_headers`);
    assert.equal(headers.status, 404);
    assert.doesNotMatch(await headers.text(), /X-Frame-Options/);
    const post = await fetch(`${base}/dashboard/`, { method: 'POST', body: 'x' });
    assert.notEqual(post.status, 200);
    assert.doesNotMatch(await post.text(), /<html/i);
  });

  test('on loopback, a page asked for under another host name is refused as DNS rebinding', async () => {
    const res = await rawRequest({ port, path: '/dashboard/', headers: { host: `evil.example:${port}` } });
    assert.equal(res.status, 403);
    assert.equal(JSON.parse(res.text).error.code, 'HOST_NOT_ALLOWED');
    const ok = await rawRequest({ port, path: '/dashboard/', headers: { host: `localhost:${port}` } });
    assert.equal(ok.status, 200);
  });

  test('no request path reaches a file outside public/, however it is spelled', async () => {
    const paths = [
      '/../package.json',
      '/../../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E/%2e%2e/package.json',
      '/dashboard/..%2f..%2fpackage.json',
      '/dashboard%2f..%2f..%2fpackage.json',
      '/..%5c..%5cpackage.json',
      '/dashboard/..\\..\\package.json',
      '/dashboard/index.html%00.js',
      '//package.json',
      '/%2fpackage.json',
      '/.git/config',
      '/.env',
      '/dashboard/%ff',
      `/${'a/'.repeat(2000)}`,
    ];
    for (const path of paths) {
      const res = await rawRequest({ port, path, headers: { host: `127.0.0.1:${port}` } });
      assert.notEqual(res.status, 200, path);
      assert.ok(!res.text.includes('"name": "changeflow"'), `${path}: ${res.text.slice(0, 200)}`);
      assert.ok(!res.text.includes(PACKAGE_JSON.slice(0, 40)), path);
    }
  });
});

describe('directoryAssets', () => {
  let dir;
  let root;
  let assets;
  const get = (path, init) => assets.serve(new Request(`http://localhost${path}`, init));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-assets-'));
    root = join(dir, 'public');
    mkdirSync(join(root, 'docs'), { recursive: true });
    mkdirSync(join(root, 'empty'), { recursive: true });
    mkdirSync(join(root, 'mcp-apps'), { recursive: true });
    writeFileSync(join(dir, 'secret.txt'), 'outside the directory');
    mkdirSync(join(dir, 'outside'));
    writeFileSync(join(dir, 'outside', 'index.html'), 'outside the directory');
    writeFileSync(join(root, 'docs', 'index.html'), '<p>docs</p>');
    writeFileSync(join(root, 'about.html'), '<p>about</p>');
    writeFileSync(join(root, 'app.js'), 'export {};');
    writeFileSync(join(root, 'logo.bin'), Buffer.from([0, 1, 2]));
    writeFileSync(join(root, '.env'), 'SECRET=1');
    writeFileSync(join(root, 'graphql'), 'a file named like a route');
    writeFileSync(join(root, 'mcp-apps', 'card.html'), '<p>card</p>');
    writeFileSync(join(root, '_redirects'), '/a /b 301');
    writeFileSync(
      join(root, '_headers'),
      '/*\n  X-Frame-Options: DENY\n/docs/*\n  Cache-Control: no-store\n',
    );
    symlinkSync(join(dir, 'secret.txt'), join(root, 'link.txt'));
    symlinkSync(join(dir, 'outside'), join(root, 'linked'));
    assets = directoryAssets(root);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('serves files, pages without .html and directories by their index, as auto-trailing-slash does', async () => {
    assert.equal(assets.size, 6); // docs/index.html, about.html, app.js, logo.bin, graphql, mcp-apps/card.html
    const about = get('/about');
    assert.equal(about.status, 200);
    assert.equal(await about.text(), '<p>about</p>');
    assert.equal(await get('/about.html').text(), '<p>about</p>');
    assert.equal(get('/app.js').headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.equal(get('/logo.bin').headers.get('content-type'), 'application/octet-stream');
    assert.equal(await get('/docs/').text(), '<p>docs</p>');
    assert.equal(get('/docs').status, 307);
    assert.equal(get('/docs').headers.get('location'), '/docs/');
    assert.equal(get('/empty/'), null);
    assert.equal(get('/empty'), null);
    assert.equal(get('/missing'), null);
  });

  test('_headers rules apply by path', () => {
    assert.equal(get('/app.js').headers.get('x-frame-options'), 'DENY');
    assert.equal(get('/app.js').headers.get('cache-control'), 'public, max-age=0, must-revalidate');
    assert.equal(get('/docs/').headers.get('cache-control'), 'no-store');
    const rules = parseHeaders('# note\n/users/:id/*\n  A: 1\n  B: x: y\nnot-a-header\n/*\n  C: 2');
    assert.deepEqual(
      rules.map((r) => r.headers),
      [
        [
          ['A', '1'],
          ['B', 'x: y'],
        ],
        [],
        [['C', '2']],
      ],
    );
    const [users, , all] = rules.map((r) => r.pattern);
    assert.ok(users.test('/users/42/avatar.png'));
    assert.ok(!users.test('/users/42'));
    assert.ok(!users.test('/users//avatar.png'));
    assert.ok(!users.test('/admin/users/42/x'));
    assert.ok(all.test('/') && all.test('/a/b.js'));
  });

  test('dot files, _headers, _redirects and symbolic links (to files or directories) are never served', () => {
    for (const path of [
      '/.env',
      '/_headers',
      '/_redirects',
      '/link.txt',
      '/linked/',
      '/linked',
      '/linked/index.html',
    ]) {
      assert.equal(get(path), null, path);
    }
  });

  test("paths the app answers first are not served, even where a file has the app's path", () => {
    assert.equal(get('/graphql'), null);
    assert.equal(get('/mcp-apps/card.html'), null);
    assert.equal(get('/mcp-apps'), null);
  });

  test('only GET and HEAD; a redirect stays on this origin', () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS'])
      assert.equal(get('/about', { method }), null, method);
    assert.equal(get('//docs'), null);
    assert.equal(get('/%2Fdocs'), null);
    assert.equal(get('/docs?next=//evil.example').headers.get('location'), '/docs/?next=//evil.example');
  });

  test('the binding (env.ASSETS) answers 404 where no file matches', async () => {
    assert.equal((await assets.binding.fetch('http://localhost/docs/')).status, 200);
    assert.equal((await assets.binding.fetch('http://localhost/missing')).status, 404);
  });
});

test("wrangler.toml's run_worker_first is WORKER_FIRST, which the Node runtime also keeps from its files", () => {
  for (const env of [undefined, 'staging', 'production']) {
    const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml'), ...(env ? { env } : {}) });
    assert.deepEqual(config.assets?.run_worker_first, [...WORKER_FIRST], env ?? 'top level');
  }
});
