import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { cast } from '../helpers/changes';

/**
 * The requests the fuzz test (seed 20260417) found answered with a 500, a JSON-RPC internal error
 * or an error without a body, pinned down so that a change of generators or schema cannot lose
 * them: each must now be refused as the caller's mistake, with a code.
 */
let viewer: string;

beforeAll(async () => {
  viewer = (await cast('fuzz-regressions')).viewer;
});

const ME = encodeURIComponent('{ me { id } }');

async function graphql(path: string, init: RequestInit = {}) {
  const res = await exports.default.fetch(`http://cf.test${path}`, {
    ...init,
    headers: { authorization: `Bearer ${viewer}`, ...(init.headers as Record<string, string>) },
  });
  const text = await res.text();
  // A multipart/mixed answer carries the JSON result as its one part.
  const json = res.headers.get('content-type')?.startsWith('multipart/')
    ? text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)
    : text;
  const body = JSON.parse(json) as { errors?: { message: string; extensions?: { code?: string } }[] };
  return { status: res.status, error: body.errors?.[0] };
}

async function rpc(message: Record<string, unknown>) {
  const res = await exports.default.fetch('http://cf.test/mcp', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${viewer}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, ...message }),
  });
  const body = (await res.json()) as { error?: { code: number; message: string } };
  return { status: res.status, error: body.error };
}

describe('GraphQL over HTTP', () => {
  it.each([
    [
      'variables that are not JSON',
      `/graphql?query=${ME}&variables=%7B`,
      'application/graphql-response+json',
    ],
    ['extensions that are not JSON', `/graphql?query=${ME}&extensions=%7B`, '*/*'],
    ['broken variables, asking for multipart', `/graphql?query=${ME}&variables=%7B`, 'multipart/mixed'],
  ])('GET with %s is a 400 BAD_REQUEST, not a 500', async (_label, path, accept) => {
    const { status, error } = await graphql(path, { headers: { accept } });
    expect(status).toBe(400);
    expect(error?.extensions?.code).toBe('BAD_REQUEST');
    expect(error?.message).toMatch(/not valid JSON/);
  });

  it('a urlencoded POST whose variables are not JSON is a 400 BAD_REQUEST', async () => {
    const { status, error } = await graphql('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `query=${ME}&variables=%7B`,
    });
    expect(status).toBe(400);
    expect(error?.extensions?.code).toBe('BAD_REQUEST');
  });

  it.each(['text/html', 'image/*', ',,,'])(
    'Accept: %s is a 406 that says what it can answer',
    async (accept) => {
      const { status, error } = await graphql('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept },
        body: JSON.stringify({ query: '{ me { id } }' }),
      });
      expect(status).toBe(406);
      expect(error?.extensions?.code).toBe('NOT_ACCEPTABLE');
      expect(error?.message).toMatch(/application\/json/);
    },
  );
});

describe('MCP', () => {
  it.each([
    'changeflow://changes/%ZZ',
    'changeflow://changes/%uD800',
    'changeflow://changes/%ED%A0%80',
    'changeflow://changes/%E0%A4%A/audit',
  ])('resources/read of %s is invalid params (-32602), not an internal error', async (uri) => {
    const { error } = await rpc({ method: 'resources/read', params: { uri } });
    expect(error?.code).toBe(-32602);
    expect(error?.message).toMatch(/malformed/);
  });

  it('prompts/get prepare_cab_review with a lone surrogate is invalid params (-32602)', async () => {
    const { error } = await rpc({
      method: 'prompts/get',
      params: { name: 'prepare_cab_review', arguments: { changeId: '\ud800' } },
    });
    expect(error?.code).toBe(-32602);
  });

  it.each<[string, Record<string, unknown>]>([
    [
      'a numeric protocolVersion',
      { protocolVersion: 20250618, capabilities: {}, clientInfo: { name: 'x', version: '1' } },
    ],
    [
      'capabilities that are a string',
      { protocolVersion: '2025-06-18', capabilities: 'x', clientInfo: { name: 'x', version: '1' } },
    ],
    ['no clientInfo', { protocolVersion: '2025-06-18', capabilities: {} }],
  ])('initialize with %s is an invalid request (-32600), not an internal error', async (_label, params) => {
    const { status, error } = await rpc({ method: 'initialize', params });
    expect(status).toBe(400);
    expect(error?.code).toBe(-32600);
    expect(error?.message).toMatch(/initialize/);
  });
});
