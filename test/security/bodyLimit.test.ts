import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { limitBody, MAX_BODY_BYTES } from '../../src/http/bodyLimit';
import { schema } from '../../src/schema';
import { DRAIN_MAX_BYTES } from '../../src/streams';
import { token } from '../helpers/auth';

/**
 * Request bodies over 100 KiB on /graphql and /mcp are refused with 413 PAYLOAD_TOO_LARGE, in each
 * surface's shape, whether the size is declared (Content-Length) or only found while reading
 * (chunked); a body of exactly the limit is served.
 */
let admin: string;

beforeAll(async () => {
  admin = await token({ sub: 'body', tenant: 'body-limit', roles: ['admin'] });
});

const app = createApp(schema);

/** A JSON body of exactly `size` bytes: the operation, padded with a variable nobody reads. */
function padded(
  size: number,
  body: Record<string, unknown>,
  pad: (filler: string) => Record<string, unknown>,
) {
  const bare = JSON.stringify({ ...body, ...pad('') }).length;
  const text = JSON.stringify({ ...body, ...pad('x'.repeat(size - bare)) });
  expect(new TextEncoder().encode(text).byteLength).toBe(size);
  return text;
}

const graphqlBody = (size: number) =>
  padded(size, { query: '{ me { id } }' }, (filler) => ({ variables: { padding: filler } }));

const mcpBody = (size: number) =>
  padded(size, { jsonrpc: '2.0', id: 1, method: 'initialize' }, (filler) => ({
    params: {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'body-limit-test', version: '1' },
      _meta: { padding: filler },
    },
  }));

const HEADERS: Record<string, Record<string, string>> = {
  '/graphql': { accept: 'application/graphql-response+json' },
  '/mcp': { accept: 'application/json, text/event-stream' },
};

const bodyFor = (path: string, size: number) => (path === '/graphql' ? graphqlBody(size) : mcpBody(size));

/** A body streamed in chunks with no Content-Length, recording how much was pulled from it. */
function chunked(text: string, chunkSize = 8 * 1024) {
  const bytes = new TextEncoder().encode(text);
  const state = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulled >= bytes.byteLength) return controller.close();
      const chunk = bytes.slice(state.pulled, state.pulled + chunkSize);
      state.pulled += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  return { stream, state };
}

function post(path: string, body: BodyInit, headers: Record<string, string> = {}) {
  return new Request(`http://cf.test${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${admin}`,
      ...HEADERS[path],
      ...headers,
    },
    body,
    // @ts-expect-error a streamed body needs duplex in Node's types; workerd accepts it.
    duplex: 'half',
  });
}

async function expectTooLarge(res: Response, path: string) {
  expect(res.status).toBe(413);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('x-request-id')).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  const body = (await res.json()) as Record<string, unknown>;
  const message = `Request body too large: the limit is ${MAX_BODY_BYTES} bytes (100 KiB)`;
  if (path === '/mcp') {
    expect(body).toEqual({
      jsonrpc: '2.0',
      error: { code: -32000, message, data: { code: 'PAYLOAD_TOO_LARGE', limitBytes: MAX_BODY_BYTES } },
      id: null,
    });
  } else {
    expect(body).toEqual({
      errors: [{ message, extensions: { code: 'PAYLOAD_TOO_LARGE', limitBytes: MAX_BODY_BYTES } }],
    });
  }
}

it('is 100 KiB', () => {
  expect(MAX_BODY_BYTES).toBe(102_400);
});

