import type { Client } from '@modelcontextprotocol/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/mcp/catalog';
import { TOOLS_PAGE_SIZE } from '../../src/mcp/server';
import { DEFAULT_TOOLSET, TOOLSETS } from '../../src/mcp/toolsets';
import { schema } from '../../src/schema';
import { cast } from '../helpers/changes';
import { callTool, mcpClient, rawMcp } from '../helpers/mcp';

/**
 * Toolsets and read-only mode, chosen per request by path or header: an agent carries only the
 * tools its task needs, and a read-only connection cannot change anything whatever it calls.
 */
const catalog = buildCatalog(schema);
/** Each tool's toolset, as its field's `mcp.toolset` option sets it. */
const TOOLSET_OF = Object.fromEntries(catalog.tools.map((t) => [t.name, t.toolset]));
const ORIGINAL = [
  'create_change_request',
  'approve_change',
  'assess_risk',
  'schedule_change',
  'get_change_status',
  'emergency_override',
  'compliance_report',
  'metrics_dashboard',
];

let c: Awaited<ReturnType<typeof cast>>;
const names = async (client: Client) => (await client.listTools()).tools.map((t) => t.name);

beforeAll(async () => {
  c = await cast('mcp-toolsets');
});

describe('the toolsets', () => {
  it('put every tool of the catalog in a known toolset, named in the schema', () => {
    for (const tool of catalog.tools) expect(Object.keys(TOOLSETS), tool.name).toContain(tool.toolset);
  });

  it('refuse to build a schema whose tool names no toolset (a JavaScript caller the types miss)', async () => {
    const { default: SchemaBuilder } = await import('@pothos/core');
    const { default: ScopeAuthPlugin } = await import('@pothos/plugin-scope-auth');
    const { default: McpPlugin } = await import('../../src/schema/plugins/mcp');
    const builder = new SchemaBuilder<{ DefaultFieldNullability: false }>({
      plugins: [ScopeAuthPlugin, McpPlugin],
      scopeAuth: { authScopes: () => ({}) },
      defaultFieldNullability: false,
    });
    builder.queryType({
      fields: (t) => ({
        thing: t.boolean({ mcp: { name: 'get_thing' } as never, resolve: () => true }),
      }),
    });
    expect(() => builder.toSchema()).toThrow(
      /get_thing needs a toolset \(changes, delivery, workflows, admin\)/,
    );
  });

  it('keep the eight original tools in the default toolset', () => {
    for (const name of ORIGINAL) expect(TOOLSET_OF[name], name).toBe(DEFAULT_TOOLSET);
  });
});

describe('the default (/mcp)', () => {
  it.each(['viewer', 'requester', 'approver1', 'manager', 'admin'] as const)(
    'offers a %s at most 15 tools, all from the default toolset',
    async (role) => {
      const tools = await names(await mcpClient(c[role], { path: '/mcp' }));
      expect(tools.length).toBeGreaterThan(0);
      expect(tools.length).toBeLessThanOrEqual(15);
      for (const name of tools) expect(TOOLSET_OF[name]).toBe(DEFAULT_TOOLSET);
    },
  );

  it('offers an admin all eight original tools', async () => {
    expect(await names(await mcpClient(c.admin, { path: '/mcp' }))).toEqual(expect.arrayContaining(ORIGINAL));
  });

  it('refuses a call to a tool of another toolset with InvalidParams that says where it is', async () => {
    const client = await mcpClient(c.admin, { path: '/mcp' });
    await expect(client.callTool({ name: 'list_workflows', arguments: {} })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('/mcp/workflows'),
    });
  });
});

