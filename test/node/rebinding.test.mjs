// DNS rebinding against a self-hosted server on loopback: a page on evil.example whose name is made
// to resolve to 127.0.0.1 reaches the server with `Host: evil.example` (and, for a same-origin
// request, a matching Origin). The server listens on loopback, so it answers only loopback names
// and PUBLIC_URL's host, on every route, before any credential or JSON-RPC is looked at.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isLoopbackListenAddress } from '../../src/http/rebinding.ts';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';
import { rawRequest } from './rawHttp.mjs';

const SECRET = 'node-rebinding-test-secret-0123456789abcdef';

/** A raw request with the Host header we choose (fetch would set its own). */
const send = (port, { path, host, method = 'POST', headers = {}, body = '' }) =>
  rawRequest({ port, path, method, headers: { host, 'content-type': 'application/json', ...headers }, body });

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
});

async function serve(env, listenHost) {
  const app = openNodeApp({ dbPath: ':memory:', env: { JWT_SECRET: SECRET, ...env }, listenHost });
  const server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
  return { server, port: Number(new URL(server.url).port) };
}

describe('a loopback server answers only loopback names (DNS-rebinding protection)', () => {
  let s;
  let token;
  before(async () => {
    s = await serve({ PUBLIC_URL: 'https://changeflow.example.com' }, '127.0.0.1');
    token = await signDevToken({ secret: SECRET, sub: 'max', tenant: 't', roles: ['change_manager'] });
  });
  after(async () => {
    await s?.server.close();
  });

  test('a rebinding request to /mcp and /graphql is 403 HOST_NOT_ALLOWED, with or without a credential', async () => {
    for (const path of ['/mcp', '/graphql']) {
      for (const headers of [{}, { authorization: `Bearer ${token}` }]) {
        const r = await send(s.port, {
          path,
          host: `evil.example.com:${s.port}`,
          headers: {
            ...headers,
            origin: `http://evil.example.com:${s.port}`,
            accept: 'application/json, text/event-stream',
          },
          body: path === '/mcp' ? INITIALIZE : '{"query":"{ me { id } }"}',
        });
        assert.equal(r.status, 403, `${path}: ${r.text}`);
        assert.equal(JSON.parse(r.text).error.code, 'HOST_NOT_ALLOWED');
        assert.doesNotMatch(r.text, /jsonrpc|"data"/);
      }
    }
  });

  test('loopback names and PUBLIC_URL’s host are served', async () => {
    for (const host of [
      `127.0.0.1:${s.port}`,
      `localhost:${s.port}`,
      `[::1]:${s.port}`,
      'changeflow.example.com',
    ]) {
      const r = await send(s.port, {
        path: '/graphql',
        host,
        headers: { authorization: `Bearer ${token}` },
        body: '{"query":"{ me { id } }"}',
      });
      assert.equal(r.status, 200, `${host}: ${r.text}`);
      assert.equal(JSON.parse(r.text).data.me.id, 'max');
    }
  });

  test('a look-alike of a loopback name is not one', async () => {
    for (const host of [
      'localhost.evil.example',
      '127.0.0.1.nip.io',
      'changeflow.example.com.evil.example',
    ]) {
      const r = await send(s.port, { path: '/health', host, method: 'GET' });
      assert.equal(r.status, 403, host);
    }
  });
});

test('which listen addresses are loopback', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
    assert.equal(isLoopbackListenAddress(h), true, h);
  for (const h of ['0.0.0.0', '::', '192.168.1.5', 'example.com'])
    assert.equal(isLoopbackListenAddress(h), false, h);
});
