import type { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { CANCEL, cast, changeInput, gqlOk, inDays } from '../helpers/changes';
import { callTool, mcpClient, rawMcp, toolError } from '../helpers/mcp';

/**
 * Every MCP mutation leaves an audit event that says it came through MCP, which tool made it and
 * whose token called it; the hash chain over those events verifies.
 */

interface AuditEvent {
  seq: number;
  actorId: string;
  actorType: string;
  source: string;
  toolName: string | null;
  action: string;
  targetType: string;
  targetId: string;
  requestId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  prevHash: string;
  hash: string;
}

const AUDIT = `query($targetId: ID, $first: Int) { auditLog(targetId: $targetId, first: $first) {
  nodes { seq actorId actorType source toolName action targetType targetId requestId before after prevHash hash } } }`;
const VERIFY = 'query { verifyAuditChain { valid checked brokenAtSeq reason } }';

async function auditOf(tok: string, targetId?: string): Promise<AuditEvent[]> {
  const data = await gqlOk<{ auditLog: { nodes: AuditEvent[] } }>(AUDIT, { targetId, first: 200 }, tok);
  return data.auditLog.nodes;
}

async function mutate(client: Client, name: string, args: Record<string, unknown>) {
  const result = await callTool(client, name, args);
  if (result.isError) throw new Error(`${name}: ${JSON.stringify(toolError(result))}`);
  return result.structuredContent as Record<string, unknown> & { id?: string };
}

describe('audit events of MCP calls', () => {
  it('names source mcp, the tool and the caller for every mutation of a change', async () => {
    const c = await cast('mcp-audit-lifecycle');
    const requester = await mcpClient(c.requester);
    const abe = await mcpClient(c.approver1);
    const ada = await mcpClient(c.approver2);
    const manager = await mcpClient(c.manager);

    const created = await mutate(requester, 'create_change_request', { input: changeInput() });
    const id = created.id as string;
    await mutate(requester, 'assess_risk', { id });
    await mutate(requester, 'transition_change', { action: 'submit', id });
    await mutate(abe, 'approve_change', { id, comment: 'Fine by me' });
    await mutate(ada, 'approve_change', { id });
    await mutate(manager, 'schedule_change', { id, plannedStart: inDays(2, 10), plannedEnd: inDays(2, 12) });

    const events = (await auditOf(c.admin, id)).sort((x, y) => x.seq - y.seq);
    expect(events.map((e) => [e.toolName, e.actorId])).toEqual([
      ['create_change_request', 'rita'],
      ['assess_risk', 'rita'],
      // A tool of several actions is audited under its name; the event's action says which move.
      ['transition_change', 'rita'],
      ['approve_change', 'abe'],
      ['approve_change', 'ada'],
      ['schedule_change', 'max'],
    ]);
    for (const e of events) {
      expect(e).toMatchObject({
        source: 'mcp',
        actorType: 'user',
        targetType: 'ChangeRequest',
        targetId: id,
      });
    }
    expect(events[0]).toMatchObject({ action: 'change.created', before: null });
    expect(events[0]?.after).toMatchObject({ id, status: 'DRAFT' });
    expect(events.at(-1)?.before).toMatchObject({ status: 'APPROVED' });
    expect(events.at(-1)?.after).toMatchObject({ status: 'SCHEDULED' });
  });

  it('audits the vote itself under the tool that cast it', async () => {
    const c = await cast('mcp-audit-approval');
    const requester = await mcpClient(c.requester);
    const abe = await mcpClient(c.approver1);
    const id = (await mutate(requester, 'create_change_request', { input: changeInput() })).id as string;
    await mutate(requester, 'transition_change', { action: 'submit', id });
    const vote = await mutate(abe, 'reject_change', { id, reason: 'Not this week' });
    const approvalId = (vote.approval as { id: string }).id;

    const events = await auditOf(c.admin, approvalId);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      source: 'mcp',
      toolName: 'reject_change',
      actorId: 'abe',
      targetType: 'Approval',
      targetId: approvalId,
    });
  });

  it('records the request id of the MCP call', async () => {
    const c = await cast('mcp-audit-request-id');
    const requestId = 'agent-run-0001.call-01';
    const res = await rawMcp(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'create_change_request', arguments: { input: changeInput() } },
      }),
      {
        authorization: `Bearer ${c.requester}`,
        'x-request-id': requestId,
        'mcp-protocol-version': '2025-06-18',
      },
    );
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const body = (await res.json()) as { result: { structuredContent: { id: string } } };
    const [event] = await auditOf(c.admin, body.result.structuredContent.id);
    expect(event).toMatchObject({ requestId, source: 'mcp', toolName: 'create_change_request' });
  });

  it('tells MCP and GraphQL writes apart in one chain', async () => {
    const c = await cast('mcp-audit-mixed');
    const requester = await mcpClient(c.requester);
    const id = (await mutate(requester, 'create_change_request', { input: changeInput() })).id as string;
    await gqlOk(CANCEL, { id, reason: 'Done by hand instead' }, c.requester);

    const events = (await auditOf(c.admin, id)).sort((x, y) => x.seq - y.seq);
    expect(events.map((e) => [e.source, e.toolName, e.actorId])).toEqual([
      ['mcp', 'create_change_request', 'rita'],
      ['graphql', null, 'rita'],
    ]);
  });

  it('writes no event for a refused call', async () => {
    const c = await cast('mcp-audit-refused');
    const requester = await mcpClient(c.requester);
    const id = (await mutate(requester, 'create_change_request', { input: changeInput() })).id as string;
    // Refused by the input schema, by the role check and by the state machine.
    await callTool(requester, 'transition_change', { action: 'submit', id, expectedVersion: 0 });
    await callTool(requester, 'approve_change', { id });
    await callTool(requester, 'reject_change', { id, reason: 'Not mine to judge' });
    await callTool(requester, 'transition_change', { action: 'cancel', id });
    await callTool(requester, 'transition_change', { action: 'cancel', id });
    const events = await auditOf(c.admin, id);
    expect(events.map((e) => `${e.toolName} ${e.action}`).sort()).toEqual([
      'create_change_request change.created',
      'transition_change change.cancelled',
    ]);
  });
});

