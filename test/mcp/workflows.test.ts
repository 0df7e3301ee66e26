import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cast } from '../helpers/changes';
import { callTool, mcpClient, toolError } from '../helpers/mcp';
import { setSecret } from '../helpers/secrets';

/** Workflow definitions through the MCP tools an agent uses: create_workflow and list_workflows. */

interface WorkflowOut {
  id: string;
  name: string;
  status: string;
  version: number;
  steps: Record<string, unknown>[];
  triggers: Record<string, unknown>[];
  secretNames: string[];
}

let manager: Client;
let viewer: Client;

beforeAll(async () => {
  const c = await cast('mcp-workflows');
  await setSecret(c.admin, 'DEPLOY_TOKEN', 'mcp-deploy-token', ['deploy.example.com']);
  manager = await mcpClient(c.manager);
  viewer = await mcpClient(c.viewer);
});

afterAll(async () => {
  await Promise.all([manager.close(), viewer.close()]);
});

const steps = [
  {
    id: 'deploy',
    type: 'http-request',
    url: 'https://deploy.example.com/releases',
    method: 'POST',
    headers: { Authorization: 'Bearer {{ secrets.DEPLOY_TOKEN }}' },
    retry: { maxAttempts: 5 },
  },
  { id: 'settle', type: 'delay', durationMs: 30_000 },
];

describe('create_workflow and list_workflows', () => {
  it('documents every step type in the input schema', async () => {
    const { tools } = await manager.listTools();
    const tool = tools.find((t) => t.name === 'create_workflow');
    const input = tool?.inputSchema.properties?.input as {
      properties: Record<string, { description?: string }>;
    };
    for (const word of ['http-request', 'transform', 'delay', 'approval-gate', 'timeoutMs', 'secrets.']) {
      expect(input.properties.steps?.description).toContain(word);
    }
    expect(input.properties.triggers?.description).toContain('cron');
    // An update takes the same forms and points at them instead of repeating them.
    const manage = tools.find((t) => t.name === 'manage_workflow');
    const update = manage?.inputSchema.properties?.input as typeof input;
    expect(update.properties.steps?.description).toContain('create_workflow');
    expect(update.properties.triggers?.description).toContain('create_workflow');
  });

  it('creates a workflow an agent then finds in the list', async () => {
    const created = await callTool(manager, 'create_workflow', {
      input: { name: 'Agent runbook', steps, triggers: [{ type: 'cron', expression: '30 2 * * *' }] },
    });
    expect(created.isError).toBeFalsy();
    // A compact result: the workflow's summary and the secrets it needs, not its steps back.
    const w = created.structuredContent as unknown as Omit<WorkflowOut, 'steps'>;
    expect(w).toEqual({
      id: expect.any(String),
      name: 'Agent runbook',
      status: 'ACTIVE',
      version: 1,
      secretNames: ['DEPLOY_TOKEN'],
    });

    const listed = await callTool(viewer, 'list_workflows', { filter: { nameContains: 'Agent' } });
    expect(listed.isError).toBeFalsy();
    const page = listed.structuredContent as { nodes: WorkflowOut[]; pageInfo: { hasNextPage: boolean } };
    expect(page.nodes.map((n) => [n.id, n.name, n.status, n.version])).toEqual([
      [w.id, 'Agent runbook', 'ACTIVE', 1],
    ]);
    expect(page.pageInfo.hasNextPage).toBe(false);

    // The steps as saved, every default filled in, are read with get_workflow.
    const read = await callTool(viewer, 'get_workflow', { id: w.id });
    expect(read.structuredContent).toMatchObject({ id: w.id, version: 1 });
    const saved = read.structuredContent as unknown as WorkflowOut;
    expect(saved.steps[0]).toMatchObject({
      retry: { maxAttempts: 5, baseDelayMs: 1000, capMs: 30_000 },
      timeoutMs: 10_000,
    });
  });

  it('names the offending field of a malformed step', async () => {
    const result = await callTool(manager, 'create_workflow', {
      input: { name: 'Broken runbook', steps: [{ ...steps[0], url: 'ftp://deploy.example.com/' }] },
    });
    const error = toolError(result);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.issues).toEqual([{ field: 'steps.0.url', message: expect.stringMatching(/http or https/) }]);
  });

  it('refuses a literal credential', async () => {
    const result = await callTool(manager, 'create_workflow', {
      input: { name: 'Leaky runbook', steps: [{ ...steps[0], headers: { Authorization: 'Bearer abc' } }] },
    });
    expect(toolError(result)).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('secret'),
    });
  });

  it('does not offer create_workflow or manage_workflow to a viewer', async () => {
    const { tools } = await viewer.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['list_workflows', 'get_workflow']));
    expect(tools.map((t) => t.name)).not.toContain('create_workflow');
    expect(tools.map((t) => t.name)).not.toContain('manage_workflow');
    const result = await callTool(viewer, 'create_workflow', {
      input: { name: 'Not allowed', steps },
    });
    expect(toolError(result).code).toBe('FORBIDDEN');
  });

  it('holds a create to its form: steps required, no id (updates: actions.test.ts)', async () => {
    const incomplete = await callTool(manager, 'create_workflow', {
      input: { name: 'Half' },
    });
    expect(toolError(incomplete).code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(toolError(incomplete))).toMatch(/steps/);
    const withId = await callTool(manager, 'create_workflow', {
      id: 'wf_any',
      input: { name: 'X', steps },
    });
    expect(toolError(withId).code).toBe('VALIDATION_FAILED');
  });
});
