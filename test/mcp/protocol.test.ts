import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import { cast } from '../helpers/changes';
import { MCP_URL, mcpClient, rawMcp } from '../helpers/mcp';

/**
 * The MCP transport as an agent's HTTP client meets it: version negotiation, authentication
 * challenges, Origin checks, malformed JSON-RPC, and JSON vs SSE answers.
 */
const VERSIONS = ['2025-03-26', '2025-06-18', '2025-11-25'] as const;
/** RFC 9728 §3.1: the well-known path inserted before the resource's path (/mcp). */
const METADATA_URL = 'http://cf.test/.well-known/oauth-protected-resource/mcp';

let admin: string;

beforeAll(async () => {
  admin = (await cast('mcp-protocol')).admin;
});

const initialize = (protocolVersion: string, id: number | string = 1) =>
  JSON.stringify({
    jsonrpc: '2.0',
    id,
    method: 'initialize',
    params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-test', version: '1.0.0' } },
  });

const rpc = (method: string, id: number | string = 1, params?: Record<string, unknown>) =>
  JSON.stringify({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) });

interface RpcBody {
  jsonrpc: string;
  id: number | string | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string };
}

/** Reads a JSON answer; fails the test with the raw text when it is not JSON. */
async function jsonOf(res: Response): Promise<RpcBody> {
  const text = await res.text();
  try {
    return JSON.parse(text) as RpcBody;
  } catch {
    throw new Error(`expected JSON, got ${res.status} ${res.headers.get('content-type')}: ${text}`);
  }
}

/** The `data:` payloads of an SSE body. */
function sseEvents(text: string): unknown[] {
  return text
    .split(/\n\n+/)
    .map((block) =>
      block
        .split('\n')
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trimStart())
        .join('\n'),
    )
    .filter((data) => data !== '')
    .map((data) => JSON.parse(data));
}

describe('initialize and version negotiation', () => {
  it.each(VERSIONS)('answers initialize on %s with the same version', async (version) => {
    const res = await rawMcp(initialize(version), { authorization: `Bearer ${admin}` });
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect(body).toMatchObject({ jsonrpc: '2.0', id: 1 });
    expect(body.result).toMatchObject({
      protocolVersion: version,
      serverInfo: { name: 'changeflow', version: expect.any(String) },
      capabilities: { tools: expect.any(Object), resources: expect.any(Object), prompts: expect.any(Object) },
    });
    expect(typeof body.result?.instructions).toBe('string');
  });

  it.each(VERSIONS)(
    'the SDK client negotiates %s and then works with that version header',
    async (version) => {
      const client = await mcpClient(admin, { protocolVersion: version });
      expect((client.transport as StreamableHTTPClientTransport).protocolVersion).toBe(version);
      expect(client.getServerVersion()?.name).toBe('changeflow');
      expect(client.getServerCapabilities()).toMatchObject({ tools: {}, resources: {}, prompts: {} });
      // Every later request carries MCP-Protocol-Version: <version>.
      const { tools } = await client.listTools();
      expect(tools.length).toBeGreaterThan(0);
      await client.close();
    },
  );

  it('offers its latest version to a client that asks for one it does not know', async () => {
    const res = await rawMcp(initialize('1999-01-01'), { authorization: `Bearer ${admin}` });
    expect(res.status).toBe(200);
    const body = await jsonOf(res);
    expect(VERSIONS).toContain(body.result?.protocolVersion);
  });

  it('refuses a request whose MCP-Protocol-Version header it does not support', async () => {
    const res = await rawMcp(rpc('tools/list'), {
      authorization: `Bearer ${admin}`,
      'mcp-protocol-version': '1999-01-01',
    });
    expect(res.status).toBe(400);
    expect((await jsonOf(res)).error?.message).toMatch(/protocol version/i);
  });
});