describe('choosing toolsets', () => {
  it('by path: /mcp/workflows offers the workflow tools only', async () => {
    const tools = await names(await mcpClient(c.admin, { path: '/mcp/workflows' }));
    expect(tools).toContain('execute_workflow');
    for (const name of tools) expect(TOOLSET_OF[name]).toBe('workflows');
  });

  it('by path, several: /mcp/changes+admin', async () => {
    const tools = await names(await mcpClient(c.admin, { path: '/mcp/changes+admin' }));
    expect(new Set(tools.map((n) => TOOLSET_OF[n]))).toEqual(new Set(['changes', 'admin']));
  });

  it('by header: X-ChangeFlow-Toolsets on /mcp', async () => {
    const res = await rawMcp(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }), {
      authorization: `Bearer ${c.admin}`,
      'mcp-protocol-version': '2025-11-25',
      'x-changeflow-toolsets': 'delivery',
    });
    const { result } = (await res.json()) as { result: { tools: { name: string }[] } };
    expect(result.tools.length).toBeGreaterThan(0);
    for (const t of result.tools) expect(TOOLSET_OF[t.name]).toBe('delivery');
  });

  it('/mcp/all offers everything the roles allow, and never more', async () => {
    const admin = await names(await mcpClient(c.admin, { path: '/mcp/all' }));
    expect(admin.sort()).toEqual(catalog.tools.map((t) => t.name).sort());
    const viewer = await names(await mcpClient(c.viewer, { path: '/mcp/all' }));
    expect(viewer).not.toContain('approve_change');
    expect(viewer).not.toContain('execute_workflow');
  });

  it('answers an unknown toolset in the path with 404 naming the ones there are', async () => {
    const res = await fetchMcp('/mcp/everything', { authorization: `Bearer ${c.admin}` });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe('NOT_FOUND');
    expect(body.error.message).toMatch(/changes, delivery, workflows, admin, all, and readonly/);
  });

  it('answers an unknown toolset in the header with 400', async () => {
    const res = await fetchMcp('/mcp', {
      authorization: `Bearer ${c.admin}`,
      'x-changeflow-toolsets': 'root',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { data: { code: string } } }).error.data.code).toBe('BAD_REQUEST');
  });
});

describe('read-only', () => {
  it.each([
    ['the path', '/mcp/all+readonly', {}],
    ['the header', '/mcp/all', { 'x-changeflow-read-only': 'true' }],
  ])('by %s offers only tools with readOnlyHint', async (_label, path, headers) => {
    const res = await fetchMcp(path, { authorization: `Bearer ${c.admin}`, ...headers });
    const { result } = (await res.json()) as {
      result: { tools: { name: string; annotations: { readOnlyHint: boolean } }[] };
    };
    expect(result.tools.length).toBeGreaterThan(5);
    for (const t of result.tools) expect(t.annotations.readOnlyHint, t.name).toBe(true);
  });

  it('refuses a write called by name, and nothing changes', async () => {
    const client = await mcpClient(c.requester, { path: '/mcp/readonly' });
    const input = {
      title: 'Sneaky',
      description: 'x',
      impact: 'LOW',
      urgency: 'LOW',
      affectedServices: ['api'],
    };
    await expect(
      client.callTool({ name: 'create_change_request', arguments: { input } }),
    ).rejects.toMatchObject({
      code: -32602,
      message: expect.stringMatching(/read-only/),
    });
    const all = await mcpClient(c.requester);
    const list = await callTool(all, 'list_changes', { first: 100 });
    expect(JSON.stringify(list.structuredContent)).not.toContain('Sneaky');
  });

  it('refuses a read-only header that is neither true nor false', async () => {
    const res = await fetchMcp('/mcp', {
      authorization: `Bearer ${c.admin}`,
      'x-changeflow-read-only': 'yes please',
    });
    expect(res.status).toBe(400);
  });
});

describe('pagination of tools/list', () => {
  it(`pages by ${TOOLS_PAGE_SIZE}, and the pages add up to the whole list`, async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await fetchMcp(
        '/mcp/all',
        { authorization: `Bearer ${c.admin}` },
        cursor ? { cursor } : undefined,
      );
      const page = ((await res.json()) as { result: { tools: { name: string }[]; nextCursor?: string } })
        .result;
      expect(page.tools.length).toBeLessThanOrEqual(TOOLS_PAGE_SIZE);
      seen.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(Math.ceil(catalog.tools.length / TOOLS_PAGE_SIZE));
    expect(seen.sort()).toEqual(catalog.tools.map((t) => t.name).sort());
    // The SDK client walks the pages itself.
    const client = await mcpClient(c.admin, { path: '/mcp/all' });
    expect((await names(client)).length).toBe(catalog.tools.length);
  });

  it.each([['not base64 at all'], ['dG9vbHM6OTk5OTk5'], ['']])(
    'refuses a cursor it did not hand out (%s) with InvalidParams',
    async (cursor) => {
      const res = await fetchMcp('/mcp/all', { authorization: `Bearer ${c.admin}` }, { cursor });
      expect(((await res.json()) as { error: { code: number } }).error.code).toBe(-32602);
    },
  );
});

/** A raw 2025-11-25 tools/list to a path of /mcp. */
function fetchMcp(path: string, headers: Record<string, string>, params?: Record<string, unknown>) {
  return rawMcp(
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', ...(params ? { params } : {}) }),
    { 'mcp-protocol-version': '2025-11-25', ...headers },
    path,
  );
}
