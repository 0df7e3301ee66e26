import { beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/mcp/catalog';
import { schema } from '../../src/schema';
import { upstream } from '../execution/helpers';
import { cast, changeInput } from '../helpers/changes';
import { callTool, mcpClient, toolError } from '../helpers/mcp';

/**
 * Irreversible tools ask the person behind the agent first: through input_required on a
 * 2026-07-28 client that can show a form, through `confirm: true` everywhere else. Nothing is
 * done until they agree, and an agent cannot agree on their behalf where they can be asked.
 */
const catalog = buildCatalog(schema);
const IRREVERSIBLE = [
  'emergency_override',
  // Its roll_back action asks; the other moves do not.
  'transition_change',
  // Its delete action asks.
  'manage_workflow',
  'execute_workflow',
];

let c: Awaited<ReturnType<typeof cast>>;
beforeAll(async () => {
  c = await cast('mcp-confirm');
});

/** A new EMERGENCY change, in DRAFT, and the override arguments for it. */
async function emergency() {
  const requester = await mcpClient(c.requester);
  const created = await callTool(requester, 'create_change_request', {
    input: changeInput({ type: 'EMERGENCY' }),
  });
  const id = (created.structuredContent as { id: string }).id;
  return { id, justification: 'The payment gateway is down for every customer right now.' };
}

const statusOf = async (id: string) =>
  (
    (await callTool(await mcpClient(c.viewer), 'get_change_status', { id })).structuredContent as {
      status: string;
    }
  ).status;

describe('the catalog', () => {
  it('gives exactly the irreversible tools a confirm argument, and never sends it to GraphQL', () => {
    const withConfirm = catalog.tools.filter((t) => t.inputSchema.properties?.confirm).map((t) => t.name);
    expect(withConfirm.sort()).toEqual([...IRREVERSIBLE].sort());
    for (const name of IRREVERSIBLE) {
      const tool = catalog.toolsByName.get(name);
      expect(tool?.annotations.destructiveHint, name).toBe(true);
      expect(tool?.document, name).not.toContain('confirm');
      expect(tool?.inputSchema.properties?.confirm?.description).toMatch(/irreversible/);
    }
  });
});

describe('clients that cannot ask their user (2025 era, or no elicitation)', () => {
  it.each([
    ['2025', { era: 'legacy' as const }],
    ['2026-07-28 without elicitation', {}],
  ])(
    '%s: refuses without confirm: true, saying what would happen, and does nothing',
    async (_label, opts) => {
      const args = await emergency();
      const admin = await mcpClient(c.admin, opts);
      for (const confirm of [undefined, false]) {
        const error = toolError(
          await callTool(admin, 'emergency_override', { ...args, ...(confirm === false ? { confirm } : {}) }),
        );
        expect(error.code).toBe('CONFIRMATION_REQUIRED');
        expect(error.message).toContain(args.id);
        expect(error.message).toMatch(/cannot be undone.*confirm: true/);
      }
      expect(await statusOf(args.id)).toBe('DRAFT');
      const done = await callTool(admin, 'emergency_override', { ...args, confirm: true });
      expect(done.isError).toBeFalsy();
      expect(await statusOf(args.id)).toBe('APPROVED');
    },
  );

  it('still checks the roles first: a confirmed call by a requester is FORBIDDEN', async () => {
    const args = await emergency();
    const error = toolError(
      await callTool(await mcpClient(c.requester), 'emergency_override', { ...args, confirm: true }),
    );
    expect(error.code).toBe('FORBIDDEN');
  });
});

describe('a 2026-07-28 client that can show a form', () => {
  it('asks the user through input_required and goes ahead when they accept', async () => {
    const args = await emergency();
    const asked: string[] = [];
    const admin = await mcpClient(c.admin, {
      elicit: (message) => {
        asked.push(message);
        return { action: 'accept', content: { confirm: true } };
      },
    });
    const done = await callTool(admin, 'emergency_override', args);
    expect(done.isError).toBeFalsy();
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(args.id);
    expect(asked[0]).toMatch(/cannot be undone/);
    expect(await statusOf(args.id)).toBe('APPROVED');
  });

  it.each([
    ['declines', { action: 'decline' as const }],
    ['cancels', { action: 'cancel' as const }],
    ['accepts without ticking the box', { action: 'accept' as const, content: { confirm: false } }],
  ])('does nothing when the user %s', async (_label, reply) => {
    const args = await emergency();
    const admin = await mcpClient(c.admin, { elicit: () => reply });
    const error = toolError(await callTool(admin, 'emergency_override', args));
    expect(error.code).toBe('CONFIRMATION_DECLINED');
    expect(await statusOf(args.id)).toBe('DRAFT');
  });

  it('asks the user even when the agent passes confirm: true itself', async () => {
    const args = await emergency();
    let asked = 0;
    const admin = await mcpClient(c.admin, {
      elicit: () => {
        asked += 1;
        return { action: 'decline' };
      },
    });
    const error = toolError(await callTool(admin, 'emergency_override', { ...args, confirm: true }));
    expect(asked).toBe(1);
    expect(error.code).toBe('CONFIRMATION_DECLINED');
    expect(await statusOf(args.id)).toBe('DRAFT');
  });
});

describe('execute_workflow asks only for workflows that write elsewhere', () => {
  const create = async (name: string, steps: unknown[]) => {
    const manager = await mcpClient(c.manager);
    const wf = await callTool(manager, 'create_workflow', { input: { name, steps } });
    return (wf.structuredContent as { id: string }).id;
  };

  it('runs a workflow of GET requests without asking', async () => {
    const id = await create('Read only', [{ id: 'ping', type: 'http-request', url: upstream('/ok') }]);
    const run = await callTool(await mcpClient(c.manager), 'execute_workflow', { workflowId: id });
    expect(run.isError).toBeFalsy();
  });

  it('asks before a workflow that POSTs, naming the step and where it writes', async () => {
    const id = await create('Restart', [
      { id: 'ping', type: 'http-request', url: upstream('/ok') },
      { id: 'restart', type: 'http-request', method: 'POST', url: upstream('/restart') },
    ]);
    const manager = await mcpClient(c.manager);
    const error = toolError(await callTool(manager, 'execute_workflow', { workflowId: id }));
    expect(error.code).toBe('CONFIRMATION_REQUIRED');
    expect(error.message).toContain(`POST ${upstream('/restart')} (step restart)`);
    expect(error.message).not.toContain('(step ping)');
    const list = await callTool(manager, 'list_executions', { filter: { workflowId: id } });
    expect((list.structuredContent as { nodes: unknown[] }).nodes).toEqual([]);
    const run = await callTool(manager, 'execute_workflow', { workflowId: id, confirm: true });
    expect(run.isError).toBeFalsy();
  });

  it('leaves an unknown workflow to execute_workflow’s own error', async () => {
    const error = toolError(
      await callTool(await mcpClient(c.manager), 'execute_workflow', { workflowId: 'wf_nope' }),
    );
    expect(error.code).not.toBe('CONFIRMATION_REQUIRED');
  });
});

describe('a tool of several actions asks for the action that cannot be undone only', () => {
  it('transition_change: roll_back needs confirmation, cancel does not', async () => {
    const requester = await mcpClient(c.requester);
    const created = await callTool(requester, 'create_change_request', { input: changeInput() });
    const id = (created.structuredContent as { id: string }).id;
    // Asked before anything else is checked (the change is a DRAFT, which cannot be rolled back).
    const manager = await mcpClient(c.manager);
    const error = toolError(await callTool(manager, 'transition_change', { action: 'roll_back', id }));
    expect(error.code).toBe('CONFIRMATION_REQUIRED');
    expect(error.message).toContain(`Record change ${id} as rolled back`);
    expect(error.message).toContain('call transition_change again with confirm: true');
    expect(await statusOf(id)).toBe('DRAFT');
    // Confirmed, it reaches the state machine, which refuses a DRAFT.
    const refused = toolError(
      await callTool(manager, 'transition_change', { action: 'roll_back', id, confirm: true }),
    );
    expect(refused.code).toBe('CHANGE_INVALID_TRANSITION');
    const cancelled = await callTool(requester, 'transition_change', { action: 'cancel', id });
    expect(cancelled.isError).toBeFalsy();
    expect(await statusOf(id)).toBe('CANCELLED');
  });
});

describe('deletes', () => {
  it('manage_workflow delete needs confirmation, and deletes once given', async () => {
    const manager = await mcpClient(c.manager);
    const wf = await callTool(manager, 'create_workflow', {
      input: { name: 'Doomed', steps: [{ id: 'wait', type: 'delay', durationMs: 1000 }] },
    });
    const id = (wf.structuredContent as { id: string }).id;
    const del = { action: 'delete', id };
    expect(toolError(await callTool(manager, 'manage_workflow', del)).code).toBe('CONFIRMATION_REQUIRED');
    // Its other actions do not ask.
    expect((await callTool(manager, 'manage_workflow', { action: 'deactivate', id })).isError).toBeFalsy();
    expect((await callTool(manager, 'get_workflow', { id })).isError).toBeFalsy();
    expect((await callTool(manager, 'manage_workflow', { ...del, confirm: true })).isError).toBeFalsy();
    expect(toolError(await callTool(manager, 'get_workflow', { id })).code).toBe('WORKFLOW-001');
  });
});
