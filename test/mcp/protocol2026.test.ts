import type { Client } from '@modelcontextprotocol/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { cast } from '../helpers/changes';
import { mcpClient, rawMcp } from '../helpers/mcp';

/**
 * The 2026-07-28 revision on /mcp, as a client of that revision meets it on the wire: no
 * handshake, `server/discover`, the per-request `_meta` envelope, the Mcp-Method and Mcp-Name
 * headers checked against the body, `resultType`, cache hints on lists, and resource-not-found as
 * InvalidParams. The same endpoint keeps serving 2025 clients (test/mcp/protocol.test.ts).
 */
const REVISION = '2026-07-28';
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'raw-2026', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

let admin: string;
let viewer: string;

beforeAll(async () => {
  const c = await cast('mcp-2026');
  admin = c.admin;
  viewer = c.viewer;
});

interface RpcAnswer {
  id: number | string | null;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** One 2026-07-28 request: the envelope in `_meta`, the method (and name) in headers too. */
async function send(
  method: string,
  params: Record<string, unknown> = {},
  opts: { token?: string | null; headers?: Record<string, string>; meta?: Record<string, unknown> } = {},
) {
  const name =
    typeof params.name === 'string' ? params.name : typeof params.uri === 'string' ? params.uri : null;
  const res = await rawMcp(
    JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: opts.meta ?? ENVELOPE } }),
    {
      ...(opts.token === null ? {} : { authorization: `Bearer ${opts.token ?? admin}` }),
      'mcp-protocol-version': REVISION,
      'mcp-method': method,
      ...(name ? { 'mcp-name': name } : {}),
      ...opts.headers,
    },
  );
  const text = await res.text();
  let body: RpcAnswer;
  try {
    body = JSON.parse(text) as RpcAnswer;
  } catch {
    throw new Error(`expected JSON, got ${res.status} ${res.headers.get('content-type')}: ${text}`);
  }
  return { res, body };
}

describe('server/discover', () => {
  it('advertises the revision, the capabilities and who we are, without a handshake', async () => {
    const { res, body } = await send('server/discover');
    expect(res.status).toBe(200);
    expect(body.result).toMatchObject({
      supportedVersions: expect.arrayContaining([REVISION]),
      capabilities: { tools: {}, resources: {}, prompts: {} },
      resultType: 'complete',
      _meta: { 'io.modelcontextprotocol/serverInfo': { name: 'changeflow' } },
    });
  });

  it('lets a client cache the answer, privately (what a caller sees depends on its roles)', async () => {
    const { body } = await send('server/discover');
    expect(body.result?.ttlMs).toBeGreaterThan(0);
    expect(body.result?.cacheScope).toBe('private');
  });
});

describe('lists carry resultType and cache hints', () => {
  it.each(['tools/list', 'prompts/list', 'resources/list', 'resources/templates/list'])(
    '%s',
    async (method) => {
      const { res, body } = await send(method);
      expect(res.status).toBe(200);
      expect(body.result).toMatchObject({ resultType: 'complete', cacheScope: 'private' });
      expect(body.result?.ttlMs).toBeGreaterThan(0);
    },
  );

  it('does not let a client cache a tool result', async () => {
    const { body } = await send('tools/call', { name: 'metrics_dashboard', arguments: {} });
    expect(body.result).toMatchObject({ resultType: 'complete' });
    expect(body.result?.ttlMs).toBeUndefined();
  });
});

describe('the envelope and the headers', () => {
  it('refuses an Mcp-Method header that disagrees with the body', async () => {
    const { res, body } = await send('tools/list', {}, { headers: { 'mcp-method': 'prompts/list' } });
    expect(res.status).toBe(400);
    expect(body.error).toMatchObject({
      code: -32020,
      message: expect.stringMatching(/headers and body disagree/),
    });
  });

  it('refuses an Mcp-Name header that names another tool than the body', async () => {
    const { res, body } = await send(
      'tools/call',
      { name: 'metrics_dashboard', arguments: {} },
      { headers: { 'mcp-name': 'emergency_override' } },
    );
    expect(res.status).toBe(400);
    expect(body.error?.code).toBe(-32020);
  });

  it('refuses a 2026-07-28 header without the envelope with InvalidParams', async () => {
    const res = await rawMcp(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), {
      authorization: `Bearer ${admin}`,
      'mcp-protocol-version': REVISION,
      'mcp-method': 'tools/list',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as RpcAnswer).error?.code).toBe(-32602);
  });

  it('refuses a revision it does not serve, naming the ones it does', async () => {
    const meta = { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' };
    const { body } = await send(
      'tools/list',
      {},
      { meta, headers: { 'mcp-protocol-version': '2099-01-01' } },
    );
    expect(body.error?.message).toMatch(/2099-01-01/);
    expect(JSON.stringify(body.error?.data)).toContain(REVISION);
  });

  it('authenticates before anything else: no token, 401 with the challenge', async () => {
    const { res } = await send('tools/list', {}, { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata=/);
  });

  it('answers bad params with InvalidParams, not an internal error', async () => {
    const { body } = await send('tools/list', { cursor: 5 });
    expect(body.error).toMatchObject({ code: -32602, message: expect.stringMatching(/cursor/) });
  });
});

describe('resources', () => {
  it('answers a resource that does not exist with InvalidParams carrying the URI', async () => {
    const uri = 'changeflow://changes/CHG-20200101-ZZZZZZ';
    const { res, body } = await send('resources/read', { uri });
    expect(res.status).toBe(200);
    expect(body.error).toMatchObject({ code: -32602, data: { uri } });
  });
});

describe('subscriptions/listen', () => {
  it('acknowledges and ends: the catalog changes only on deploy, so there is nothing to hold open', async () => {
    const res = await rawMcp(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'subscriptions/listen',
        params: { notifications: { toolsListChanged: true }, _meta: ENVELOPE },
      }),
      {
        authorization: `Bearer ${admin}`,
        'mcp-protocol-version': REVISION,
        'mcp-method': 'subscriptions/listen',
      },
    );
    expect(res.status).toBe(200);
    // The whole body arrives: the stream is closed, not held open for a token to outlive.
    const text = await res.text();
    expect(text).toContain('"id":9');
    expect(text).not.toContain('toolsListChanged":true');
  });
});

describe('the SDK client of each era', () => {
  let modern: Client;
  let legacy: Client;

  beforeAll(async () => {
    modern = await mcpClient(viewer);
    legacy = await mcpClient(viewer, { era: 'legacy' });
  });

  it('connects each on its own era', () => {
    expect(modern.getProtocolEra()).toBe('modern');
    expect(legacy.getProtocolEra()).toBe('legacy');
  });

  it('sees the same tools, resources and prompts in both', async () => {
    const names = async (c: Client) => ({
      tools: (await c.listTools()).tools.map((t) => t.name),
      templates: (await c.listResourceTemplates()).resourceTemplates.map((t) => t.uriTemplate),
      prompts: (await c.listPrompts()).prompts.map((p) => p.name),
    });
    expect(await names(modern)).toEqual(await names(legacy));
  });

  it('gets the same structured result from a tool in both', async () => {
    const call = (c: Client) => c.callTool({ name: 'metrics_dashboard', arguments: {} });
    const [a, b] = await Promise.all([call(modern), call(legacy)]);
    expect(a.isError).toBeFalsy();
    expect(Object.keys(a.structuredContent ?? {})).toEqual(Object.keys(b.structuredContent ?? {}));
  });
});
