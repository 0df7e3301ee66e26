import { beforeAll, describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import {
  CANCEL,
  CHANGE_FIELDS,
  type Change,
  COMPLETE,
  cast,
  changeInState,
  createChange,
  FAIL,
  GET,
  gql,
  gqlError,
  gqlOk,
  inDays,
  OVERRIDE,
  type RestingStatus,
  ROLL_BACK,
  SCHEDULE,
  START,
  SUBMIT,
  schedule,
  submit,
} from '../helpers/changes';

const UPDATE = `mutation($id: ID!, $input: UpdateChangeRequestInput!, $expectedVersion: Int) {
  updateChangeRequest(id: $id, input: $input, expectedVersion: $expectedVersion) { ${CHANGE_FIELDS} } }`;
const AUDIT = `query($id: ID!) { auditLog(targetId: $id) { nodes { seq action actorId targetId } } }`;

type Cast = Awaited<ReturnType<typeof cast>>;

async function read(tok: string, id: string): Promise<Change> {
  return (await gqlOk<{ change: Change }>(GET, { id }, tok)).change;
}

/** The audit actions recorded for one change, oldest first. */
async function auditActions(tok: string, id: string): Promise<string[]> {
  const data = await gqlOk<{ auditLog: { nodes: { action: string }[] } }>(AUDIT, { id }, tok);
  return data.auditLog.nodes.map((n) => n.action).reverse();
}

/** Runs a mutation that returns a ChangeRequest at the top level. */
async function move(query: string, vars: Record<string, unknown>, tok: string): Promise<Change> {
  return Object.values(await gqlOk<Record<string, Change>>(query, vars, tok))[0] as Change;
}

describe('create', () => {
  let c: Cast;
  beforeAll(async () => {
    c = await cast('life-create');
  });

  it('creates a DRAFT at version 1, owned by the caller, not yet assessed', async () => {
    const change = await createChange(c.requester);
    expect(change).toMatchObject({
      title: 'Upgrade the payments database',
      type: 'NORMAL',
      status: 'DRAFT',
      version: 1,
      riskScore: null,
      riskLevel: null,
      riskFactors: null,
      approvals: [],
      allowedTransitions: ['SUBMITTED', 'CANCELLED'],
      requester: { id: 'rita', displayName: 'rita' },
    });
    expect(change.id).toMatch(/^CHG-\d{8}-[A-Z0-9]{6}$/);
    expect(await read(c.viewer, change.id)).toEqual(change);
  });

  it.each([
    ['HIGH', 'HIGH', 'P1'],
    ['HIGH', 'MEDIUM', 'P2'],
    ['HIGH', 'LOW', 'P3'],
    ['MEDIUM', 'HIGH', 'P2'],
    ['MEDIUM', 'MEDIUM', 'P3'],
    ['MEDIUM', 'LOW', 'P4'],
    ['LOW', 'HIGH', 'P3'],
    ['LOW', 'MEDIUM', 'P4'],
    ['LOW', 'LOW', 'P4'],
  ])('impact %s × urgency %s gives priority %s (ITIL matrix)', async (impact, urgency, priority) => {
    const change = await createChange(c.requester, { impact, urgency });
    expect(change.priority).toBe(priority);
  });

  it('records change.created in the audit log', async () => {
    const change = await createChange(c.requester);
    expect(await auditActions(c.viewer, change.id)).toEqual(['change.created']);
  });
});

describe('update', () => {
  let c: Cast;
  beforeAll(async () => {
    c = await cast('life-update');
  });

  it('edits a DRAFT, recomputes the priority and bumps the version', async () => {
    const draft = await createChange(c.requester, { impact: 'LOW', urgency: 'LOW' });
    expect(draft.priority).toBe('P4');
    const updated = await move(
      UPDATE,
      { id: draft.id, input: { title: 'Upgrade payments DB to 16.4', impact: 'HIGH', urgency: 'HIGH' } },
      c.requester,
    );
    expect(updated).toMatchObject({
      title: 'Upgrade payments DB to 16.4',
      priority: 'P1',
      status: 'DRAFT',
      version: 2,
    });
    expect(await read(c.viewer, draft.id)).toMatchObject({
      title: 'Upgrade payments DB to 16.4',
      version: 2,
    });
    expect(await auditActions(c.viewer, draft.id)).toEqual(['change.created', 'change.updated']);
  });

  it('refuses an edit after submission with CHANGE_NOT_EDITABLE and changes nothing', async () => {
    const draft = await createChange(c.requester);
    const pending = await submit(c.requester, draft.id);
    const err = await gqlError(UPDATE, { id: draft.id, input: { title: 'Sneaky edit' } }, c.requester);
    expect(err.code).toBe('CHANGE_NOT_EDITABLE');
    expect(err.message).toContain('PENDING_APPROVAL');
    expect(err.message).toContain('only a DRAFT can be edited');
    const after = await read(c.viewer, draft.id);
    expect(after).toMatchObject({ title: draft.title, status: 'PENDING_APPROVAL', version: pending.version });
  });

  it("refuses another requester's edit with FORBIDDEN", async () => {
    const draft = await createChange(c.requester);
    const rob = await token({ sub: 'rob', tenant: c.tenant, roles: ['requester'] });
    const err = await gqlError(UPDATE, { id: draft.id, input: { title: 'Not my change' } }, rob);
    expect(err.code).toBe('FORBIDDEN');
    expect(await read(c.viewer, draft.id)).toMatchObject({ title: draft.title, version: 1 });
  });
});

describe('submit', () => {
  let c: Cast;
  beforeAll(async () => {
    c = await cast('life-submit');
  });

  it('assesses the risk with its factors and waits for the CAB in PENDING_APPROVAL', async () => {
    const draft = await createChange(c.requester);
    const pending = await submit(c.requester, draft.id);
    expect(pending).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: 2,
      riskScore: 25,
      riskLevel: 'MEDIUM',
      approvedAt: null,
      allowedTransitions: ['APPROVED', 'REJECTED', 'CANCELLED'],
    });
    expect(pending.riskFactors).toEqual([
      { key: 'type', label: 'NORMAL change', contribution: 10 },
      { key: 'impact', label: 'MEDIUM impact', contribution: 10 },
      { key: 'urgency', label: 'MEDIUM urgency', contribution: 5 },
    ]);
    expect(await auditActions(c.viewer, draft.id)).toEqual(['change.created', 'change.submitted']);
  });

  it('explains missing plans and extra services as factors', async () => {
    const draft = await createChange(c.requester, {
      affectedServices: ['api', 'web', 'worker'],
      backoutPlan: null,
      testPlan: '  ',
    });
    const pending = await submit(c.requester, draft.id);
    expect(pending.riskFactors).toEqual(
      expect.arrayContaining([
        { key: 'services', label: '3 affected services', contribution: 10 },
        { key: 'no_backout_plan', label: 'No backout plan', contribution: 10 },
        { key: 'no_test_plan', label: 'No test plan', contribution: 10 },
      ]),
    );
    expect(pending.riskScore).toBe(55);
    expect(pending.riskLevel).toBe('HIGH');
  });

  // Pre-approval of STANDARD changes (created from templates only): test/graphql/standardChanges.test.ts.

  it('pre-approves neither a NORMAL nor an EMERGENCY change with LOW risk', async () => {
    const draft = await createChange(c.requester, { type: 'NORMAL', impact: 'LOW', urgency: 'LOW' });
    const pending = await submit(c.requester, draft.id);
    expect(pending).toMatchObject({ status: 'PENDING_APPROVAL', riskLevel: 'LOW' });
  });
});