describe('audit chain', () => {
  it('verifies after a run of MCP mutations, over GraphQL and through verify_audit_chain', async () => {
    const c = await cast('mcp-audit-chain');
    const requester = await mcpClient(c.requester);
    const abe = await mcpClient(c.approver1);
    const ada = await mcpClient(c.approver2);
    const manager = await mcpClient(c.manager);
    const admin = await mcpClient(c.admin);

    const first = (await mutate(requester, 'create_change_request', { input: changeInput() })).id as string;
    await mutate(requester, 'transition_change', { action: 'submit', id: first });
    await mutate(abe, 'approve_change', { id: first });
    await mutate(ada, 'approve_change', { id: first });
    await mutate(manager, 'schedule_change', {
      id: first,
      plannedStart: inDays(4, 10),
      plannedEnd: inDays(4, 12),
    });
    const emergency = (
      await mutate(requester, 'create_change_request', {
        input: changeInput({ type: 'EMERGENCY', title: 'Patch the TLS terminator' }),
      })
    ).id as string;
    await mutate(admin, 'emergency_override', {
      id: emergency,
      justification: 'Actively exploited vulnerability on the edge proxies.',
      confirm: true,
    });
    await mutate(manager, 'create_freeze_window', {
      name: 'Incident freeze',
      startsAt: inDays(10, 0),
      endsAt: inDays(11, 0),
    });

    const events = (await auditOf(c.admin)).sort((x, y) => x.seq - y.seq);
    // One event per write, two for a vote (the approval and the change it moved), in order.
    expect(events.map((e) => `${e.toolName} ${e.action}`)).toEqual([
      'create_change_request change.created',
      'transition_change change.submitted',
      'approve_change approval.created',
      'approve_change change.approval_recorded',
      'approve_change approval.created',
      'approve_change change.approval_recorded',
      'schedule_change change.scheduled',
      'create_change_request change.created',
      'emergency_override change.emergency_override',
      'create_freeze_window freeze_window.created',
    ]);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.every((e) => e.source === 'mcp' && e.toolName)).toBe(true);
    for (const [i, e] of events.entries()) {
      if (i > 0) expect(e.prevHash).toBe(events[i - 1]?.hash);
    }
    const override = events.find((e) => e.toolName === 'emergency_override');
    expect(override).toMatchObject({ actorId: 'root', targetId: emergency });

    const { verifyAuditChain } = await gqlOk<{
      verifyAuditChain: { valid: boolean; checked: number; brokenAtSeq: number | null };
    }>(VERIFY, {}, c.manager);
    expect(verifyAuditChain).toEqual({
      valid: true,
      checked: events.length,
      brokenAtSeq: null,
      reason: null,
    });

    await manager.listTools();
    // RECENT (the default) starts after what the GraphQL call verified; FULL checks it all again.
    const recent = await callTool(manager, 'verify_audit_chain', {});
    expect(recent.structuredContent).toMatchObject({ valid: true, checked: 0, complete: true });
    const viaMcp = await callTool(manager, 'verify_audit_chain', { mode: 'FULL' });
    expect(viaMcp.structuredContent).toMatchObject({ valid: true, checked: events.length });
  });
});
