// The node:http bridge (src/runtime/node/http.ts) over real sockets: what the app is handed for
// each way a body can arrive (read first when its Content-Length is within the cap, streamed
// otherwise), the request's URL from odd Host headers and request targets, and what happens when
// a client leaves: mid-body, or while the app is still working on its answer.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

/** @type {Awaited<ReturnType<typeof import('../../src/runtime/node/server.ts').startNodeServer>>} */
let server;
/** What the app saw of each request, by its X-Probe header. */
const seen = new Map();

before(async () => {
  const { startNodeServer } = await import('../../src/runtime/node/server.ts');
  const app = {
    fetch: async (/** @type {Request} */ request) => {
      const probe = request.headers.get('x-probe') ?? '';
      const entry = { url: request.url, aborted: false, body: null, error: null };
      seen.set(probe, entry);
      request.signal.addEventListener('abort', () => {
        entry.aborted = true;
      });
      if (probe.startsWith('slow')) {
        await sleep(400);
        return Response.json({ done: true });
      }
      try {
        entry.body = request.body ? Buffer.from(await request.arrayBuffer()).toString('latin1') : null;
      } catch (e) {
        entry.error = String(e);
      }
      return Response.json({ url: request.url, length: entry.body?.length ?? null });
    },
    upgrade: (_req, socket) => socket.destroy(),
    endSubscriptions: async () => {},
    close: async () => {},
  };
  server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
});
after(() => server.close());

/** Sends raw bytes; resolves with what came back once the server closed or `waitMs` passed. */
function raw(bytes, { waitMs = 1500, halfClose = false, destroyAfterMs = null } = {}) {
  return new Promise((resolve) => {
    const socket = connect(server.port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('error', () => {});
    const done = () => resolve(text);
    socket.on('close', done);
    socket.on('connect', () => {
      socket.write(bytes);
      if (halfClose) socket.end();
      if (destroyAfterMs !== null) setTimeout(() => socket.destroy(), destroyAfterMs);
    });
    setTimeout(() => {
      socket.destroy();
      done();
    }, waitMs);
  });
}

/** A POST over node:http; `chunked` sends the body in pieces without a Content-Length. */
function post(path, body, { probe, chunked = false, host } = {}) {
  return new Promise((resolve, reject) => {
    const headers = { 'x-probe': probe, 'content-type': 'application/octet-stream' };
    if (!chunked) headers['content-length'] = String(body.length);
    if (host) headers.host = host;
    const req = httpRequest(
      { host: '127.0.0.1', port: server.port, path, method: 'POST', headers },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
      },
    );
    req.on('error', reject);
    if (chunked) {
      for (let i = 0; i < body.length; i += 1000) req.write(body.subarray(i, i + 1000));
      req.end();
    } else req.end(body);
  });
}

describe('the node:http bridge: bodies', () => {
  const bytes = (n) => Buffer.from(Array.from({ length: n }, (_, i) => i % 251));

  test('a body within the cap, one byte or split across packets, reaches the app whole', async () => {
    for (const n of [0, 1, 70_000, 100 * 1024]) {
      const body = bytes(n);
      const res = await post('/echo', body, { probe: `len-${n}` });
      assert.equal(res.status, 200);
      assert.equal(seen.get(`len-${n}`).body, body.toString('latin1'), `${n} bytes`);
    }
  });

  test('a chunked body, and one declared over the cap, still stream to the app (its limit applies there)', async () => {
    const big = bytes(300 * 1024);
    await post('/echo', big, { probe: 'chunked', chunked: true });
    assert.equal(seen.get('chunked').body, big.toString('latin1'));
    await post('/echo', big, { probe: 'declared-big' });
    assert.equal(seen.get('declared-big').body, big.toString('latin1'));
  });

  test('a client that leaves mid-body never reaches the app, and the server goes on serving', async () => {
    const head = `POST /x HTTP/1.1\r\nHost: localhost\r\nX-Probe: truncated-cut\r\nContent-Length: 1000\r\n\r\n`;
    await raw(`${head}${'a'.repeat(400)}`, { destroyAfterMs: 100, waitMs: 400 });
    const halfClosed = await raw(`${head.replace('cut', 'half')}${'a'.repeat(400)}`, { halfClose: true });
    assert.equal(seen.has('truncated-cut'), false);
    assert.equal(seen.has('truncated-half'), false);
    // node:http itself refuses a body cut short by the end of the stream.
    assert.match(halfClosed, /^HTTP\/1\.1 400 /);
    const res = await post('/echo', bytes(10), { probe: 'after' });
    assert.equal(res.status, 200);
  });

  test('a client that leaves while the app works aborts the request’s signal, body read first or not', async () => {
    const get = `GET /slow HTTP/1.1\r\nHost: localhost\r\nX-Probe: slow-get\r\n\r\n`;
    const posted = `POST /slow HTTP/1.1\r\nHost: localhost\r\nX-Probe: slow-post\r\nContent-Length: 5\r\n\r\nhello`;
    const chunked = `POST /slow HTTP/1.1\r\nHost: localhost\r\nX-Probe: slow-chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`;
    await Promise.all([get, posted, chunked].map((b) => raw(b, { destroyAfterMs: 100, waitMs: 200 })));
    await sleep(50);
    for (const probe of ['slow-get', 'slow-post', 'slow-chunked']) {
      assert.equal(seen.get(probe)?.aborted, true, probe);
    }
    // One that stays gets its answer, not an abort.
    const stays = await raw(posted.replace('slow-post', 'slow-stays'), { waitMs: 1000 });
    assert.match(stays, /^HTTP\/1\.1 200 [\s\S]*"done":true/);
    assert.equal(seen.get('slow-stays').aborted, false);
  });
});

describe('the node:http bridge: URLs', () => {
  const urlFor = async (target, host) => {
    const probe = `url-${target}-${host}`;
    const text = await raw(
      `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nX-Probe: ${probe}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 200 /, `${target} with Host ${host}`);
    return seen.get(probe).url;
  };

  test('joins the Host header and the path as the URL parser does, whatever they hold', async () => {
    const fallback = `http://127.0.0.1:${server.port}`;
    const cases = [
      ['/graphql?x=1&y=%20', 'localhost:8788', 'http://localhost:8788/graphql?x=1&y=%20'],
      ['/a/../b/./c', 'EXAMPLE.com', 'http://example.com/b/c'],
      ['/x', 'example.com:80', 'http://example.com/x'],
      ['/x', '[::1]:8080', 'http://[::1]:8080/x'],
      ['/x', '127.1', 'http://127.0.0.1/x'],
      // A path that names a host of its own is read as the URL parser reads it.
      ['//evil.example/x', 'localhost', 'http://evil.example/x'],
      ['/\\evil.example/x', 'localhost', 'http://evil.example/x'],
      ['http://other.example/y', 'localhost', 'http://other.example/y'],
      // Hosts that make no URL: the server's own address.
      ['/x', '999.0.0.1', `${fallback}/x`],
      ['/x', 'localhost:99999', `${fallback}/x`],
      ['/x', '[zz]', `${fallback}/x`],
      ['/x', 'a b', `${fallback}/x`],
    ];
    for (const [target, host, expected] of cases)
      assert.equal(await urlFor(target, host), expected, `${target} ${host}`);
  });
});
