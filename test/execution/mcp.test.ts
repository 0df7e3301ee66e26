import type { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { callTool, mcpClient, toolError } from '../helpers/mcp';
import { freshCast, upstream } from './helpers';

/** An agent that listed its tools first, so the SDK checks every result against the output schema. */
async function agent(token: string): Promise<Client> {
  const client = await mcpClient(token);
  await client.listTools();
  return client;
}

async function ok<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = await callTool(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(toolError(result))}`);
  return result.structuredContent as T;
}

type Execution = { id: string; status: string; steps: { stepId: string; status: string }[]; error: unknown };

async function poll(client: Client, id: string, done: (e: Execution) => boolean): Promise<Execution> {
  for (let i = 0; i < 400; i++) {
    const e = await ok<Execution>(client, 'get_execution', { id });
    if (done(e)) return e;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`execution ${id} did not get there`);
}

describe('workflow tools over MCP', () => {
  it('an agent creates, lists, runs, follows and cancels workflows with the generated tools', async () => {
    const c = await freshCast();
    const agentClient = await agent(c.manager);
    const created = await ok<{ id: string }>(agentClient, 'create_workflow', {
      input: {
        name: 'Restart payments',
        steps: [
          { id: 'ping', type: 'http-request', url: upstream('/ok') },
          { id: 'status', type: 'transform', spec: { pick: { ok: 'steps.ping.body.ok' } } },
        ],
      },
    });
    const listed = await ok<{ nodes: { id: string }[] }>(agentClient, 'list_workflows', {});
    expect(listed.nodes.map((n) => n.id)).toContain(created.id);

    const run = await ok<Execution>(agentClient, 'execute_workflow', {
      workflowId: created.id,
      inputs: { ticket: 'INC-1' },
      idempotencyKey: `run-${crypto.randomUUID()}`,
    });
    expect(run.status).toBe('PENDING');
    const done = await poll(agentClient, run.id, (e) => e.status === 'SUCCEEDED' || e.status === 'FAILED');
    expect(done.status).toBe('SUCCEEDED');
    expect(done.steps.map((s) => s.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);

    const waiting = await ok<{ id: string }>(agentClient, 'create_workflow', {
      input: { name: 'Wait an hour', steps: [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }] },
    });
    const long = await ok<Execution>(agentClient, 'execute_workflow', { workflowId: waiting.id });
    await poll(agentClient, long.id, (e) => e.steps[0]?.status === 'WAITING');
    await ok(agentClient, 'cancel_execution', { id: long.id });
    const cancelled = await poll(agentClient, long.id, (e) => e.status === 'CANCELLED');
    expect(cancelled.status).toBe('CANCELLED');

    const again = toolError(await callTool(agentClient, 'cancel_execution', { id: long.id }));
    expect(again.code).toBe('EXECUTION-011');
  });

  it('a viewer agent is not offered execute_workflow, and refused if it calls it anyway', async () => {
    const c = await freshCast();
    const viewer = await mcpClient(c.viewer);
    const { tools } = await viewer.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toContain('get_execution');
    expect(names).not.toContain('execute_workflow');
    const result = await callTool(viewer, 'execute_workflow', { workflowId: 'wf_x' });
    expect(result.isError).toBe(true);
  });

  it('execute_workflow’s input schema carries the constraints, get_execution an exact output schema', async () => {
    const c = await freshCast();
    const client = await mcpClient(c.manager);
    const { tools } = await client.listTools();
    const exec = tools.find((t) => t.name === 'execute_workflow');
    expect(exec?.inputSchema.required).toEqual(['workflowId']);
    expect(Object.keys(exec?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['workflowId', 'inputs', 'idempotencyKey']),
    );
    const get = tools.find((t) => t.name === 'get_execution');
    expect(get?.annotations?.readOnlyHint).toBe(true);
    const props = (get?.outputSchema?.properties ?? {}) as Record<string, { enum?: string[] }>;
    expect(props.status?.enum).toEqual(['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);
  });
});
