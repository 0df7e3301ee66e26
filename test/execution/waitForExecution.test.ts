import { describe, expect, it } from 'vitest';
import { callTool, mcpClient, toolError } from '../helpers/mcp';
import { freshCast, upstream } from './helpers';

/**
 * wait_for_execution: an agent that cannot hold a subscription open follows a run with bounded
 * waits instead of a polling loop of its own.
 */
type Execution = { id: string; status: string; steps: { stepId: string; status: string }[] };

async function ok<T>(
  client: Awaited<ReturnType<typeof mcpClient>>,
  name: string,
  args: Record<string, unknown>,
) {
  const result = await callTool(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(toolError(result))}`);
  return result.structuredContent as T;
}

describe('wait_for_execution', () => {
  it('returns the execution once it has ended, with its step statuses', async () => {
    const c = await freshCast();
    const agent = await mcpClient(c.manager);
    const wf = await ok<{ id: string }>(agent, 'create_workflow', {
      input: { name: 'Ping', steps: [{ id: 'ping', type: 'http-request', url: upstream('/ok') }] },
    });
    const run = await ok<Execution>(agent, 'execute_workflow', { workflowId: wf.id });
    let ended = await ok<Execution>(agent, 'wait_for_execution', { id: run.id, timeoutSeconds: 25 });
    // One call is normally enough; a loaded machine may need another.
    for (let i = 0; i < 3 && !['SUCCEEDED', 'FAILED'].includes(ended.status); i++) {
      ended = await ok<Execution>(agent, 'wait_for_execution', { id: run.id, timeoutSeconds: 25 });
    }
    expect(ended.status).toBe('SUCCEEDED');
    expect(ended.steps).toEqual([expect.objectContaining({ stepId: 'ping', status: 'SUCCEEDED' })]);
  });

  it('returns a run still going when the time runs out, to be asked again', async () => {
    const c = await freshCast();
    const agent = await mcpClient(c.manager);
    const wf = await ok<{ id: string }>(agent, 'create_workflow', {
      input: { name: 'Wait an hour', steps: [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }] },
    });
    const run = await ok<Execution>(agent, 'execute_workflow', { workflowId: wf.id });
    const started = Date.now();
    const still = await ok<Execution>(agent, 'wait_for_execution', { id: run.id, timeoutSeconds: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(['PENDING', 'RUNNING']).toContain(still.status);
    await ok(agent, 'cancel_execution', { id: run.id });
  });

  it.each([0, 26, 1.5])('refuses timeoutSeconds %s with VALIDATION_FAILED', async (timeoutSeconds) => {
    const c = await freshCast();
    const agent = await mcpClient(c.viewer);
    const error = toolError(await callTool(agent, 'wait_for_execution', { id: 'exe_x', timeoutSeconds }));
    expect(error.code).toBe('VALIDATION_FAILED');
  });

  it("answers another tenant's execution as not found, at once", async () => {
    const c = await freshCast();
    const other = await freshCast();
    const agent = await mcpClient(c.manager);
    const wf = await ok<{ id: string }>(agent, 'create_workflow', {
      input: { name: 'Wait', steps: [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }] },
    });
    const run = await ok<Execution>(agent, 'execute_workflow', { workflowId: wf.id });
    const started = Date.now();
    const error = toolError(
      await callTool(await mcpClient(other.viewer), 'wait_for_execution', { id: run.id, timeoutSeconds: 20 }),
    );
    expect(error.code).toBe('EXECUTION-010');
    expect(Date.now() - started).toBeLessThan(10_000);
    await ok(agent, 'cancel_execution', { id: run.id });
  });

  it.each([
    ['2026-07-28', {}],
    ['2025', { era: 'legacy' as const }],
  ])('reports each step as it ends to a %s client that sends a progressToken', async (_label, era) => {
    const c = await freshCast();
    const agent = await mcpClient(c.manager, era);
    const wf = await ok<{ id: string }>(agent, 'create_workflow', {
      input: {
        name: 'Three steps',
        steps: [
          { id: 'one', type: 'delay', durationMs: 400 },
          { id: 'two', type: 'delay', durationMs: 400 },
          { id: 'three', type: 'http-request', url: upstream('/ok') },
        ],
      },
    });
    const run = await ok<Execution>(agent, 'execute_workflow', { workflowId: wf.id });
    const seen: { progress: number; total?: number; message?: string }[] = [];
    let ended: Execution | undefined;
    for (let i = 0; i < 4 && !['SUCCEEDED', 'FAILED'].includes(ended?.status ?? ''); i++) {
      const result = await agent.callTool(
        { name: 'wait_for_execution', arguments: { id: run.id, timeoutSeconds: 25 } },
        { onprogress: (p) => seen.push(p) },
      );
      ended = result.structuredContent as Execution;
    }
    expect(ended?.status).toBe('SUCCEEDED');
    // Each report says how many of the three steps have ended, never going back.
    expect(seen.length).toBeGreaterThan(0);
    for (const p of seen) expect(p.total).toBe(3);
    const counts = seen.map((p) => p.progress);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts.at(-1)).toBe(3);
    expect(seen.at(-1)?.message).toMatch(/step three SUCCEEDED; execution SUCCEEDED/);
  });

  it('is what execute_workflow tells an agent to call next', async () => {
    const c = await freshCast();
    const { tools } = await (await mcpClient(c.manager)).listTools();
    const execute = tools.find((t) => t.name === 'execute_workflow');
    expect(execute?.description).toContain('wait_for_execution');
    expect(execute?.description).not.toMatch(/subscription/i);
  });
});
