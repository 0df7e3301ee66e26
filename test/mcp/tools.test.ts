import type { Client, Tool } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import snapshot from '../../mcp-tools.snapshot.json';
import { RISK_WEIGHTS } from '../../src/domain/risk';
import { token } from '../helpers/auth';
import { cast, changeInput, inDays } from '../helpers/changes';
import { callTool, mcpClient, toolError } from '../helpers/mcp';

/**
 * The tools an agent is offered, per role, and every seed tool driven end to end through MCP
 * alone. Each client lists its tools before calling any, so that the SDK validates every
 * structuredContent against the tool's outputSchema.
 */

type Cast = Awaited<ReturnType<typeof cast>>;
type Role = 'viewer' | 'requester' | 'approver1' | 'approver2' | 'manager' | 'admin';

/** An SDK client that has listed its tools (which arms output-schema validation). */
async function agent(token: string): Promise<{ client: Client; tools: Tool[] }> {
  const client = await mcpClient(token);
  const { tools } = await client.listTools();
  return { client, tools };
}

/** Calls a tool that must succeed; checks the text content mirrors the structured content. */
async function ok<T = Record<string, unknown>>(client: Client, name: string, args: Record<string, unknown>) {
  const result = await callTool(client, name, args);
  if (result.isError) throw new Error(`${name} failed: ${JSON.stringify(toolError(result))}`);
  expect(result.structuredContent).toBeDefined();
  const [first] = result.content;
  expect(first?.type).toBe('text');
  expect(JSON.parse((first as { text: string }).text)).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

const READ_TOOLS = [
  'get_change_status',
  'list_changes',
  'list_freeze_windows',
  'get_audit_log',
  'metrics_dashboard',
  'list_services',
  'whoami',
  'get_workflow',
  'list_workflows',
  'get_execution',
  'wait_for_execution',
  'list_executions',
  'list_standard_change_templates',
];
const REQUESTER_TOOLS = [
  'create_change_request',
  'create_standard_change',
  'update_change_request',
  // submit and cancel are a requester's; its other actions need a change manager.
  'transition_change',
  'assess_risk',
  // What their change still needs, the votes so far.
  'review_change',
];
// review_change is for the parties to an approval (GraphQL changeReview is any reader's).
const APPROVER_TOOLS = ['assess_risk', 'approve_change', 'reject_change', 'review_change'];
const MANAGER_TOOLS = [
  'compliance_report',
  'verify_audit_chain',
  'schedule_change',
  // Adds a freeze; lifting one (deleteFreezeWindow) is people's, over GraphQL.
  'create_freeze_window',
  'create_workflow',
  'manage_workflow',
  'execute_workflow',
  'cancel_execution',
  // Names and hosts only: setting or deleting a secret is not an MCP tool at all.
  'list_workflow_secrets',
  'get_egress_policy',
];
const ALL_TOOLS = snapshot.tools.map((t) => t.name);
const SEED_TOOLS = [
  'create_change_request',
  'approve_change',
  'assess_risk',
  'schedule_change',
  'get_change_status',
  'emergency_override',
  'compliance_report',
  'metrics_dashboard',
  // DESIGN.md's workflow tools.
  'create_workflow',
  'list_workflows',
  'execute_workflow',
  'get_execution',
  'cancel_execution',
];

const sorted = (names: string[]) => [...new Set(names)].sort();

/** The votes on a change, as review_change shows them (get_change_status leaves them to it). */
async function votes(client: Client, id: string) {
  const review = await ok<{ change: { approvals: ChangeOut['approvals'] } }>(client, 'review_change', { id });
  return review.change.approvals;
}

/**
 * The tools that may run a workflow's HTTP steps: directly, or by starting a change's runbook.
 * Not reject_change: a rejection starts nothing (the gates waiting on the change fail, inside).
 */
const OPEN_WORLD = [
  // Its submit and start_implementation actions may start a runbook.
  'transition_change',
  'approve_change',
  'emergency_override',
  'execute_workflow',
];

describe('tools/list per role', () => {
  it.each<[Role, string[], string[]]>([
    [
      'viewer',
      READ_TOOLS,
      [
        'create_change_request',
        'create_standard_change',
        'approve_change',
        'reject_change',
        'compliance_report',
        'list_workflow_secrets',
        'review_change',
      ],
    ],
    [
      'requester',
      [...READ_TOOLS, ...REQUESTER_TOOLS],
      ['approve_change', 'reject_change', 'schedule_change', 'emergency_override'],
    ],
    ['approver1', [...READ_TOOLS, ...APPROVER_TOOLS], ['create_change_request', 'schedule_change']],
    [
      'manager',
      [...READ_TOOLS, ...REQUESTER_TOOLS, ...APPROVER_TOOLS, ...MANAGER_TOOLS],
      ['emergency_override'],
    ],
    ['admin', ALL_TOOLS, []],
  ])('%s sees exactly its tools', async (role, expected, hidden) => {
    const c = await cast(`mcp-tools-list-${role}`);
    const { tools } = await agent(c[role]);
    const names = tools.map((t) => t.name);
    expect(sorted(names)).toEqual(sorted(expected));
    expect(names).toHaveLength(new Set(names).size);
    for (const name of hidden) expect(names).not.toContain(name);
  });

  it('shows the viewer only read-only tools', async () => {
    const { tools } = await agent((await cast('mcp-tools-viewer-ro')).viewer);
    expect(tools.length).toBeGreaterThan(0);
    expect(tools.every((t) => t.annotations?.readOnlyHint === true)).toBe(true);
  });

  it('offers the admin the snapshot catalog, in the same order, with the same schemas', async () => {
    const { tools } = await agent((await cast('mcp-tools-admin-snapshot')).admin);
    expect(tools.map((t) => t.name)).toEqual(ALL_TOOLS);
    for (const tool of tools) {
      const committed = snapshot.tools.find((t) => t.name === tool.name);
      expect(tool.inputSchema, tool.name).toEqual(committed?.inputSchema);
      expect(tool.outputSchema, tool.name).toEqual(committed?.outputSchema);
      expect(tool.annotations, tool.name).toEqual(committed?.annotations);
      expect(tool.description, tool.name).toBe(committed?.description);
    }
  });

  it('includes every seed tool the design names', () => {
    expect(ALL_TOOLS).toEqual(expect.arrayContaining(SEED_TOOLS));
  });
});

describe('tool metadata', () => {
  const documentKind = (name: string) =>
    snapshot.tools.find((t) => t.name === name)?.document.split(' ')[0] as 'query' | 'mutation';

  it.each(ALL_TOOLS)('%s has a description, annotations and an object output schema', async (name) => {
    const { tools } = await agent((await cast('mcp-tools-meta')).admin);
    const tool = tools.find((t) => t.name === name);
    expect(tool).toBeDefined();
    expect(tool?.description).toBeTruthy();
    expect(tool?.inputSchema.type).toBe('object');
    expect(tool?.outputSchema?.type).toBe('object');
    const a = tool?.annotations;
    // No title made from the name (it would repeat it, here and in the annotations); a client shows the name.
    expect(tool?.title).toBeUndefined();
    expect(a?.title).toBeUndefined();
    // Only tools that run a workflow's HTTP steps, directly or by starting a runbook, reach
    // outside ChangeFlow.
    expect(a?.openWorldHint).toBe(OPEN_WORLD.includes(name));
    if (documentKind(name) === 'query') {
      // The other two hints mean something only for a tool that writes (the spec): not sent.
      expect(a).toEqual({ readOnlyHint: true, openWorldHint: false });
    } else {
      expect(documentKind(name)).toBe('mutation');
      expect(a?.readOnlyHint).toBe(false);
      expect(typeof a?.destructiveHint).toBe('boolean');
      expect(typeof a?.idempotentHint).toBe('boolean');
    }
  });

  it.each([
    ['approve_change', { destructiveHint: true, idempotentHint: true, openWorldHint: true }],
    ['reject_change', { destructiveHint: true, idempotentHint: true, openWorldHint: false }],
    ['assess_risk', { destructiveHint: false, idempotentHint: true }],
    ['create_change_request', { destructiveHint: false, idempotentHint: false }],
    ['update_change_request', { destructiveHint: true, idempotentHint: false }],
    ['emergency_override', { destructiveHint: true, idempotentHint: true }],
    // The most cautious hints of its actions: roll_back is final, start_implementation runs a runbook.
    ['transition_change', { destructiveHint: true, idempotentHint: true, openWorldHint: true }],
    // update, deactivate and delete are destructive; update is not idempotent (a new version each time).
    ['manage_workflow', { destructiveHint: true, idempotentHint: false, openWorldHint: false }],
    ['create_freeze_window', { destructiveHint: false, idempotentHint: false, openWorldHint: false }],
    ['create_workflow', { destructiveHint: false, idempotentHint: false, openWorldHint: false }],
    ['execute_workflow', { destructiveHint: true, idempotentHint: false }],
  ])('%s carries the annotations its field declares', (name, hints) => {
    expect(snapshot.tools.find((t) => t.name === name)?.annotations).toMatchObject({
      readOnlyHint: false,
      ...hints,
    });
  });
});

interface ChangeOut {
  id: string;
  status: string;
  type: string;
  priority: string;
  riskScore: number | null;
  riskLevel: string | null;
  version: number;
  requester: { id: string };
  approvals: { approver: { id: string }; decision: string; comment: string | null }[];
  plannedStart: string | null;
  plannedEnd: string | null;
  emergencyJustification: string | null;
  reviewDueAt: string | null;
  approvedAt: string | null;
  allowedTransitions: string[];
}

/** What a mutation tool answers about the change it acted on (get_change_status has the rest). */
interface ChangeSummary {
  id: string;
  status: string;
  version: number;
  allowedTransitions: string[];
}

interface ApprovalOut {
  change: ChangeSummary;
  /** The vote it recorded: its id and decision (the comment or reason is the caller's own). */
  approval: { id: string; decision: string };
  approvalsReceived: number;
  approvalsRequired: number;
  changeManagerRequired: boolean;
  stillNeeded: string;
}

/** One SDK client per member of the cast, each with its tools listed. */
async function agents(c: Cast) {
  const entries = await Promise.all(
    (['requester', 'approver1', 'approver2', 'manager', 'admin', 'viewer'] as const).map(
      async (role) => [role, (await agent(c[role])).client] as const,
    ),
  );
  return Object.fromEntries(entries) as Record<(typeof entries)[number][0], Client>;
}

describe('every seed tool, end to end through MCP', () => {
  it('the chosen inputs score MEDIUM risk, which needs exactly two approvals', () => {
    const w = RISK_WEIGHTS;
    const score = w.type.NORMAL + w.impact.MEDIUM + w.urgency.MEDIUM;
    expect(score).toBe(25); // LOW < 25 ≤ MEDIUM
  });

  it('create → assess → submit → approve ×2 → schedule → status; override; reports', async () => {
    const c = await cast('mcp-tools-e2e');
    const a = await agents(c);
    const from = new Date(Date.now() - 60_000).toISOString();

    // create_change_request (requester): a compact DRAFT with the priority it was given.
    const created = await ok<ChangeSummary & { priority: string }>(a.requester, 'create_change_request', {
      input: changeInput(),
    });
    expect(created).toEqual({
      id: expect.stringMatching(/^CHG-\d{8}-[A-Z0-9]{6}$/),
      status: 'DRAFT',
      version: 1,
      allowedTransitions: expect.arrayContaining(['SUBMITTED', 'CANCELLED']),
      priority: 'P3',
    });
    // The whole change is one read away.
    const draft = await ok<ChangeOut>(a.requester, 'get_change_status', { id: created.id });
    expect(draft).toMatchObject({
      type: 'NORMAL',
      priority: 'P3',
      riskScore: null,
      requester: { id: 'rita' },
    });

    // assess_risk: 10 (NORMAL) + 10 (MEDIUM impact) + 5 (MEDIUM urgency) = 25, MEDIUM.
    const risk = await ok<{
      change: ChangeSummary;
      score: number;
      level: string;
      factors: { key: string }[];
    }>(a.requester, 'assess_risk', { id: created.id });
    expect(risk).toMatchObject({ score: 25, level: 'MEDIUM' });
    expect(risk.factors.map((f) => f.key).sort()).toEqual(['impact', 'type', 'urgency']);
    expect(risk.change).toMatchObject({ id: created.id, status: 'DRAFT' });

    // transition_change submit: to the CAB.
    const submitted = await ok<ChangeOut>(a.requester, 'transition_change', {
      action: 'submit',
      id: created.id,
      expectedVersion: risk.change.version,
    });
    expect(submitted).toMatchObject({ status: 'PENDING_APPROVAL', riskLevel: 'MEDIUM' });

    // approve_change by two different approvers.
    const first = await ok<ApprovalOut>(a.approver1, 'approve_change', {
      id: created.id,
      comment: 'Plans are sound',
    });
    expect(first).toMatchObject({
      approvalsReceived: 1,
      approvalsRequired: 2,
      changeManagerRequired: false,
      change: { status: 'PENDING_APPROVAL' },
      approval: { id: expect.any(String), decision: 'APPROVED' },
    });
    expect(Object.keys(first.approval).sort()).toEqual(['decision', 'id']);
    expect(first.stillNeeded).not.toBe('');
    const second = await ok<ApprovalOut>(a.approver2, 'approve_change', { id: created.id });
    expect(second).toMatchObject({
      approvalsReceived: 2,
      approvalsRequired: 2,
      stillNeeded: '',
      change: { status: 'APPROVED', allowedTransitions: expect.arrayContaining(['SCHEDULED']) },
      approval: { decision: 'APPROVED' },
    });
    expect((await votes(a.manager, created.id)).map((v) => [v.approver.id, v.decision, v.comment])).toEqual([
      ['abe', 'APPROVED', 'Plans are sound'],
      ['ada', 'APPROVED', null],
    ]);

    // schedule_change (change manager).
    const start = inDays(3, 10);
    const end = inDays(3, 12);
    const scheduled = await ok<{
      change: ChangeSummary;
      conflicts: unknown[];
      freezeWindowsOverridden: string[];
    }>(a.manager, 'schedule_change', { id: created.id, plannedStart: start, plannedEnd: end });
    expect(scheduled).toMatchObject({ conflicts: [], freezeWindowsOverridden: [] });
    expect(scheduled.change).toMatchObject({ status: 'SCHEDULED' });

    // get_change_status (viewer).
    const status = await ok<ChangeOut>(a.viewer, 'get_change_status', { id: created.id });
    expect(status).toMatchObject({
      id: created.id,
      status: 'SCHEDULED',
      riskLevel: 'MEDIUM',
      plannedStart: start,
      plannedEnd: end,
    });
    expect(status.allowedTransitions).toEqual(expect.arrayContaining(['IMPLEMENTING', 'CANCELLED']));

    // emergency_override (admin) on an EMERGENCY change.
    const emergency = await ok<ChangeSummary & { priority: string }>(a.requester, 'create_change_request', {
      input: changeInput({
        title: 'Hotfix the payments gateway',
        type: 'EMERGENCY',
        impact: 'HIGH',
        urgency: 'HIGH',
        affectedServices: ['payments-gateway'],
      }),
    });
    expect(emergency).toMatchObject({ status: 'DRAFT', priority: 'P1' });
    // It answers with the deadline it set; the justification is in the change (and the audit trail).
    const overridden = await ok<ChangeSummary & { approvedAt: string | null; reviewDueAt: string | null }>(
      a.admin,
      'emergency_override',
      {
        id: emergency.id,
        justification: 'Card payments are failing for every customer; the fix cannot wait for the CAB.',
        confirm: true,
      },
    );
    expect(overridden).toMatchObject({ id: emergency.id, status: 'APPROVED' });
    expect(overridden.approvedAt).not.toBeNull();
    expect(await ok<ChangeOut>(a.viewer, 'get_change_status', { id: emergency.id })).toMatchObject({
      type: 'EMERGENCY',
      reviewDueAt: overridden.reviewDueAt,
    });
    // The justification is in the whole record, the change's resource.
    const record = await a.viewer.readResource({ uri: `changeflow://changes/${emergency.id}` });
    expect(JSON.parse((record.contents[0] as { text: string }).text)).toMatchObject({
      emergencyJustification: expect.stringContaining('Card payments are failing'),
    });
    const dueInHours =
      (Date.parse(overridden.reviewDueAt ?? '') - Date.parse(overridden.approvedAt ?? '')) / 3.6e6;
    expect(dueInHours).toBeCloseTo(48, 5);

    // compliance_report (change manager) over the period.
    const to = new Date(Date.now() + 60_000).toISOString();
    const report = await ok<{
      from: string;
      to: string;
      score: number;
      changesReviewed: number;
      checks: { id: string; framework: string; passed: boolean }[];
      findings: { changeId: string | null }[];
    }>(a.manager, 'compliance_report', { from, to });
    expect(report.changesReviewed).toBe(2);
    // Both changes went through their process (two CAB votes; an override whose review is not
    // yet due): nothing to find, every check passes, full marks.
    expect(report.findings).toEqual([]);
    expect(report.score).toBe(100);
    expect(report.checks.length).toBeGreaterThan(0);
    expect(report.checks.filter((ch) => !ch.passed)).toEqual([]);
    expect(report.checks.map((ch) => ch.framework)).toEqual(expect.arrayContaining(['SOX']));

    // metrics_dashboard (viewer).
    const live = await ok<{
      kpis: {
        totalChanges: number;
        activeChanges: number;
        pendingApprovals: number;
        emergencyRatio: number | null;
        changesByStatus: { status: string; count: number }[];
      };
    }>(a.viewer, 'metrics_dashboard', {});
    // The change KPIs only: GraphQL has the system figures.
    expect(Object.keys(live).sort()).toEqual(['generatedAt', 'kpis']);
    const metrics = live.kpis;
    expect(metrics).toMatchObject({ totalChanges: 2, activeChanges: 2, pendingApprovals: 0 });
    expect(metrics.emergencyRatio).toBeCloseTo(0.5);
    // The live snapshot carries the system figures recorded per request, tool calls included.
    const byStatus = Object.fromEntries(metrics.changesByStatus.map((s) => [s.status, s.count]));
    expect(byStatus).toMatchObject({ SCHEDULED: 1, APPROVED: 1 });

    // The override's review, a lifecycle move of transition_change (a change manager's), once only.
    const reviewArgs = {
      action: 'complete_review',
      id: emergency.id,
      notes: 'Root cause fixed; the override was justified.',
    };
    const refused = toolError(await callTool(a.requester, 'transition_change', reviewArgs));
    expect(refused.code).toBe('FORBIDDEN');
    const reviewed = await ok<ChangeSummary & { reviewedAt: string | null }>(
      a.manager,
      'transition_change',
      reviewArgs,
    );
    expect(reviewed).toMatchObject({ id: emergency.id, status: 'APPROVED', reviewedAt: expect.any(String) });
    const again = toolError(await callTool(a.manager, 'transition_change', reviewArgs));
    expect(again.code).toBe('EMERGENCY_NOT_ALLOWED');

    await Promise.all(Object.values(a).map((client) => client.close()));
  });

  it('rejects through reject_change, with its reason; a later approval is refused', async () => {
    const c = await cast('mcp-tools-reject');
    const a = await agents(c);
    const created = await ok<ChangeSummary>(a.requester, 'create_change_request', { input: changeInput() });
    await ok(a.requester, 'transition_change', { action: 'submit', id: created.id });
    const rejected = await ok<ApprovalOut>(a.approver1, 'reject_change', {
      id: created.id,
      reason: 'Overlaps the quarter-end close',
    });
    expect(rejected).toMatchObject({
      change: { status: 'REJECTED', allowedTransitions: [] },
      approval: { decision: 'REJECTED' },
    });
    expect(await votes(a.manager, created.id)).toEqual([
      expect.objectContaining({ approver: { id: 'abe' }, decision: 'REJECTED' }),
    ]);
    // Any rejection is final: a later approval is refused.
    const late = await callTool(a.approver2, 'approve_change', { id: created.id });
    expect(late.isError).toBe(true);
    expect(toolError(late).code).toBe('APPROVAL_NOT_PENDING');
    const status = await ok<ChangeOut>(a.viewer, 'get_change_status', { id: created.id });
    expect(status.status).toBe('REJECTED');
    expect(await votes(a.manager, created.id)).toEqual([
      expect.objectContaining({ decision: 'REJECTED', comment: 'Overlaps the quarter-end close' }),
    ]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['reject_change without a reason', {}, 'reject_change', /reason/],
    ['reject_change with a blank reason', { reason: '   ' }, 'reject_change', /reason/],
    [
      'reject_change with a reason over 2000 characters',
      { reason: 'x'.repeat(2001) },
      'reject_change',
      /reason/,
    ],
    // approve_change has no decision any more: an agent cannot turn it into a rejection.
    ['approve_change with a decision', { decision: 'REJECT', comment: 'no' }, 'approve_change', /decision/],
  ])('refuses %s (VALIDATION_FAILED), recording nothing', async (what, args, tool, names) => {
    const c = await cast(`mcp-tools-${what.replaceAll(' ', '-')}`);
    const a = await agents(c);
    const created = await ok<ChangeSummary>(a.requester, 'create_change_request', { input: changeInput() });
    await ok(a.requester, 'transition_change', { action: 'submit', id: created.id });
    const error = toolError(await callTool(a.approver1, tool, { id: created.id, ...args }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(names);
    const status = await ok<ChangeOut>(a.viewer, 'get_change_status', { id: created.id });
    expect(status).toMatchObject({ status: 'PENDING_APPROVAL' });
    expect(await votes(a.manager, created.id)).toEqual([]);
  });

  it('refuses a requester who also approves rejecting their own change (APPROVAL_SELF_APPROVAL)', async () => {
    const c = await cast('mcp-tools-reject-self');
    const both = (
      await agent(await token({ sub: 'rita', tenant: c.tenant, roles: ['requester', 'approver'] }))
    ).client;
    const created = await ok<ChangeOut>(both, 'create_change_request', { input: changeInput() });
    await ok(both, 'transition_change', { action: 'submit', id: created.id });
    const error = toolError(await callTool(both, 'reject_change', { id: created.id, reason: 'Mine' }));
    expect(error.code).toBe('APPROVAL_SELF_APPROVAL');
    const viewer = (await agent(c.viewer)).client;
    expect(await ok<ChangeOut>(viewer, 'get_change_status', { id: created.id })).toMatchObject({
      status: 'PENDING_APPROVAL',
    });
    expect(await votes(both, created.id)).toEqual([]);
  });

  it('replays reject_change for a retry with the same idempotencyKey, recording one vote', async () => {
    const c = await cast('mcp-tools-reject-idem');
    const a = await agents(c);
    const created = await ok<ChangeOut>(a.requester, 'create_change_request', { input: changeInput() });
    await ok(a.requester, 'transition_change', { action: 'submit', id: created.id });
    const args = { id: created.id, reason: 'Overlaps the release freeze', idempotencyKey: 'reject-retry-1' };
    const first = await ok<ApprovalOut>(a.approver1, 'reject_change', args);
    const retry = await ok<ApprovalOut>(a.approver1, 'reject_change', args);
    expect(retry).toEqual(first);
    // The same key with other arguments is refused rather than replayed.
    const reused = toolError(
      await callTool(a.approver1, 'reject_change', { ...args, reason: 'Another reason' }),
    );
    expect(reused.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await votes(a.manager, created.id)).toHaveLength(1);
  });
});