describe.each(['/graphql', '/mcp'])('%s', (path) => {
  it('serves a body of exactly the limit', async () => {
    const res = await exports.default.fetch(post(path, bodyFor(path, MAX_BODY_BYTES)));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    if (path === '/graphql') expect(body).toEqual({ data: { me: { id: 'body' } } });
    else expect(body).toMatchObject({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18' } });
  });

  it('refuses one byte more, declared in Content-Length, with 413', async () => {
    const text = bodyFor(path, MAX_BODY_BYTES + 1);
    const res = await exports.default.fetch(post(path, text, { 'content-length': String(text.length) }));
    await expectTooLarge(res, path);
  });

  // The refused body is read on and thrown away (never parsed), so that the 413 goes out once
  // the client finished sending: an answer while it still sends breaks the connection (see
  // drainBody in src/streams.ts and test/node/malformedInput.test.mjs).
  it('refuses a declared Content-Length over the limit, then drains the body it never parses', async () => {
    const { stream, state } = chunked(bodyFor(path, 10 * MAX_BODY_BYTES));
    const request = post(path, stream, { 'content-length': String(10 * MAX_BODY_BYTES) });
    const res = await app.fetch(request, env);
    await expectTooLarge(res, path);
    expect(state.pulled).toBe(10 * MAX_BODY_BYTES);
  });

  it('refuses one byte more without Content-Length (chunked)', async () => {
    const { stream, state } = chunked(bodyFor(path, MAX_BODY_BYTES + 1));
    const request = post(path, stream);
    expect(request.headers.get('content-length')).toBeNull();
    await expectTooLarge(await app.fetch(request, env), path);
    expect(state.pulled).toBe(MAX_BODY_BYTES + 1);
  });

  it('drains a long chunked body to its end before answering 413', async () => {
    const { stream, state } = chunked(bodyFor(path, 50 * MAX_BODY_BYTES));
    await expectTooLarge(await app.fetch(post(path, stream), env), path);
    expect(state.pulled).toBe(50 * MAX_BODY_BYTES);
  });

  it('stops draining at DRAIN_MAX_BYTES: a bigger body is cancelled', async () => {
    const { stream, state } = chunked(bodyFor(path, DRAIN_MAX_BYTES + 4 * MAX_BODY_BYTES), 64 * 1024);
    await expectTooLarge(await app.fetch(post(path, stream), env), path);
    expect(state.pulled).toBeGreaterThan(DRAIN_MAX_BYTES - 64 * 1024);
    expect(state.pulled).toBeLessThan(DRAIN_MAX_BYTES + 2 * 64 * 1024);
  });

  it('drains the body of an early 401 (a bad token) before answering', async () => {
    const { stream, state } = chunked(bodyFor(path, MAX_BODY_BYTES));
    const declared = { authorization: 'Bearer not.a.jwt', 'content-length': String(MAX_BODY_BYTES) };
    const res = await app.fetch(post(path, stream, declared), env);
    expect(res.status).toBe(401);
    expect(state.pulled).toBe(MAX_BODY_BYTES);
  });

  it('serves a chunked body of exactly the limit', async () => {
    const { stream } = chunked(bodyFor(path, MAX_BODY_BYTES));
    const res = await app.fetch(post(path, stream), env);
    expect(res.status).toBe(200);
  });
});

describe('limitBody', () => {
  it('hands on a request with the same method, headers and body', async () => {
    const original = new Request('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': '1' },
      body: '{"query":"{ me { id } }"}',
    });
    const limited = await limitBody(original, 100);
    if (!('request' in limited)) throw new Error('refused a small body');
    expect(limited.request.method).toBe('POST');
    expect(limited.request.headers.get('x-custom')).toBe('1');
    expect(await limited.request.text()).toBe('{"query":"{ me { id } }"}');
  });

  it('passes a request without a body as it is', async () => {
    const get = new Request('http://cf.test/graphql?query=%7B__typename%7D');
    expect(await limitBody(get, 1)).toEqual({ request: get });
  });

  it('counts bytes, not characters', async () => {
    const body = 'é'.repeat(60); // 120 bytes in UTF-8
    const request = () => new Request('http://cf.test/mcp', { method: 'POST', body });
    expect(await limitBody(request(), 119)).toEqual({ tooLarge: true, limitBytes: 119 });
    expect('request' in (await limitBody(request(), 120))).toBe(true);
  });
});
