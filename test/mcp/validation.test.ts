import type { Client } from '@modelcontextprotocol/client';
import { ProtocolError, ProtocolErrorCode, type Tool } from '@modelcontextprotocol/client';
import { beforeAll, describe, expect, it } from 'vitest';
import { cast, changeInput, GET, gqlOk } from '../helpers/changes';
import { callTool, mcpClient, rawMcp, toolError } from '../helpers/mcp';

/**
 * What an agent learns from the input schemas, and what it gets back when it calls a tool
 * wrongly: bad arguments, an illegal transition, a tool its roles may not call, a tool that does
 * not exist, and another tenant's change.
 */

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: unknown[];
  [k: string]: unknown;
};

let tools: Map<string, Tool>;

beforeAll(async () => {
  const client = await mcpClient((await cast('mcp-validation-schemas')).admin);
  tools = new Map((await client.listTools()).tools.map((t) => [t.name, t]));
  await client.close();
});

/** The schema of one argument, by a dotted path below the tool's input schema. */
function argSchema(tool: string, path: string): Schema | undefined {
  let at = tools.get(tool)?.inputSchema as Schema | undefined;
  for (const key of path.split('.')) at = key === '[]' ? at?.items : at?.properties?.[key];
  return at;
}

describe('generated input schemas', () => {
  it.each<[string, string, Record<string, unknown>]>([
    ['create_change_request', 'input.title', { type: 'string', minLength: 3, maxLength: 200 }],
    ['create_change_request', 'input.description', { type: 'string', minLength: 1, maxLength: 5000 }],
    ['create_change_request', 'input.affectedServices', { type: 'array', minItems: 1, maxItems: 20 }],
    ['create_change_request', 'input.affectedServices.[]', { type: 'string', minLength: 1, maxLength: 100 }],
    ['create_change_request', 'input.impact', { type: 'string', enum: ['LOW', 'MEDIUM', 'HIGH'] }],
    ['create_change_request', 'input.urgency', { type: 'string', enum: ['LOW', 'MEDIUM', 'HIGH'] }],
    [
      'create_change_request',
      'input.type',
      { type: 'string', enum: ['STANDARD', 'NORMAL', 'EMERGENCY'], default: 'NORMAL' },
    ],
    ['create_change_request', 'input.backoutPlan', { type: 'string', maxLength: 10000 }],
    ['list_changes', 'first', { type: 'integer', minimum: 1, maximum: 100, default: 20 }],
    ['list_changes', 'filter.search', { type: 'string', maxLength: 200 }],
    ['get_audit_log', 'first', { type: 'integer', minimum: 1, maximum: 200, default: 20 }],
    ['approve_change', 'comment', { type: 'string', minLength: 1, maxLength: 2000 }],
    ['reject_change', 'reason', { type: 'string', minLength: 1, maxLength: 2000, pattern: '\\S' }],
    ['transition_change', 'expectedVersion', { type: 'integer', minimum: 1 }],
    ['emergency_override', 'justification', { type: 'string', minLength: 20, maxLength: 5000 }],
    ['schedule_change', 'plannedStart', { type: 'string', format: 'date-time' }],
    ['schedule_change', 'plannedEnd', { type: 'string', format: 'date-time' }],
    ['compliance_report', 'from', { type: 'string', format: 'date-time' }],
    ['compliance_report', 'to', { type: 'string', format: 'date-time' }],
    ['list_freeze_windows', 'from', { type: 'string', format: 'date-time' }],
  ])('%s: %s carries %o', (tool, path, expected) => {
    expect(argSchema(tool, path)).toMatchObject(expected);
  });

  it.each<[string, string, string[]]>([
    ['create_change_request', '', ['input']],
    ['create_change_request', 'input', ['title', 'description', 'impact', 'urgency', 'affectedServices']],
    ['schedule_change', '', ['id', 'plannedStart', 'plannedEnd']],
    ['emergency_override', '', ['id', 'justification']],
    ['approve_change', '', ['id']],
    ['reject_change', '', ['id', 'reason']],
    ['compliance_report', '', ['from', 'to']],
  ])('%s: %s requires exactly %o (arguments with a default are optional)', (tool, path, required) => {
    const schema = path ? argSchema(tool, path) : (tools.get(tool)?.inputSchema as Schema);
    expect([...(schema?.required ?? [])].sort()).toEqual([...required].sort());
  });

  it('closes every object schema (additionalProperties: false)', () => {
    const open: string[] = [];
    const walk = (schema: Schema | undefined, where: string) => {
      if (!schema) return;
      if (schema.type === 'object' && schema.additionalProperties !== false) open.push(where);
      for (const [k, v] of Object.entries(schema.properties ?? {})) walk(v, `${where}.${k}`);
      walk(schema.items, `${where}[]`);
    };
    for (const tool of tools.values()) walk(tool.inputSchema as Schema, tool.name);
    expect(open).toEqual([]);
  });

  it('does not require list_changes arguments at all', () => {
    expect(tools.get('list_changes')?.inputSchema.required ?? []).toEqual([]);
  });
});

