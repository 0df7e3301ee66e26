import { CfWorkerJsonSchemaValidator } from '@modelcontextprotocol/client/validators/cf-worker';
import { describe, expect, it } from 'vitest';
import mcpDoc from '../../docs/mcp.md?raw';
import committed from '../../mcp-tools.snapshot.json';
import { catalogSizesSection } from '../../scripts/mcpCatalogDoc';
import { ROLES, type Role } from '../../src/domain/types';
import { CATALOG_BUDGET, catalogSizes, jsonBytes, listedTool } from '../../src/mcp/catalog';
import type { Toolset } from '../../src/mcp/toolsets';
import { token } from '../helpers/auth';
import { cast, changeInput } from '../helpers/changes';
import { callTool, mcpClient, rawMcp } from '../helpers/mcp';

/**
 * What `tools/list` costs an agent, per role, measured on the committed snapshot and held to
 * CATALOG_BUDGET; and the live list of every role is exactly its view of that snapshot, so the
 * figures are what agents get.
 */

const snapshot = committed as unknown as {
  toolsListBytes: Record<Role, { tools: number; bytes: number }>;
  tools: (ReturnType<typeof listedTool> & { roles: Role[]; toolset: Toolset; document: string })[];
};

const viewOf = (role: Role) => snapshot.tools.filter((t) => t.roles.includes(role)).map(listedTool);

describe('the catalog budget, on the committed snapshot', () => {
  it('records what tools/list costs each role, as computed from its tools', () => {
    expect(catalogSizes(snapshot.tools)).toEqual(snapshot.toolsListBytes);
    for (const role of ROLES) {
      expect(snapshot.toolsListBytes[role].bytes).toBe(jsonBytes({ tools: viewOf(role) }));
    }
  });

  it.each(ROLES)('keeps the %s tools/list within its ceiling', (role) => {
    expect(snapshot.toolsListBytes[role].bytes).toBeLessThanOrEqual(CATALOG_BUDGET.roles[role]);
  });

  it('keeps every tool within the per-tool ceiling', () => {
    const over = snapshot.tools
      .map((t) => ({ name: t.name, bytes: jsonBytes(listedTool(t)) }))
      .filter((t) => t.bytes > CATALOG_BUDGET.tool);
    expect(over).toEqual([]);
  });

  it('fails a catalog over its ceiling (the check is not vacuous)', () => {
    const heavier = snapshot.tools.map((t) =>
      t.name === 'whoami' ? { ...t, description: 'x'.repeat(CATALOG_BUDGET.roles.viewer) } : t,
    );
    expect(catalogSizes(heavier).viewer.bytes).toBeGreaterThan(CATALOG_BUDGET.roles.viewer);
  });

  it('gives output schemas no descriptions and every mutation a compact result', () => {
    // A description is a string; a property named `description` (a change's) is a schema object.
    const described = snapshot.tools.filter((t) => /"description":"/.test(JSON.stringify(t.outputSchema)));
    expect(described.map((t) => t.name)).toEqual([]);
    // A mutation returning a change answers with its summary and what the tool set, never the whole change.
    const mutations = snapshot.tools.filter((t) => t.document.startsWith('mutation'));
    for (const t of mutations) {
      expect(t.document, t.name).not.toMatch(
        /\b(steps|versions|workflow|implementationPlan|approvals) \{|steps \}/,
      );
    }
  });

  it('docs/mcp.md shows the snapshot’s figures (run `npm run codegen`)', () => {
    expect(mcpDoc).toContain(catalogSizesSection(snapshot));
  });
});

describe('the live tools/list of each role', () => {
  it.each(ROLES)('is the %s view of the snapshot, byte for byte', async (role) => {
    const authorization = `Bearer ${await token({ sub: `budget-${role}`, tenant: 'mcp-budget', roles: [role] })}`;
    // Every toolset (/mcp/all), every page: the whole catalog the role can reach.
    const tools: unknown[] = [];
    let cursor: string | undefined;
    do {
      const params = cursor ? { params: { cursor } } : {};
      const res = await rawMcp(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', ...params }),
        { authorization, 'mcp-protocol-version': '2025-06-18' },
        '/mcp/all',
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { result: { tools: unknown[]; nextCursor?: string } };
      tools.push(...body.result.tools);
      cursor = body.result.nextCursor;
    } while (cursor);
    // JSON drops the titles a tool does not have, as the snapshot file does.
    expect(tools).toEqual(JSON.parse(JSON.stringify(viewOf(role))));
    expect(jsonBytes({ tools })).toBe(snapshot.toolsListBytes[role].bytes);
  });
});

describe('shared shapes ($defs) in output schemas', () => {
  const create = snapshot.tools.find((t) => t.name === 'create_change_request');

  it('define the change states once and reference them', () => {
    const schema = create?.outputSchema as { $defs?: Record<string, { enum?: string[] }> };
    expect(schema.$defs?.ChangeStatus?.enum).toContain('PENDING_APPROVAL');
    expect(JSON.stringify(schema).match(/"#\/\$defs\/ChangeStatus"/g)).toHaveLength(2);
  });

  it('are resolved by the SDK client’s validator: a result passes, a wrong state does not', async () => {
    const validate = new CfWorkerJsonSchemaValidator().getValidator(create?.outputSchema as never);
    const c = await cast('mcp-budget-defs');
    // mcpClient lists the tools first, so the SDK validates this structuredContent against the schema.
    const result = await callTool(await mcpClient(c.requester), 'create_change_request', {
      input: changeInput(),
    });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: 'DRAFT', version: 1, priority: 'P3' });
    expect(validate(result.structuredContent).valid).toBe(true);
    expect(validate({ ...result.structuredContent, status: 'LIMBO' }).valid).toBe(false);
    expect(validate({ ...result.structuredContent, allowedTransitions: ['LIMBO'] }).valid).toBe(false);
  });
});
