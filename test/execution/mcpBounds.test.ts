import { describe, expect, it } from 'vitest';
import { jsonBytes } from '../../src/mcp/bounds';
import { changeInput } from '../helpers/changes';
import { callTool, mcpClient, toolError } from '../helpers/mcp';
import { createWorkflow, execute, freshCast, waitFor } from './helpers';

/**
 * Bounded results as an agent receives them through /mcp (the SDK client checks every result
 * against the tool's output schema): step outputs as previews with a resource holding the whole
 * output, and the audit log in summary unless asked for in full.
 */

async function ok<T>(
  client: Awaited<ReturnType<typeof mcpClient>>,
  name: string,
  args: Record<string, unknown>,
) {
  const result = await callTool(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(toolError(result))}`);
  return { value: result.structuredContent as T, bytes: jsonBytes(result.structuredContent) };
}

interface StepOut {
  stepId: string;
  outputPreview: string | null;
  outputUri: string | null;
}

describe('bounded MCP results', () => {
  it('get_execution previews each step output; the resource link reads the whole of it', async () => {
    const c = await freshCast();
    const blob = 'b'.repeat(12_000);
    const steps = Array.from({ length: 5 }, (_, i) => ({
      id: `copy-${i}`,
      type: 'transform',
      spec: { pick: { blob: 'inputs.blob' } },
    }));
    const workflowId = await createWorkflow(c.manager, steps);
    const run = await execute(c.manager, workflowId, { blob });
    await waitFor(c.manager, run.id);

    const agent = await mcpClient(c.viewer);
    const { value, bytes } = await ok<{ status: string; steps: StepOut[] }>(agent, 'get_execution', {
      id: run.id,
    });
    expect(value.status).toBe('SUCCEEDED');
    // 5 × 12 KB of outputs, and the agent pays for previews only.
    expect(bytes).toBeLessThan(4000);
    const [first] = value.steps;
    expect(first?.outputPreview?.length).toBeLessThanOrEqual(120);
    expect(first?.outputPreview).toMatch(/^\{"blob":"bbb/);
    expect(first?.outputUri).toBe(`changeflow://executions/${run.id}/steps/copy-0/output`);

    const { resourceTemplates } = await agent.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toContain(
      'changeflow://executions/{id}/steps/{stepId}/output',
    );
    const read = await agent.readResource({ uri: first?.outputUri as string });
    const step = JSON.parse((read.contents[0] as { text: string }).text);
    expect(step).toMatchObject({ stepId: 'copy-0', status: 'SUCCEEDED', outputTruncated: false });
    expect(step.output).toEqual({ blob });

    const missing = await agent.readResource({
      uri: `changeflow://executions/${run.id}/steps/nope/output`,
    });
    expect(JSON.parse((missing.contents[0] as { text: string }).text)).toBeNull();
    await agent.close();
  });

  it('get_audit_log is a summary without hashes unless detail FULL asks for the payloads', async () => {
    const c = await freshCast();
    const agent = await mcpClient(c.requester);
    const created = await ok<{ id: string }>(agent, 'create_change_request', { input: changeInput() });
    const viewer = await mcpClient(c.admin);

    type Event = Record<string, unknown>;
    const summary = await ok<{ nodes: Event[] }>(viewer, 'get_audit_log', { targetId: created.value.id });
    expect(summary.value.nodes).toHaveLength(1);
    const [event] = summary.value.nodes;
    expect(event).toMatchObject({
      action: 'change.created',
      actorId: 'rita',
      source: 'mcp',
      toolName: 'create_change_request',
      targetId: created.value.id,
      before: null,
      after: null,
    });
    expect(Object.keys(event ?? {})).not.toContain('hash');
    expect(Object.keys(event ?? {})).not.toContain('prevHash');

    const full = await ok<{ nodes: Event[] }>(viewer, 'get_audit_log', {
      targetId: created.value.id,
      detail: 'FULL',
    });
    expect(full.value.nodes[0]?.after).toMatchObject({ id: created.value.id, status: 'DRAFT' });
    expect(full.bytes).toBeGreaterThan(summary.bytes);

    // The change's audit resource is a summary too.
    const read = await viewer.readResource({ uri: `changeflow://changes/${created.value.id}/audit` });
    const page = JSON.parse((read.contents[0] as { text: string }).text);
    expect(page.nodes[0]).toMatchObject({ action: 'change.created', after: null });
    await Promise.all([agent.close(), viewer.close()]);
  });
});
