import { RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../../src/domain/types';
import { buildCatalog, type McpCatalog } from '../../src/mcp/catalog';
import { appsOpenTo } from '../../src/mcp/server';
import { schema } from '../../src/schema';
import { APPROVAL_CARD_URI } from '../../src/schema/mcpApps';
import { approve, cast, changeInState, gqlOk, inDays, schedule, submit } from '../helpers/changes';
import { callTool, mcpClient, toolError } from '../helpers/mcp';

/**
 * The approval card (MCP Apps): review_change, the `_meta.ui` that get_change_status and
 * review_change declare, and the `ui://` resource itself. test/browser/approvalCard.test.mjs
 * drives the page in a browser.
 */

type Cast = Awaited<ReturnType<typeof cast>>;
let c: Cast;

beforeAll(async () => {
  c = await cast('mcp-apps');
});

interface Review {
  change: {
    id: string;
    status: string;
    riskLevel: string;
    riskFactors: { label: string; contribution: number }[];
    approvals: { approver: { id: string }; decision: string; comment: string | null }[];
  };
  approvalsReceived: number;
  approvalsRequired: number | null;
  stillNeeded: string | null;
  conflicts: { changeId: string; services: string[] }[];
  freezeWindows: { id: string; name: string }[];
}

describe('the tools that offer the card', () => {
  it.each([
    ['2026-07-28', 'modern'],
    ['2025 handshake', 'legacy'],
  ] as const)('declare it in _meta.ui.resourceUri, and no other tool does (%s)', async (_, era) => {
    const client = await mcpClient(c.approver1, { era });
    const { tools } = await client.listTools();
    const withUi = tools.filter((t) => t._meta);
    expect(withUi.map((t) => t.name).sort()).toEqual(['get_change_status', 'review_change']);
    for (const t of withUi) expect(t._meta).toEqual({ ui: { resourceUri: APPROVAL_CARD_URI } });
    await client.close();
  });

  it('offers review_change to the parties to an approval, not to a viewer, who has the card through get_change_status', async () => {
    const pending = await changeInState(c, 'PENDING_APPROVAL');
    const client = await mcpClient(c.viewer);
    const { tools } = await client.listTools();
    expect(tools.filter((t) => t._meta).map((t) => t.name)).toEqual(['get_change_status']);
    const refused = toolError(await callTool(client, 'review_change', { id: pending.id }));
    expect(refused.code).toBe('FORBIDDEN');
    // The card itself stays readable: get_change_status shows it.
    const card = await client.readResource({ uri: APPROVAL_CARD_URI });
    expect(card.contents).toHaveLength(1);
    await client.close();
    const requester = await mcpClient(c.requester);
    expect((await callTool(requester, 'review_change', { id: pending.id })).isError).toBeFalsy();
    await requester.close();
  });
});

describe('review_change', () => {
  it('gives the risk factors, the votes against the quorum and what is still needed', async () => {
    const pending = await changeInState(c, 'PENDING_APPROVAL');
    await approve(c.approver1, pending.id, 'Plan is sound');
    const client = await mcpClient(c.manager);
    const result = await callTool(client, 'review_change', { id: pending.id });
    expect(result.isError).toBeFalsy();
    const review = result.structuredContent as unknown as Review;
    expect(review.change).toMatchObject({ id: pending.id, status: 'PENDING_APPROVAL', riskLevel: 'MEDIUM' });
    expect(review.change.riskFactors.length).toBeGreaterThan(0);
    expect(review.change.approvals).toEqual([
      { approver: { id: 'abe' }, decision: 'APPROVED', comment: 'Plan is sound' },
    ]);
    expect(review).toMatchObject({
      approvalsReceived: 1,
      approvalsRequired: 2,
      stillNeeded: '1 more approval',
      // No planned window yet: nothing to clash with.
      conflicts: [],
      freezeWindows: [],
    });
    await client.close();
  });

  it('gives the scheduled changes and freeze windows that overlap its window', async () => {
    const [start, end] = [inDays(3, 10), inDays(3, 12)];
    const mine = await changeInState(c, 'APPROVED', { affectedServices: ['ledger', 'payments-db'] });
    const other = await changeInState(c, 'APPROVED', { affectedServices: ['ledger'] });
    const elsewhere = await changeInState(c, 'APPROVED', { affectedServices: ['search'] });
    await schedule(c.manager, other.id, inDays(3, 11), inDays(3, 13));
    await schedule(c.manager, elsewhere.id, start, end);
    await schedule(c.manager, mine.id, start, end);
    const { createFreezeWindow: freeze } = await gqlOk<{ createFreezeWindow: { id: string } }>(
      'mutation($s: DateTime!, $e: DateTime!) { createFreezeWindow(name: "Quarter close", startsAt: $s, endsAt: $e) { id } }',
      { s: inDays(3, 11), e: inDays(4, 0) },
      c.manager,
    );
    const client = await mcpClient(c.approver2);
    const review = (await callTool(client, 'review_change', { id: mine.id }))
      .structuredContent as unknown as Review;
    expect(review.change.status).toBe('SCHEDULED');
    expect(review.conflicts).toEqual([
      { changeId: other.id, services: ['ledger'], plannedStart: inDays(3, 11), plannedEnd: inDays(3, 13) },
    ]);
    expect(review.freezeWindows).toEqual([
      { id: freeze.id, name: 'Quarter close', startsAt: inDays(3, 11), endsAt: inDays(4, 0) },
    ]);
    await client.close();
  });

  it('never shows another tenant’s changes or freeze windows over the same window', async () => {
    const [start, end] = [inDays(5, 10), inDays(5, 12)];
    const ours = await changeInState(c, 'APPROVED', { affectedServices: ['shared-name'] });
    await schedule(c.manager, ours.id, start, end);
    const { createFreezeWindow: freeze } = await gqlOk<{ createFreezeWindow: { id: string } }>(
      'mutation($s: DateTime!, $e: DateTime!) { createFreezeWindow(name: "Ours", startsAt: $s, endsAt: $e) { id } }',
      { s: start, e: end },
      c.manager,
    );
    const other = await cast('mcp-apps-neighbour');
    const theirs = await changeInState(other, 'APPROVED', { affectedServices: ['shared-name'] });
    await schedule(other.manager, theirs.id, start, end);
    const reviewOf = async (tok: string, id: string) => {
      const client = await mcpClient(tok);
      const review = (await callTool(client, 'review_change', { id })).structuredContent as unknown as Review;
      await client.close();
      return review;
    };
    expect(await reviewOf(other.approver1, theirs.id)).toMatchObject({ conflicts: [], freezeWindows: [] });
    // The same window in our tenant does meet both (the check above is not vacuous).
    const second = await changeInState(c, 'APPROVED', { affectedServices: ['shared-name'] });
    const review = await reviewOf(c.approver1, second.id);
    expect(review.conflicts).toEqual([]); // not scheduled yet: no window of its own
    await gqlOk('mutation($id: ID!) { deleteFreezeWindow(id: $id) { id } }', { id: freeze.id }, c.manager);
    await schedule(c.manager, second.id, start, end);
    await gqlOk(
      'mutation($s: DateTime!, $e: DateTime!) { createFreezeWindow(name: "Ours", startsAt: $s, endsAt: $e) { id } }',
      { s: start, e: end },
      c.manager,
    );
    const scheduled = await reviewOf(c.approver1, second.id);
    expect(scheduled.conflicts.map((x) => x.changeId)).toEqual([ours.id]);
    expect(scheduled.freezeWindows.map((w) => w.name)).toEqual(['Ours']);
  });

  it('answers CHANGE_NOT_FOUND for a change of another tenant', async () => {
    const theirs = await submit(c.requester, (await changeInState(c, 'DRAFT')).id);
    const other = await cast('mcp-apps-other');
    const client = await mcpClient(other.admin);
    const error = toolError(await callTool(client, 'review_change', { id: theirs.id }));
    expect(error.code).toBe('CHANGE_NOT_FOUND');
    await client.close();
  });
});

describe('the card resource', () => {
  it('is listed for every role that may read changes', async () => {
    for (const role of ['viewer', 'requester', 'approver1', 'manager', 'admin'] as const) {
      const client = await mcpClient(c[role]);
      const { resources } = await client.listResources();
      expect(
        resources.find((r) => r.uri === APPROVAL_CARD_URI),
        role,
      ).toMatchObject({
        name: 'approval-card',
        mimeType: RESOURCE_MIME_TYPE,
        title: expect.any(String),
        description: expect.any(String),
      });
      await client.close();
    }
  });

  it('reads as one self-contained MCP App page', async () => {
    const client = await mcpClient(c.approver1, { era: 'legacy' });
    const { contents } = await client.readResource({ uri: APPROVAL_CARD_URI });
    expect(contents).toHaveLength(1);
    const [page] = contents as { uri: string; mimeType: string; text: string; _meta?: unknown }[];
    expect(page).toMatchObject({ uri: APPROVAL_CARD_URI, mimeType: 'text/html;profile=mcp-app' });
    // No CSP domains: hosts give the page no network, and it needs none.
    expect(page?._meta).toEqual({ ui: { prefersBorder: true } });
    const html = page?.text ?? '';
    expect(html).toMatch(/^<!doctype html>/i);
    for (const text of ['Approve', 'Reject', 'approve_change', 'reject_change', 'review_change'])
      expect(html).toContain(text);
    // Nothing loaded from elsewhere: no src/href attributes to URLs, no fetch of its own.
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[^"'\s]*\.(js|css)/i);
    await client.close();
  });

  it('is open to exactly the callers who may call a tool that offers it', () => {
    const catalog = buildCatalog(schema);
    const who = (roles: Role[]) => ({
      id: 'p',
      tenantId: 't',
      roles,
      kind: 'user' as const,
      name: null,
      email: null,
    });
    const names = (cat: McpCatalog, roles: Role[]) => appsOpenTo(cat, who(roles)).map((a) => a.uri);
    for (const role of ROLES) expect(names(catalog, [role]), role).toEqual([APPROVAL_CARD_URI]);
    // A token without roles is refused before MCP (401); a principal without any would not see it.
    expect(names(catalog, [])).toEqual([]);
    // Derived from the offering tools' scopes: were they for change managers, so would the card be.
    const managersOnly = {
      ...catalog,
      tools: catalog.tools.map((t) => (t._meta ? { ...t, authScopes: { changeManager: true } } : t)),
    };
    expect(names(managersOnly, ['viewer'])).toEqual([]);
    expect(names(managersOnly, ['approver', 'requester'])).toEqual([]);
    expect(names(managersOnly, ['change_manager'])).toEqual([APPROVAL_CARD_URI]);
  });

  it('is not found under another ui:// name', async () => {
    const client = await mcpClient(c.viewer);
    await expect(client.readResource({ uri: 'ui://changeflow/nope' })).rejects.toMatchObject({
      code: -32602,
    });
    await client.close();
  });
});