describe('bad arguments', () => {
  let client: Client;

  beforeAll(async () => {
    client = await mcpClient((await cast('mcp-validation-args')).requester);
    await client.listTools();
  });

  const long = 'x'.repeat(201);
  const services = Array.from({ length: 21 }, (_, i) => `svc-${i}`);

  it.each<[string, string, Record<string, unknown>, string, RegExp]>([
    [
      'a short title',
      'create_change_request',
      { input: changeInput({ title: 'Hi' }) },
      'input.title',
      /short/,
    ],
    ['a long title', 'create_change_request', { input: changeInput({ title: long }) }, 'input.title', /long/],
    [
      'an unknown impact',
      'create_change_request',
      { input: changeInput({ impact: 'HUGE' }) },
      'input.impact',
      /LOW.*MEDIUM.*HIGH/,
    ],
    [
      'a missing impact',
      'create_change_request',
      { input: changeInput({ impact: undefined }) },
      'input.impact',
      /required/,
    ],
    [
      'a wrongly typed title',
      'create_change_request',
      { input: changeInput({ title: 42 }) },
      'input.title',
      /string/,
    ],
    [
      'too many services',
      'create_change_request',
      { input: changeInput({ affectedServices: services }) },
      'input.affectedServices',
      /too many/,
    ],
    [
      'no services',
      'create_change_request',
      { input: changeInput({ affectedServices: [] }) },
      'input.affectedServices',
      /too few/,
    ],
    [
      'an empty service name',
      'create_change_request',
      { input: changeInput({ affectedServices: ['ok', ''] }) },
      'input.affectedServices.1',
      /short/,
    ],
    [
      'an unknown top-level argument',
      'create_change_request',
      { input: changeInput(), colour: 'red' },
      'colour',
      /Unknown property "colour".*input/,
    ],
    [
      'an unknown input property',
      'create_change_request',
      { input: changeInput({ colour: 'red' }) },
      'input.colour',
      /Unknown property "colour".*title/,
    ],
    ['no input at all', 'create_change_request', {}, 'input', /required/],
    ['first = 0', 'list_changes', { first: 0 }, 'first', /less than 1/],
    ['first = 101', 'list_changes', { first: 101 }, 'first', /greater than 100/],
    ['a fractional first', 'list_changes', { first: 2.5 }, 'first', /integer/],
    [
      'an unknown status filter',
      'list_changes',
      { filter: { status: ['DONE'] } },
      'filter.status.0',
      /DRAFT/,
    ],
    [
      'a date that is not a date-time',
      'list_freeze_windows',
      { from: 'last week', to: '2030-01-01T00:00:00Z' },
      'from',
      /date-time/,
    ],
    [
      'expectedVersion = 0',
      'transition_change',
      { action: 'submit', id: 'CHG-20260101-AAAAAA', expectedVersion: 0 },
      'expectedVersion',
      /less than 1/,
    ],
  ])('refuses %s with VALIDATION_FAILED naming the field', async (_label, tool, args, field, message) => {
    const result = await callTool(client, tool, args);
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toBeUndefined();
    const error = toolError(result);
    expect(error.code).toBe('VALIDATION_FAILED');
    const issues = error.issues as { field: string; message: string }[];
    const issue = issues.find((i) => i.field === field);
    expect(issue, JSON.stringify(issues)).toBeDefined();
    expect(issue?.message).toMatch(message);
    expect(error.message).toContain(field);
  });

  it('reports every bad field at once, and nothing vague', async () => {
    const result = await callTool(client, 'create_change_request', {
      input: changeInput({ title: 'x', impact: 'HUGE', urgency: undefined, extra: 1 }),
    });
    const issues = toolError(result).issues as { field: string; message: string }[];
    expect(issues.map((i) => i.field).sort()).toEqual(
      ['input.extra', 'input.impact', 'input.title', 'input.urgency'].sort(),
    );
    expect(issues.every((i) => !/boolean schema/i.test(i.message))).toBe(true);
  });

  it('writes nothing when the arguments are bad', async () => {
    await callTool(client, 'create_change_request', { input: changeInput({ title: 'x' }) });
    const list = await callTool(client, 'list_changes', {});
    expect((list.structuredContent as { nodes: unknown[] }).nodes).toEqual([]);
  });
});

