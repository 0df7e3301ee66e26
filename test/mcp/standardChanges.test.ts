import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog } from '../../src/mcp/catalog';
import { schema } from '../../src/schema';
import { cast, changeInput, inDays } from '../helpers/changes';
import { callTool, mcpClient, toolError } from '../helpers/mcp';
import { createTemplate, templateInput } from '../helpers/templates';

/** An agent with a requester's token raises a standard change through the MCP tools. */

let requester: Client;
let manager: Client;
let templateId: string;

beforeAll(async () => {
  const c = await cast('mcp-standard');
  templateId = (await createTemplate(c.manager)).id;
  requester = await mcpClient(c.requester);
  manager = await mcpClient(c.manager);
});

afterAll(async () => {
  await requester.close();
  await manager.close();
});

describe('list_standard_change_templates and create_standard_change', () => {
  it('lists the templates, then raises a change from one and submits it: pre-approved', async () => {
    const { tools } = await requester.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['list_standard_change_templates', 'create_standard_change']),
    );
    expect(tools.map((t) => t.name)).not.toContain('manage_standard_change_template');

    const listed = await callTool(requester, 'list_standard_change_templates');
    const templates = listed.structuredContent?.standardChangeTemplates as {
      id: string;
      titleVariables: string[];
    }[];
    expect(templates).toEqual([expect.objectContaining({ id: templateId, titleVariables: ['service'] })]);

    const created = await callTool(requester, 'create_standard_change', {
      templateId,
      input: {
        titleVariables: [{ name: 'service', value: 'checkout' }],
        plannedStart: inDays(3, 2),
        plannedEnd: inDays(3, 3),
      },
    });
    expect(created.isError).toBeFalsy();
    // The compact result says what the template made of the variables: the title and the priority.
    const change = created.structuredContent as {
      id: string;
      title: string;
      status: string;
      priority: string;
    };
    expect(change).toMatchObject({ title: 'Rotate TLS cert for checkout', status: 'DRAFT' });
    const read = await callTool(requester, 'get_change_status', { id: change.id });
    expect(read.structuredContent).toMatchObject({ type: 'STANDARD', priority: change.priority });
    // The template it came from is in the whole record, the change's resource.
    const record = await requester.readResource({ uri: `changeflow://changes/${change.id}` });
    expect(JSON.parse((record.contents[0] as { text: string }).text)).toMatchObject({ templateId });
    const submitted = await callTool(requester, 'transition_change', { action: 'submit', id: change.id });
    expect(submitted.structuredContent).toMatchObject({ status: 'APPROVED' });
  });

  it('create_change_request with type STANDARD is refused and points the agent to the templates', async () => {
    const result = await callTool(requester, 'create_change_request', {
      input: changeInput({ type: 'STANDARD' }),
    });
    expect(toolError(result)).toMatchObject({
      code: 'CHANGE_STANDARD_REQUIRES_TEMPLATE',
      message: expect.stringContaining('list_standard_change_templates'),
    });
  });

  it('create_standard_change names the unknown variable an agent made up', async () => {
    const result = await callTool(requester, 'create_standard_change', {
      templateId,
      input: {
        titleVariables: [
          { name: 'service', value: 'checkout' },
          { name: 'runbookWorkflowId', value: 'wf_x' },
        ],
        plannedStart: inDays(3, 2),
        plannedEnd: inDays(3, 3),
      },
    });
    expect(toolError(result)).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringContaining('unknown variable(s): runbookWorkflowId'),
    });
  });
});

describe('what agents are not offered: the rules their changes are held to', () => {
  // A template pre-authorises the changes raised from it, service tags decide which compliance
  // checks cover a service, a freeze holds changes back: an agent may add a freeze, but writing
  // those rules, or loosening them, is people's work over GraphQL.
  // By GraphQL field, whatever a tool would be called: no tool's document runs one of them.
  const RULE_FIELDS = [
    'createStandardChangeTemplate',
    'updateStandardChangeTemplate',
    'retireStandardChangeTemplate',
    'tagService',
    'deleteFreezeWindow',
  ];

  it('no tool runs one of their GraphQL fields', () => {
    const catalog = buildCatalog(schema);
    for (const tool of catalog.tools) {
      for (const field of RULE_FIELDS)
        expect(tool.document, tool.name).not.toMatch(new RegExp(`\\b${field}\\(`));
    }
    // The freeze a tool may add is a tool's: the check above is not vacuous.
    expect(catalog.toolsByName.get('create_freeze_window')?.document).toMatch(/\bcreateFreezeWindow\(/);
  });

  it('lists no template authoring to a change manager, and refuses a call to it as an unknown tool', async () => {
    const { tools } = await manager.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['list_standard_change_templates', 'create_freeze_window']));
    expect(names).not.toContain('manage_standard_change_template');
    await expect(
      callTool(manager, 'manage_standard_change_template', {
        action: 'create',
        input: templateInput({ name: 'Agent-written template' }),
      }),
    ).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('manage_standard_change_template'),
    });
    // Nothing was written: the tenant still has its one template.
    const listed = await callTool(manager, 'list_standard_change_templates', { includeRetired: true });
    const templates = listed.structuredContent?.standardChangeTemplates as { id: string }[] | undefined;
    expect(templates?.map((t) => t.id)).toEqual([templateId]);
  });
});