describe('the path to COMPLETED', () => {
  it('goes DRAFT → PENDING_APPROVAL → APPROVED → SCHEDULED → IMPLEMENTING → COMPLETED', async () => {
    const c = await cast('life-happy');
    const draft = await createChange(c.requester);
    const pending = await submit(c.requester, draft.id);
    expect(pending.status).toBe('PENDING_APPROVAL');

    const first = await gqlOk<{ approveChange: { change: Change; stillNeeded: string } }>(
      `mutation($id: ID!) { approveChange(id: $id, comment: "Fine") {
         change { status version } stillNeeded } }`,
      { id: draft.id },
      c.approver1,
    );
    expect(first.approveChange).toMatchObject({
      change: { status: 'PENDING_APPROVAL', version: 3 },
      stillNeeded: '1 more approval',
    });
    const second = await gqlOk<{ approveChange: { change: Change } }>(
      `mutation($id: ID!) { approveChange(id: $id) { change { ${CHANGE_FIELDS} } } }`,
      { id: draft.id },
      c.approver2,
    );
    const approved = second.approveChange.change;
    expect(approved).toMatchObject({ status: 'APPROVED', version: 4 });
    expect(approved.approvedAt).not.toBeNull();

    const start = inDays(3, 10);
    const end = inDays(3, 12);
    const scheduled = await schedule(c.manager, draft.id, start, end);
    expect(scheduled.change).toMatchObject({
      status: 'SCHEDULED',
      version: 5,
      plannedStart: start,
      plannedEnd: end,
      allowedTransitions: ['IMPLEMENTING', 'CANCELLED'],
    });
    expect(scheduled.conflicts).toEqual([]);

    const implementing = await move(START, { id: draft.id }, c.manager);
    expect(implementing).toMatchObject({
      status: 'IMPLEMENTING',
      version: 6,
      allowedTransitions: ['COMPLETED', 'FAILED'],
    });
    const completed = await move(COMPLETE, { id: draft.id }, c.manager);
    expect(completed).toMatchObject({ status: 'COMPLETED', version: 7, allowedTransitions: [] });

    const stored = await gqlOk<{ change: Record<string, string | null> }>(
      `query($id: ID!) { change(id: $id) { submittedAt approvedAt implementedAt completedAt } }`,
      { id: draft.id },
      c.viewer,
    );
    const times = stored.change;
    for (const t of Object.values(times)) expect(t).toMatch(/Z$/);
    expect(Date.parse(times.submittedAt ?? '')).toBeLessThanOrEqual(Date.parse(times.approvedAt ?? ''));
    expect(Date.parse(times.approvedAt ?? '')).toBeLessThanOrEqual(Date.parse(times.implementedAt ?? ''));
    expect(Date.parse(times.implementedAt ?? '')).toBeLessThanOrEqual(Date.parse(times.completedAt ?? ''));

    expect(await auditActions(c.viewer, draft.id)).toEqual([
      'change.created',
      'change.submitted',
      'change.approval_recorded',
      'change.approval_recorded',
      'change.scheduled',
      'change.implementation_started',
      'change.completed',
    ]);
  });
});