describe('authentication', () => {
  it('answers a request without a token with 401 and where to find the resource metadata', async () => {
    const res = await rawMcp(initialize('2025-06-18'));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${METADATA_URL}", scope="changeflow:viewer"`,
    );
    const body = await jsonOf(res);
    expect(body.error?.message).toMatch(/bearer token/i);
  });

  it.each([
    ['a malformed token', 'not-a-jwt'],
    ['a token signed with another secret', 'other'],
    ['an expired token', 'expired'],
  ])('answers %s with 401 and error="invalid_token"', async (_label, kind) => {
    const bad =
      kind === 'other'
        ? await token({ tenant: 'mcp-protocol', secret: 'another-secret-that-is-long-enough-0123456789' })
        : kind === 'expired'
          ? await token({ tenant: 'mcp-protocol', expiresIn: '-1m' })
          : kind;
    const res = await rawMcp(initialize('2025-06-18'), { authorization: `Bearer ${bad}` });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge).toContain(`resource_metadata="${METADATA_URL}"`);
    expect(challenge).toContain('error="invalid_token"');
    expect((await jsonOf(res)).error?.code).toBeTypeOf('number');
  });

  it('publishes RFC 9728 protected-resource metadata', async () => {
    const res = await exports.default.fetch(METADATA_URL);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const metadata = (await res.json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({ resource: MCP_URL, bearer_methods_supported: ['header'] });
    expect(metadata.scopes_supported).toEqual(
      ['viewer', 'requester', 'approver', 'change_manager', 'admin'].map((r) => `changeflow:${r}`),
    );
  });
});

