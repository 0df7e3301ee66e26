import { ProtocolErrorCode } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import snapshot from '../../mcp-tools.snapshot.json';
import { buildCatalog } from '../../src/mcp/catalog';
import { schema } from '../../src/schema';
import { cast, changeInput, gqlOk } from '../helpers/changes';
import { callTool, mcpClient, toolError } from '../helpers/mcp';

/**
 * Tools of several actions (src/mcp/actions.ts): `transition_change`, `manage_workflow` and the rest
 * pick their GraphQL field by the required `action`, and each action keeps its own roles,
 * arguments, confirmation and audit event.
 */

const catalog = buildCatalog(schema);

const STATUS = 'query($id: ID!) { change(id: $id) { status version } }';

async function draft(tenant: string) {
  const c = await cast(tenant);
  const requester = await mcpClient(c.requester);
  const created = await callTool(requester, 'create_change_request', { input: changeInput() });
  return { c, requester, id: (created.structuredContent as { id: string }).id };
}

const statusOf = async (admin: string, id: string) =>
  (await gqlOk<{ change: { status: string; version: number } }>(STATUS, { id }, admin)).change;

describe('the catalog', () => {
  it('lists one tool per group, with a required action and no default', () => {
    for (const [name, actions] of [
      [
        'transition_change',
        ['submit', 'start_implementation', 'complete', 'fail', 'roll_back', 'cancel', 'complete_review'],
      ],
      ['manage_workflow', ['update', 'activate', 'deactivate', 'delete']],
    ] as const) {
      const tool = catalog.toolsByName.get(name);
      expect(Object.keys(tool?.actions ?? {}), name).toEqual(actions);
      expect(tool?.inputSchema.required?.[0]).toBe('action');
      expect(tool?.inputSchema.properties?.action).toMatchObject({ type: 'string', enum: actions });
      expect(tool?.inputSchema.properties?.action?.default).toBeUndefined();
      // Each action runs its own field's document.
      for (const action of Object.values(tool?.actions ?? {})) {
        expect(action.document).toMatch(/^mutation \w+\(/);
        expect(tool?.document).toContain(action.document);
      }
    }
  });

  it('no longer offers the tools it replaced', () => {
    const gone = [
      'submit_change',
      'start_implementation',
      'complete_change',
      'fail_change',
      'roll_back_change',
      'cancel_change',
      'activate_workflow',
      'deactivate_workflow',
    ];
    expect(snapshot.tools.map((t) => t.name).filter((n) => gone.includes(n))).toEqual([]);
  });

  it('says which argument only some actions need', () => {
    const reason = catalog.toolsByName.get('transition_change')?.inputSchema.properties?.reason;
    expect(reason?.description).toMatch(/Required for fail\.$/);
    expect(catalog.toolsByName.get('transition_change')?.inputSchema.required).toEqual(['action', 'id']);
  });
});

describe('calls', () => {
  it('runs the action named: submit, then cancel', async () => {
    const { c, requester, id } = await draft('mcp-actions-run');
    const submitted = await callTool(requester, 'transition_change', { action: 'submit', id });
    expect(submitted.isError).toBeFalsy();
    expect(submitted.structuredContent).toMatchObject({
      id,
      status: 'PENDING_APPROVAL',
      riskLevel: 'MEDIUM',
    });
    const cancelled = await callTool(requester, 'transition_change', {
      action: 'cancel',
      id,
      reason: 'Not needed after all',
    });
    expect(cancelled.structuredContent).toMatchObject({ id, status: 'CANCELLED', allowedTransitions: [] });
    expect((await statusOf(c.admin, id)).status).toBe('CANCELLED');
  });

  it('refuses a missing or unknown action, naming the ones there are, and does nothing', async () => {
    const { c, requester, id } = await draft('mcp-actions-unknown');
    const missing = toolError(await callTool(requester, 'transition_change', { id }));
    expect(missing.code).toBe('VALIDATION_FAILED');
    expect(missing.message).toMatch(/action/);
    for (const action of ['approve', 'SUBMIT', '__proto__', 'constructor', '']) {
      const error = toolError(await callTool(requester, 'transition_change', { action, id }));
      expect(error.code, action).toBe('VALIDATION_FAILED');
      expect(error.message, action).toMatch(/action/);
    }
    expect(await statusOf(c.admin, id)).toMatchObject({ status: 'DRAFT', version: 1 });
  });

  it("checks the action's own arguments: fail needs a reason, submit takes none", async () => {
    const { c, requester, id } = await draft('mcp-actions-args');
    const manager = await mcpClient(c.manager);
    const noReason = toolError(await callTool(manager, 'transition_change', { action: 'fail', id }));
    expect(noReason).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect(noReason.message).toMatch(/reason/);
    const extra = toolError(
      await callTool(requester, 'transition_change', { action: 'submit', id, reason: 'because' }),
    );
    expect(extra.code).toBe('VALIDATION_FAILED');
    expect(extra.message).toMatch(/Unknown property "reason"/);
    expect(await statusOf(c.admin, id)).toMatchObject({ status: 'DRAFT', version: 1 });
  });

  it("checks the action's own roles: a requester may submit but not complete", async () => {
    const { c, requester, id } = await draft('mcp-actions-roles');
    const error = toolError(await callTool(requester, 'transition_change', { action: 'complete', id }));
    expect(error.code).toBe('FORBIDDEN');
    expect(error.message).toMatch(/transition_change with action complete/);
    // A viewer is not offered the tool at all, and is refused whatever the action.
    const viewer = await mcpClient(c.viewer);
    expect(toolError(await callTool(viewer, 'transition_change', { action: 'submit', id })).code).toBe(
      'FORBIDDEN',
    );
    expect((await statusOf(c.admin, id)).status).toBe('DRAFT');
  });

  it("keeps another tenant's change out of reach for every action", async () => {
    const a = await draft('mcp-actions-tenant-a');
    const b = await cast('mcp-actions-tenant-b');
    const intruder = await mcpClient(b.manager);
    for (const action of ['submit', 'cancel', 'start_implementation']) {
      const error = toolError(await callTool(intruder, 'transition_change', { action, id: a.id }));
      expect(error.code, action).toBe('CHANGE_NOT_FOUND');
    }
    expect((await statusOf(a.c.admin, a.id)).status).toBe('DRAFT');
  });

  it('replays a retry with the same idempotencyKey, and refuses the key for another action', async () => {
    const { c, requester, id } = await draft('mcp-actions-idem');
    const args = { action: 'submit', id, idempotencyKey: 'transition-retry-1' };
    const first = await callTool(requester, 'transition_change', args);
    const retry = await callTool(requester, 'transition_change', args);
    expect(retry.structuredContent).toEqual(first.structuredContent);
    const reused = toolError(await callTool(requester, 'transition_change', { ...args, action: 'cancel' }));
    expect(reused.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await statusOf(c.admin, id)).status).toBe('PENDING_APPROVAL');
  });

  it('answers a removed tool name as an unknown tool', async () => {
    const { requester, id } = await draft('mcp-actions-gone');
    await expect(callTool(requester, 'submit_change', { id })).rejects.toMatchObject({
      code: ProtocolErrorCode.InvalidParams,
      message: 'Unknown tool: submit_change',
    });
  });

  it('manage_workflow updates, deactivates and activates a workflow', async () => {
    const c = await cast('mcp-actions-workflow');
    const manager = await mcpClient(c.manager);
    const created = await callTool(manager, 'create_workflow', {
      input: { name: 'Toggle me', steps: [{ id: 'wait', type: 'delay', durationMs: 1000 }] },
    });
    const id = (created.structuredContent as { id: string }).id;
    const updated = await callTool(manager, 'manage_workflow', {
      action: 'update',
      id,
      input: { description: 'Now described' },
      expectedVersion: 1,
    });
    expect(updated.structuredContent).toMatchObject({ id, version: 2 });
    const off = await callTool(manager, 'manage_workflow', { action: 'deactivate', id });
    expect(off.structuredContent).toMatchObject({ id, status: 'INACTIVE' });
    const again = toolError(await callTool(manager, 'manage_workflow', { action: 'deactivate', id }));
    expect(again.code).not.toBe('VALIDATION_FAILED');
    const on = await callTool(manager, 'manage_workflow', { action: 'activate', id });
    expect(on.structuredContent).toMatchObject({ id, status: 'ACTIVE' });
    const requester = await mcpClient(c.requester);
    expect(toolError(await callTool(requester, 'manage_workflow', { action: 'deactivate', id })).code).toBe(
      'FORBIDDEN',
    );
  });
});