describe('failure and rollback', () => {
  it('fails an IMPLEMENTING change with its reason, then rolls it back', async () => {
    const c = await cast('life-fail');
    const implementing = await changeInState(c, 'IMPLEMENTING');
    const failed = await move(
      FAIL,
      { id: implementing.id, reason: 'Replica lag never recovered' },
      c.manager,
    );
    expect(failed).toMatchObject({
      status: 'FAILED',
      failureReason: 'Replica lag never recovered',
      version: implementing.version + 1,
      allowedTransitions: ['ROLLED_BACK'],
    });
    const rolledBack = await move(ROLL_BACK, { id: implementing.id }, c.manager);
    expect(rolledBack).toMatchObject({
      status: 'ROLLED_BACK',
      failureReason: 'Replica lag never recovered',
      allowedTransitions: [],
    });
    const actions = await auditActions(c.viewer, implementing.id);
    expect(actions.slice(-2)).toEqual(['change.failed', 'change.rolled_back']);
  });

  it('keeps what went wrong when the rollback comes with notes, and audits the notes', async () => {
    const c = await cast('life-rollback-notes');
    const implementing = await changeInState(c, 'IMPLEMENTING');
    await move(FAIL, { id: implementing.id, reason: 'Disk filled up during the upgrade' }, c.manager);
    const rolledBack = await move(
      ROLL_BACK,
      { id: implementing.id, reason: 'Restored from the pre-upgrade snapshot' },
      c.manager,
    );
    expect(rolledBack).toMatchObject({
      status: 'ROLLED_BACK',
      failureReason: 'Disk filled up during the upgrade',
    });
    const log = await gqlOk<{ auditLog: { nodes: { action: string; after: unknown }[] } }>(
      `query($id: ID!) { auditLog(targetId: $id, first: 2) { nodes { action after } } }`,
      { id: implementing.id },
      c.viewer,
    );
    expect(log.auditLog.nodes).toEqual([
      { action: 'change.rolled_back', after: { status: 'ROLLED_BACK' } },
      { action: 'rollback.notes', after: { notes: 'Restored from the pre-upgrade snapshot' } },
    ]);
  });

  it('refuses failChange without a reason (VALIDATION_FAILED), and the change stays IMPLEMENTING', async () => {
    const c = await cast('life-fail-reason');
    const implementing = await changeInState(c, 'IMPLEMENTING');
    const err = await gqlError(FAIL, { id: implementing.id, reason: '' }, c.manager);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toContain('reason');
    expect(await read(c.viewer, implementing.id)).toMatchObject({
      status: 'IMPLEMENTING',
      version: implementing.version,
    });
  });
});