describe('Origin check', () => {
  /** The test worker runs in development with CORS `*`; build an app that allows one origin. */
  const app = createApp(schema);
  const strictEnv = { ...env, CORS_ORIGINS: 'https://ok.example' };
  const post = (headers: Record<string, string>) =>
    app.fetch(
      new Request(MCP_URL, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${admin}`,
          ...headers,
        },
        body: initialize('2025-06-18'),
      }),
      strictEnv,
    );

  it('refuses an Origin that is not allowed with 403', async () => {
    const res = await post({ origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    const body = await jsonOf(res);
    expect(body.error?.message).toContain('https://evil.example');
  });

  it('refuses a disallowed Origin before looking at the token', async () => {
    const res = await post({ origin: 'https://evil.example', authorization: '' });
    expect(res.status).toBe(403);
  });

  it.each([
    ['an allowed Origin', { origin: 'https://ok.example' }],
    ['no Origin (a non-browser client)', {}],
  ])('serves %s', async (_label, headers) => {
    const res = await post(headers);
    expect(res.status).toBe(200);
    expect((await jsonOf(res)).result?.protocolVersion).toBe('2025-06-18');
  });
});

describe('HTTP methods', () => {
  it.each(['GET', 'DELETE', 'PUT'])('answers %s /mcp with 405 and Allow: POST', async (method) => {
    const res = await exports.default.fetch(MCP_URL, {
      method,
      headers: { authorization: `Bearer ${admin}`, accept: 'text/event-stream' },
    });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect((await jsonOf(res)).error?.code).toBeTypeOf('number');
  });
});

describe('malformed JSON-RPC', () => {
  const auth = () => ({ authorization: `Bearer ${admin}` });

  it.each([
    ['a body that is not JSON', '{"jsonrpc": "2.0", "id": 1, "method": ', {}, -32700],
    ['an empty body', '', {}, -32700],
    ['jsonrpc "1.0"', JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'ping' }), {}, -32600],
    ['no jsonrpc member', JSON.stringify({ id: 1, method: 'ping' }), {}, -32600],
    ['a request without a method', JSON.stringify({ jsonrpc: '2.0', id: 1 }), {}, -32600],
    ['a method that is not a string', JSON.stringify({ jsonrpc: '2.0', id: 1, method: 42 }), {}, -32600],
    ['a JSON scalar', '42', {}, -32600],
    ['an empty batch', '[]', {}, -32600],
    [
      'a batch under 2025-06-18 (batching was removed)',
      JSON.stringify([JSON.parse(rpc('ping', 1)), JSON.parse(rpc('ping', 2))]),
      { 'mcp-protocol-version': '2025-06-18' },
      -32600,
    ],
    [
      'a batch under 2025-11-25',
      JSON.stringify([JSON.parse(rpc('ping', 1))]),
      { 'mcp-protocol-version': '2025-11-25' },
      -32600,
    ],
  ])('answers %s with a JSON-RPC error (not a 5xx)', async (_label, body, headers, code) => {
    const res = await rawMcp(body, { ...auth(), ...headers });
    // A message the server cannot take as a request is refused at the HTTP level too.
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const answer = await jsonOf(res);
    expect(answer).toMatchObject({ jsonrpc: '2.0', id: null, error: { code } });
    expect(answer.error?.message).toBeTypeOf('string');
    expect(answer.error?.message).not.toBe('');
  });

  it('answers an unknown method with -32601 and the request id', async () => {
    const res = await rawMcp(rpc('changes/teleport', 'req-7'), {
      ...auth(),
      'mcp-protocol-version': '2025-06-18',
    });
    // A well-formed request answered with an error: the HTTP exchange itself succeeded.
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toMatchObject({ jsonrpc: '2.0', id: 'req-7', error: { code: -32601 } });
  });

  it.each<[string, Record<string, unknown> | undefined]>([
    ['tools/list', { cursor: 5 }],
    ['tools/call', undefined],
    ['tools/call', { name: 7 }],
    ['tools/call', { name: 'whoami', arguments: 'all of them' }],
    ['resources/templates/list', { cursor: ['x'] }],
    ['resources/read', { uri: null }],
    ['prompts/list', { cursor: false }],
    ['prompts/get', { arguments: { description: 'x' } }],
    ['prompts/get', { name: 'draft_change_request', arguments: { description: 42 } }],
  ])('answers %s with bad params %o with InvalidParams (-32602)', async (method, params) => {
    const res = await rawMcp(rpc(method, 'bad-params', params), {
      ...auth(),
      'mcp-protocol-version': '2025-06-18',
    });
    expect(res.status).toBe(200);
    expect(await jsonOf(res)).toMatchObject({ jsonrpc: '2.0', id: 'bad-params', error: { code: -32602 } });
  });

  it('still serves batches to a 2025-03-26 client, answering with an array', async () => {
    const body = JSON.stringify([JSON.parse(rpc('ping', 1)), JSON.parse(rpc('tools/list', 2))]);
    const res = await rawMcp(body, { ...auth(), 'mcp-protocol-version': '2025-03-26' });
    expect(res.status).toBe(200);
    const answers = (await res.json()) as RpcBody[];
    expect(Array.isArray(answers)).toBe(true);
    expect(answers.map((a) => a.id).sort()).toEqual([1, 2]);
    expect(answers.every((a) => a.result && !a.error)).toBe(true);
  });

  it('answers a 2025-03-26 batch of one with an array of one', async () => {
    const res = await rawMcp(JSON.stringify([JSON.parse(rpc('ping', 9))]), auth());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ jsonrpc: '2.0', id: 9, result: {} }]);
  });

  it('accepts a notification with 202 and no body', async () => {
    const res = await rawMcp(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), {
      ...auth(),
      'mcp-protocol-version': '2025-06-18',
    });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
  });

  it('refuses a body that is not declared as JSON with 415', async () => {
    const res = await rawMcp(rpc('ping'), { ...auth(), 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect((await jsonOf(res)).error?.code).toBeTypeOf('number');
  });
});

describe('JSON or SSE answers', () => {
  it.each([
    ['application/json, text/event-stream', 'application/json'],
    ['application/json', 'application/json'],
    ['*/*', 'application/json'],
  ])('answers Accept: %s with %s', async (accept, contentType) => {
    const res = await rawMcp(initialize('2025-11-25'), { authorization: `Bearer ${admin}`, accept });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain(contentType);
    expect((await jsonOf(res)).result?.protocolVersion).toBe('2025-11-25');
  });

  it('streams the answer as SSE when the client accepts only text/event-stream', async () => {
    const res = await rawMcp(initialize('2025-11-25', 'sse-1'), {
      authorization: `Bearer ${admin}`,
      accept: 'text/event-stream',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const events = sseEvents(await res.text()) as RpcBody[];
    const answer = events.find((e) => e.id === 'sse-1');
    expect(answer?.result).toMatchObject({
      protocolVersion: '2025-11-25',
      serverInfo: { name: 'changeflow' },
    });
  });

  it('streams a tool call as SSE too', async () => {
    const res = await rawMcp(rpc('tools/call', 2, { name: 'whoami', arguments: {} }), {
      authorization: `Bearer ${admin}`,
      accept: 'text/event-stream',
      'mcp-protocol-version': '2025-11-25',
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const answer = (sseEvents(await res.text()) as RpcBody[]).find((e) => e.id === 2);
    expect(answer?.result).toMatchObject({ structuredContent: expect.any(Object) });
    expect(answer?.result?.isError).toBeFalsy();
  });
});