describe('domain and permission errors', () => {
  it('answers an illegal transition with CHANGE_INVALID_TRANSITION naming the states', async () => {
    const c = await cast('mcp-validation-transition');
    const requester = await mcpClient(c.requester);
    const manager = await mcpClient(c.manager);
    const created = await callTool(requester, 'create_change_request', { input: changeInput() });
    const id = (created.structuredContent as { id: string }).id;

    const result = await callTool(manager, 'schedule_change', {
      id,
      plannedStart: '2030-01-01T10:00:00Z',
      plannedEnd: '2030-01-01T12:00:00Z',
    });
    const error = toolError(result);
    expect(error).toMatchObject({
      code: 'CHANGE_INVALID_TRANSITION',
      currentStatus: 'DRAFT',
      allowed: expect.arrayContaining(['SUBMITTED', 'CANCELLED']),
    });
    expect(error.message).toMatch(/DRAFT/);
    expect(error).not.toHaveProperty('http');

    // Submitting twice is just as illegal.
    await callTool(requester, 'transition_change', { action: 'submit', id });
    const again = toolError(await callTool(requester, 'transition_change', { action: 'submit', id }));
    expect(again).toMatchObject({ code: 'CHANGE_INVALID_TRANSITION', currentStatus: 'PENDING_APPROVAL' });

    const { change } = await gqlOk<{ change: { status: string; version: number } }>(GET, { id }, c.admin);
    expect(change.status).toBe('PENDING_APPROVAL');
  });

  it('answers a stale expectedVersion with CHANGE_VERSION_CONFLICT', async () => {
    const c = await cast('mcp-validation-version');
    const requester = await mcpClient(c.requester);
    const created = await callTool(requester, 'create_change_request', { input: changeInput() });
    const id = (created.structuredContent as { id: string }).id;
    const error = toolError(
      await callTool(requester, 'transition_change', { action: 'submit', id, expectedVersion: 9 }),
    );
    expect(error).toMatchObject({ code: 'CHANGE_VERSION_CONFLICT', currentVersion: 1, expectedVersion: 9 });
  });

  it.each([
    ['approve_change', {}],
    ['reject_change', { reason: 'Not mine to reject' }],
  ])('answers a requester calling %s (not listed for it) with FORBIDDEN', async (tool, extra) => {
    const c = await cast(`mcp-validation-forbidden-${tool}`);
    const requester = await mcpClient(c.requester);
    const created = await callTool(requester, 'create_change_request', { input: changeInput() });
    const id = (created.structuredContent as { id: string }).id;
    await callTool(requester, 'transition_change', { action: 'submit', id });

    const res = await rawMcp(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'forbidden-1',
        method: 'tools/call',
        params: { name: tool, arguments: { id, ...extra } },
      }),
      { authorization: `Bearer ${c.requester}`, 'mcp-protocol-version': '2025-06-18' },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      id: string;
      result: { isError: boolean; content: { type: 'text'; text: string }[] };
    };
    expect(body.id).toBe('forbidden-1');
    const error = toolError(body.result);
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toContain(tool);

    const { change } = await gqlOk<{ change: { status: string; approvals: unknown[] } }>(
      GET,
      { id },
      c.admin,
    );
    expect(change).toMatchObject({ status: 'PENDING_APPROVAL', approvals: [] });
  });

  it('answers an unknown tool with a JSON-RPC InvalidParams error', async () => {
    const client = await mcpClient((await cast('mcp-validation-unknown')).admin);
    const call = client.callTool({ name: 'drop_all_changes', arguments: {} });
    await expect(call).rejects.toBeInstanceOf(ProtocolError);
    await expect(call).rejects.toMatchObject({
      code: ProtocolErrorCode.InvalidParams,
      // Said once, as the server sent it.
      message: 'Unknown tool: drop_all_changes',
    });
  });
});

describe('tenant isolation', () => {
  it.each([
    ['get_change_status', 'viewer'],
    ['transition_change:submit', 'requester'],
    ['assess_risk', 'requester'],
    ['transition_change:cancel', 'requester'],
    ['approve_change', 'approver1'],
    ['reject_change', 'approver1'],
    ['emergency_override', 'admin'],
  ] as const)("tenant B calling %s on tenant A's change gets CHANGE_NOT_FOUND", async (call, role) => {
    // `tool:action` for a tool of several actions.
    const [tool, action] = call.split(':') as [string, string | undefined];
    const a = await cast(`mcp-validation-tenant-a-${call.replace(':', '-')}`);
    const b = await cast(`mcp-validation-tenant-b-${call.replace(':', '-')}`);
    const ownerClient = await mcpClient(a.requester);
    const created = await callTool(ownerClient, 'create_change_request', {
      input: changeInput({ type: 'EMERGENCY' }),
    });
    const before = created.structuredContent as { id: string; status: string; version: number };

    const intruder = await mcpClient(b[role]);
    const args: Record<string, unknown> = { id: before.id, ...(action ? { action } : {}) };
    if (tool === 'emergency_override') {
      args.justification = 'Tenant B tries to approve this change remotely.';
      args.confirm = true;
    }
    if (tool === 'reject_change') args.reason = 'Tenant B objects';
    const error = toolError(await callTool(intruder, tool, args));
    expect(error.code).toBe('CHANGE_NOT_FOUND');
    // The answer is the same as for an id that does not exist: nothing leaks.
    const missing = toolError(await callTool(intruder, tool, { ...args, id: 'CHG-20200101-ZZZZZZ' }));
    expect(missing.code).toBe('CHANGE_NOT_FOUND');

    const { change } = await gqlOk<{ change: { status: string; version: number; approvals: unknown[] } }>(
      GET,
      { id: before.id },
      a.admin,
    );
    expect(change).toMatchObject({ status: 'DRAFT', version: before.version, approvals: [] });
  });
});