describe('cancel', () => {
  it.each<RestingStatus>(['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED'])(
    'cancels a change in %s (before IMPLEMENTING)',
    async (status) => {
      const c = await cast(`life-cancel-${status}`);
      const change = await changeInState(c, status);
      const cancelled = await move(CANCEL, { id: change.id, reason: 'Superseded' }, c.manager);
      expect(cancelled).toMatchObject({
        status: 'CANCELLED',
        failureReason: 'Superseded',
        version: change.version + 1,
        allowedTransitions: [],
      });
      expect((await auditActions(c.viewer, change.id)).at(-1)).toBe('change.cancelled');
    },
  );

  it('lets the requester cancel their own change', async () => {
    const c = await cast('life-cancel-own');
    const draft = await createChange(c.requester);
    const cancelled = await move(CANCEL, { id: draft.id }, c.requester);
    expect(cancelled.status).toBe('CANCELLED');
  });

  it.each<RestingStatus>(['IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK'])(
    'refuses to cancel a change in %s (implementation started)',
    async (status) => {
      const c = await cast(`life-nocancel-${status}`);
      const change = await changeInState(c, status);
      const err = await gqlError(CANCEL, { id: change.id }, c.manager);
      expect(err.code).toBe('CHANGE_INVALID_TRANSITION');
      expect(err.message).toContain(`from ${status} to CANCELLED`);
      expect(await read(c.viewer, change.id)).toMatchObject({ status, version: change.version });
    },
  );
});

/**
 * Each lifecycle mutation and the status it moves a change to. `vars` are the extra variables
 * the mutation needs; every call is made by the change manager, who may make them all.
 */
const MUTATIONS = {
  submitChange: { query: SUBMIT, target: 'SUBMITTED', vars: {} },
  scheduleChange: {
    query: SCHEDULE,
    target: 'SCHEDULED',
    vars: { start: inDays(20, 10), end: inDays(20, 12) },
  },
  startImplementation: { query: START, target: 'IMPLEMENTING', vars: {} },
  completeChange: { query: COMPLETE, target: 'COMPLETED', vars: {} },
  failChange: { query: FAIL, target: 'FAILED', vars: { reason: 'Broke' } },
  rollBackChange: { query: ROLL_BACK, target: 'ROLLED_BACK', vars: {} },
  cancelChange: { query: CANCEL, target: 'CANCELLED', vars: {} },
} as const;
type MutationName = keyof typeof MUTATIONS;

/** For each state a change can rest in: the moves out of it, and the mutations that make them. */
const STATES: { status: RestingStatus; allowed: string[]; legal: MutationName[] }[] = [
  { status: 'DRAFT', allowed: ['SUBMITTED', 'CANCELLED'], legal: ['submitChange', 'cancelChange'] },
  { status: 'PENDING_APPROVAL', allowed: ['APPROVED', 'REJECTED', 'CANCELLED'], legal: ['cancelChange'] },
  { status: 'APPROVED', allowed: ['SCHEDULED', 'CANCELLED'], legal: ['scheduleChange', 'cancelChange'] },
  { status: 'REJECTED', allowed: [], legal: [] },
  {
    status: 'SCHEDULED',
    allowed: ['IMPLEMENTING', 'CANCELLED'],
    legal: ['startImplementation', 'cancelChange'],
  },
  { status: 'IMPLEMENTING', allowed: ['COMPLETED', 'FAILED'], legal: ['completeChange', 'failChange'] },
  { status: 'COMPLETED', allowed: [], legal: [] },
  { status: 'FAILED', allowed: ['ROLLED_BACK'], legal: ['rollBackChange'] },
  { status: 'ROLLED_BACK', allowed: [], legal: [] },
  { status: 'CANCELLED', allowed: [], legal: [] },
];

