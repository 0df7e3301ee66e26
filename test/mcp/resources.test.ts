import type { Client } from '@modelcontextprotocol/client';
import { type PromptMessage, ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { cast, changeInput, createChange } from '../helpers/changes';
import { callTool, mcpClient, rawMcp } from '../helpers/mcp';

/** Resource templates (a change, its audit log) and prompts, as an agent reads them. */

/** MCP's "resource not found" (not in the SDK's ErrorCode enum). */
// Resource not found is InvalidParams from 2026-07-28 on; the SDK answers it so in both eras.
const RESOURCE_NOT_FOUND = -32602;

type Cast = Awaited<ReturnType<typeof cast>>;
let c: Cast;
let changeId: string;
let viewer: Client;

beforeAll(async () => {
  c = await cast('mcp-resources');
  const requester = await mcpClient(c.requester);
  const created = await callTool(requester, 'create_change_request', {
    input: changeInput({ title: 'Rotate the payments TLS certificates' }),
  });
  changeId = (created.structuredContent as { id: string }).id;
  await callTool(requester, 'transition_change', { action: 'submit', id: changeId });
  await requester.close();
  viewer = await mcpClient(c.viewer);
});

/** Reads a resource and parses its single JSON content. */
async function readJson<T = Record<string, unknown>>(client: Client, uri: string) {
  const { contents } = await client.readResource({ uri });
  expect(contents).toHaveLength(1);
  const [content] = contents;
  expect(content).toMatchObject({ uri, mimeType: 'application/json' });
  return JSON.parse((content as { text: string }).text) as T;
}

describe('resource templates', () => {
  it('lists the templates, and the metrics and the approval card as the fixed resources', async () => {
    const { resourceTemplates } = await viewer.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate).sort()).toEqual([
      'changeflow://changes/{id}',
      'changeflow://changes/{targetId}/audit',
      'changeflow://executions/{id}/steps/{stepId}/output',
    ]);
    for (const t of resourceTemplates) {
      expect(t).toMatchObject({ mimeType: 'application/json', name: expect.any(String) });
      expect(t.title).toBeTruthy();
      expect(t.description).toBeTruthy();
    }
    // And the approval card (an MCP App page, test/mcp/apps.test.ts).
    expect((await viewer.listResources()).resources.map((r) => r.uri)).toEqual([
      'changeflow://metrics',
      'ui://changeflow/approval-card',
    ]);
  });

  it('reads a change as JSON: what get_change_status returns, and the fields it leaves out', async () => {
    const change = await readJson<{ id: string; status: string; title: string; riskLevel: string }>(
      viewer,
      `changeflow://changes/${changeId}`,
    );
    expect(change).toMatchObject({
      id: changeId,
      title: 'Rotate the payments TLS certificates',
      status: 'PENDING_APPROVAL',
      riskLevel: 'MEDIUM',
    });
    const viaTool = await callTool(viewer, 'get_change_status', { id: changeId });
    expect(change).toMatchObject(viaTool.structuredContent ?? {});
    // The tool stays within its budget; the resource, read on demand, is the whole record.
    expect(change).toHaveProperty('runbookInputs');
    expect(viaTool.structuredContent).not.toHaveProperty('runbookInputs');
  });

  it('reads the audit log of a change, newest first', async () => {
    const log = await readJson<{
      nodes: { seq: number; targetId: string; action: string; source: string; toolName: string }[];
      pageInfo: { hasNextPage: boolean };
    }>(viewer, `changeflow://changes/${changeId}/audit`);
    expect(log.nodes.map((e) => e.toolName)).toEqual(['transition_change', 'create_change_request']);
    expect(log.nodes.every((e) => e.targetId === changeId && e.source === 'mcp')).toBe(true);
    expect(log.nodes[0]!.seq).toBeGreaterThan(log.nodes[1]!.seq);
    expect(log.pageInfo.hasNextPage).toBe(false);
  });

  it('accepts a percent-encoded id', async () => {
    const uri = `changeflow://changes/${encodeURIComponent(changeId).replace('-', '%2D')}`;
    const change = await readJson<{ id: string }>(viewer, uri);
    expect(change.id).toBe(changeId);
  });

  it.each([
    ['an unknown change id', 'changeflow://changes/CHG-20200101-ZZZZZZ', /CHANGE_NOT_FOUND/],
    ['an unknown scheme', 'https://example.com/changes/1', /not found/i],
    ['an unknown path', 'changeflow://freeze-windows/1', /not found/i],
    ['a template left unfilled', 'changeflow://changes/{id}', /CHANGE_NOT_FOUND/],
    ['an empty id', 'changeflow://changes/', /not found/i],
    ['a path below the audit log', `changeflow://changes/CHG-1/audit/extra`, /not found/i],
  ])('answers %s with a resource-not-found JSON-RPC error', async (_label, uri, message) => {
    const read = viewer.readResource({ uri });
    await expect(read).rejects.toBeInstanceOf(ProtocolError);
    await expect(read).rejects.toMatchObject({
      code: RESOURCE_NOT_FOUND,
      message: expect.stringMatching(message),
      // What tells "not found" from other bad params: the URI that was asked for.
      data: { uri },
    });
  });

  it('cuts a change larger than a tool result may be, says so, and keeps its ids whole', async () => {
    // Every free-text field at its longest, in 3-byte characters: about 105 KB of JSON as stored.
    const long = (n: number) => '€'.repeat(n);
    const requester = await mcpClient(c.requester);
    const created = await callTool(requester, 'create_change_request', {
      input: changeInput({
        title: 'Rotate every certificate',
        description: long(5000),
        implementationPlan: long(10_000),
      }),
    });
    const { id } = created.structuredContent as { id: string };
    // In two calls: one request body is held to 100 KiB.
    await callTool(requester, 'update_change_request', {
      id,
      input: { backoutPlan: long(10_000), testPlan: long(10_000) },
    });
    await requester.close();
    const uri = `changeflow://changes/${id}`;
    const { contents } = await viewer.readResource({ uri });
    const [content] = contents as {
      text: string;
      _meta?: Record<string, { originalBytes: number; note: string }>;
    }[];
    const bytes = new TextEncoder().encode(content?.text).length;
    expect(bytes).toBeLessThanOrEqual(80_000);
    const cut = content?._meta?.['changeflow/truncated'];
    expect(cut?.originalBytes).toBeGreaterThan(100_000);
    expect(cut?.note).toMatch(/cut to fit 20000 tokens/);
    const change = JSON.parse(content?.text ?? '{}') as Record<string, string>;
    expect(change.id).toBe(id);
    expect(change.title).toBe('Rotate every certificate');
    expect(change.implementationPlan).toMatch(/^€+… \[\d+ more characters\]$/);
    // An ordinary change is read as it is, with no note.
    const plain = await viewer.readResource({ uri: `changeflow://changes/${changeId}` });
    expect((plain.contents[0] as { _meta?: unknown })._meta).toBeUndefined();
  });

  it("answers another tenant's change exactly as an unknown one", async () => {
    const other = await mcpClient((await cast('mcp-resources-other')).admin);
    await expect(other.readResource({ uri: `changeflow://changes/${changeId}` })).rejects.toMatchObject({
      code: RESOURCE_NOT_FOUND,
      message: expect.stringContaining('CHANGE_NOT_FOUND'),
    });
    const log = await readJson<{ nodes: unknown[] }>(other, `changeflow://changes/${changeId}/audit`);
    expect(log.nodes).toEqual([]);
  });

  it.each([
    ['no params', undefined],
    ['a uri that is not a string', { uri: 42 }],
  ])('answers resources/read with %s with a JSON-RPC error, not a crash', async (_label, params) => {
    const res = await rawMcp(
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'resources/read', ...(params ? { params } : {}) }),
      { authorization: `Bearer ${c.viewer}`, 'mcp-protocol-version': '2025-06-18' },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: number; error?: { code: number } };
    expect(body).toMatchObject({ id: 3, error: { code: ProtocolErrorCode.InvalidParams } });
  });
});

