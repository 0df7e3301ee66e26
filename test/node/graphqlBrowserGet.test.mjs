// A browser opening /graphql on a Node runtime started without its static pages (so no GraphiQL)
// gets a short page saying how to call the endpoint, not a JSON error; API clients still get
// GraphQL answers. With the pages, the same request gets GraphiQL (test/node/staticAssets.test.mjs).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';
import { rawRequest } from './rawHttp.mjs';

const SECRET = 'node-browser-get-test-secret-0123456789abcdef';
let server;
let base;

before(async () => {
  const app = openNodeApp({ dbPath: ':memory:', env: { JWT_SECRET: SECRET, ENVIRONMENT: 'development' } });
  server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
  base = server.url.replace(/\/$/, '');
});
after(async () => {
  await server?.close();
});

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

test('a browser GET /graphql gets an HTML page that says to POST GraphQL with a token', async () => {
  const res = await fetch(`${base}/graphql`, { headers: { accept: BROWSER_ACCEPT } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html; charset=utf-8/);
  assert.match(res.headers.get('vary') ?? '', /accept/i);
  // Static text: the CSP allows no script at all.
  assert.match(res.headers.get('content-security-policy'), /default-src 'none'/);
  const html = await res.text();
  assert.match(html, /<title>ChangeFlow GraphQL endpoint<\/title>/);
  assert.match(html, /POST \/graphql/);
  assert.match(html, /Authorization: Bearer &lt;token&gt;/);
  assert.match(html, /GraphiQL.*npm run serve:node<\/code> builds and serves them/s);
  assert.ok(html.includes(`curl -s ${base}/graphql`), 'the example names this server');
  assert.doesNotMatch(html, /<script/i);
});

test('the page is for browsers only: API requests without a token still get GraphQL errors', async () => {
  const cases = [
    // A GET with no credential is refused as a possible cross-site request, as before.
    {
      init: { method: 'GET', headers: { accept: 'application/json' } },
      status: 403,
      code: 'CSRF_HEADER_REQUIRED',
    },
    {
      init: {
        method: 'POST',
        headers: { accept: 'application/json, text/html;q=0.9', 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ changes { nodes { id } } }' }),
      },
      status: 401,
      code: 'UNAUTHENTICATED',
    },
  ];
  for (const { init, status, code } of cases) {
    const res = await fetch(`${base}/graphql?query=%7B__typename%7D`, init);
    assert.equal(res.status, status, init.method);
    assert.doesNotMatch(res.headers.get('content-type'), /text\/html/);
    const body = await res.json();
    assert.equal(body.errors[0].extensions.code, code);
  }
});

test('with a token, a GET query that asks for JSON is answered as GraphQL, not with the page', async () => {
  const token = await signDevToken({ secret: SECRET, sub: 'v', tenant: 't', roles: ['viewer'] });
  const res = await fetch(`${base}/graphql?query=${encodeURIComponent('{ __typename }')}`, {
    headers: { accept: 'application/json', authorization: `Bearer ${token}` },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { data: { __typename: 'Query' } });
});

test('a Host header cannot inject markup into the page', async () => {
  const html = await rawRequest({
    port: new URL(base).port,
    path: '/graphql',
    headers: { host: 'localhost"><b>x</b>', accept: 'text/html' },
  });
  assert.doesNotMatch(html.text, /<b>x<\/b>/);
});