describe.each(STATES)('illegal transitions from $status', ({ status, allowed, legal }) => {
  const illegal = (Object.keys(MUTATIONS) as MutationName[]).filter((m) => !legal.includes(m));
  let c: Cast;
  let change: Change;

  beforeAll(async () => {
    c = await cast(`life-illegal-${status}`);
    change = await changeInState(c, status);
    expect(change.status).toBe(status);
    expect(change.allowedTransitions).toEqual(allowed);
  });

  it.each(illegal)('%s is refused with CHANGE_INVALID_TRANSITION and changes nothing', async (name) => {
    const m = MUTATIONS[name];
    const err = await gqlError(m.query, { id: change.id, ...m.vars }, c.manager);
    expect(err.code).toBe('CHANGE_INVALID_TRANSITION');
    expect(err.status).toBe(409);
    const options = allowed.length > 0 ? allowed.join(', ') : 'none (terminal state)';
    expect(err.message).toBe(
      `Cannot move change from ${status} to ${m.target}; allowed from ${status}: ${options}`,
    );
    expect(err.error.extensions).toMatchObject({ currentStatus: status, targetStatus: m.target, allowed });

    const after = await read(c.viewer, change.id);
    expect(after.status).toBe(status);
    expect(after.version).toBe(change.version);
    expect(after).toEqual(change);
  });

  it('left no audit event for any refused mutation', async () => {
    const data = await gqlOk<{ auditLog: { nodes: { action: string }[] } }>(
      AUDIT,
      { id: change.id },
      c.viewer,
    );
    // One event per successful step only: the refusals above wrote nothing.
    const expected: Record<RestingStatus, number> = {
      DRAFT: 1,
      CANCELLED: 2,
      PENDING_APPROVAL: 2,
      REJECTED: 3,
      APPROVED: 4,
      SCHEDULED: 5,
      IMPLEMENTING: 6,
      COMPLETED: 7,
      FAILED: 7,
      ROLLED_BACK: 9, // …failed, rollback.notes, rolled_back
    };
    expect(data.auditLog.nodes).toHaveLength(expected[status]);
  });
});

describe('emergencyOverride on a change past approval', () => {
  it.each<RestingStatus>(['APPROVED', 'SCHEDULED', 'COMPLETED'])(
    'is refused for an EMERGENCY change in %s with CHANGE_INVALID_TRANSITION',
    async (status) => {
      const c = await cast(`life-override-${status}`);
      const change = await changeInState(c, status, { type: 'EMERGENCY' });
      const err = await gqlError(
        OVERRIDE,
        { id: change.id, justification: 'Production is down and this fixes it now.' },
        c.admin,
      );
      expect(err.code).toBe('CHANGE_INVALID_TRANSITION');
      expect(err.message).toContain(`allowed from ${status}`);
      expect(await read(c.viewer, change.id)).toEqual(change);
    },
  );
});

const LATE_VOTES = {
  approveChange: `mutation($id: ID!) { approveChange(id: $id, comment: "late") { change { id } } }`,
  rejectChange: `mutation($id: ID!) { rejectChange(id: $id, reason: "late") { change { id } } }`,
};

describe('a vote outside PENDING_APPROVAL', () => {
  const statuses: RestingStatus[] = ['DRAFT', 'APPROVED', 'REJECTED', 'SCHEDULED', 'CANCELLED'];
  it.each(statuses.flatMap((s) => (['approveChange', 'rejectChange'] as const).map((m) => [m, s] as const)))(
    '%s is refused in %s with APPROVAL_NOT_PENDING naming the state, and records no vote',
    async (mutation, status) => {
      const c = await cast(`life-vote-${mutation}-${status}`);
      const change = await changeInState(c, status);
      const r = await gql(LATE_VOTES[mutation], { id: change.id }, { token: c.approver3 });
      expect(r.errors?.[0]?.extensions?.code).toBe('APPROVAL_NOT_PENDING');
      expect(r.errors?.[0]?.message).toContain(`Change is ${status}, not PENDING_APPROVAL`);
      expect(await read(c.viewer, change.id)).toEqual(change);
    },
  );
});