describe('prompts', () => {
  it('lists both prompts with their required arguments', async () => {
    const { prompts } = await viewer.listPrompts();
    expect(prompts.map((p) => p.name).sort()).toEqual(['draft_change_request', 'prepare_cab_review']);
    const byName = Object.fromEntries(prompts.map((p) => [p.name, p]));
    expect(byName.draft_change_request?.arguments).toEqual([
      expect.objectContaining({ name: 'description', required: true }),
    ]);
    expect(byName.prepare_cab_review?.arguments).toEqual([
      expect.objectContaining({ name: 'changeId', required: true }),
    ]);
    for (const p of prompts) expect(p.description).toBeTruthy();
  });

  it('drafts a change request from a plain description', async () => {
    const description =
      'Move the billing cron from 02:00 to 04:00 UTC next Tuesday to avoid the backup window.';
    const prompt = await viewer.getPrompt({ name: 'draft_change_request', arguments: { description } });
    expect(prompt.messages).toHaveLength(1);
    const message = prompt.messages[0]!;
    expect(message.role).toBe('user');
    expect(message.content.type).toBe('text');
    const text = (message.content as { text: string }).text;
    expect(text).toContain(description);
    expect(text).toContain('create_change_request');
  });

  it('prepares a CAB review with the change embedded as a resource', async () => {
    const prompt = await viewer.getPrompt({ name: 'prepare_cab_review', arguments: { changeId } });
    expect(prompt.description).toContain(changeId);
    expect(prompt.messages).toHaveLength(2);
    const [instructions, attached] = prompt.messages as [PromptMessage, PromptMessage];
    expect(instructions.content.type).toBe('text');
    expect((instructions.content as { text: string }).text).toContain(changeId);
    expect(attached.role).toBe('user');
    expect(attached.content.type).toBe('resource');
    const { resource } = attached.content as { resource: { uri: string; mimeType: string; text: string } };
    expect(resource).toMatchObject({ uri: `changeflow://changes/${changeId}`, mimeType: 'application/json' });
    expect(JSON.parse(resource.text)).toMatchObject({ id: changeId, status: 'PENDING_APPROVAL' });
  });

  it.each([
    ['draft_change_request', {}],
    ['draft_change_request', { description: '   ' }],
    ['prepare_cab_review', {}],
    ['prepare_cab_review', { changeId: '' }],
  ])('answers %s without its argument (%o) with InvalidParams', async (name, args) => {
    const get = viewer.getPrompt({ name, arguments: args });
    await expect(get).rejects.toBeInstanceOf(ProtocolError);
    await expect(get).rejects.toMatchObject({
      code: ProtocolErrorCode.InvalidParams,
      message: expect.stringMatching(/required/),
    });
  });

  it('answers an unknown prompt with InvalidParams', async () => {
    await expect(viewer.getPrompt({ name: 'write_my_cab_minutes' })).rejects.toMatchObject({
      code: ProtocolErrorCode.InvalidParams,
    });
  });

  it('answers a CAB review of an unknown change with resource not found', async () => {
    await expect(
      viewer.getPrompt({ name: 'prepare_cab_review', arguments: { changeId: 'CHG-20200101-ZZZZZZ' } }),
    ).rejects.toMatchObject({ code: RESOURCE_NOT_FOUND });
  });
});

describe('the live metrics resource', () => {
  it('is listed as a fixed resource and reads the live snapshot', async () => {
    const c = await cast('mcp-res-metrics');
    await createChange(c.requester);
    const client = await mcpClient(c.viewer);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('changeflow://metrics');
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).not.toContain('changeflow://metrics');
    const read = await client.readResource({ uri: 'changeflow://metrics' });
    const first = read.contents[0] as { mimeType: string; text: string };
    expect(first.mimeType).toBe('application/json');
    const snapshot = JSON.parse(first.text) as {
      kpis: { totalChanges: number; changesByStatus: { status: string; count: number }[] };
      system: { requestsPerMinute: number };
    };
    expect(snapshot.kpis.totalChanges).toBe(1);
    expect(snapshot.kpis.changesByStatus.find((s) => s.status === 'DRAFT')?.count).toBe(1);
    expect(snapshot.system.requestsPerMinute).toBeGreaterThan(0);
    await client.close();
  });
});
