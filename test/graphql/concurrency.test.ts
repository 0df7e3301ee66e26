import { describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import {
  APPROVE,
  CANCEL,
  CHANGE_FIELDS,
  type Change,
  CREATE,
  cast,
  changeInput,
  changeInState,
  changeMutation,
  createChange,
  GET,
  gql,
  gqlError,
  gqlOk,
  inDays,
  REJECT,
  SCHEDULE,
  START,
  SUBMIT,
  submit,
} from '../helpers/changes';

type Cast = Awaited<ReturnType<typeof cast>>;

const UPDATE = `mutation($id: ID!, $input: UpdateChangeRequestInput!, $expectedVersion: Int) {
  updateChangeRequest(id: $id, input: $input, expectedVersion: $expectedVersion) { ${CHANGE_FIELDS} } }`;
const SCHEDULE_V = `mutation($id: ID!, $start: DateTime!, $end: DateTime!, $expectedVersion: Int) {
  scheduleChange(id: $id, plannedStart: $start, plannedEnd: $end, expectedVersion: $expectedVersion) {
    change { id } } }`;
const AUDIT = `query($id: ID, $first: Int) { auditLog(targetId: $id, first: $first) {
  nodes { seq action targetId after } } }`;
const ASSESS = 'mutation($id: ID!) { assessRisk(id: $id) { score } }';
const VERIFY = '{ verifyAuditChain { valid checked brokenAtSeq reason } }';

async function read(tok: string, id: string): Promise<Change> {
  return (await gqlOk<{ change: Change }>(GET, { id }, tok)).change;
}

interface AuditNode {
  seq: number;
  action: string;
  targetId: string;
  after: Record<string, unknown> | null;
}

async function audit(tok: string, id?: string): Promise<AuditNode[]> {
  const data = await gqlOk<{ auditLog: { nodes: AuditNode[] } }>(AUDIT, { id, first: 200 }, tok);
  return data.auditLog.nodes;
}

const codes = (results: { errors?: { extensions?: { code?: unknown } }[] }[]) =>
  results.map((r) => (r.errors?.length ? String(r.errors[0]?.extensions?.code) : 'OK'));

describe('a stale expectedVersion', () => {
  it('gets CHANGE_VERSION_CONFLICT naming both versions, and nothing is written', async () => {
    const c = await cast('cc-stale');
    const draft = await createChange(c.requester);
    const first = await gqlOk<{ updateChangeRequest: Change }>(
      UPDATE,
      { id: draft.id, input: { title: 'First edit wins' }, expectedVersion: 1 },
      c.requester,
    );
    expect(first.updateChangeRequest.version).toBe(2);

    const stale = await gqlError(
      UPDATE,
      { id: draft.id, input: { title: 'Edit from a stale form', impact: 'HIGH' }, expectedVersion: 1 },
      c.requester,
    );
    expect(stale.code).toBe('CHANGE_VERSION_CONFLICT');
    expect(stale.status).toBe(409);
    expect(stale.message).toContain('version 2, not 1');
    expect(stale.error.extensions).toMatchObject({ currentVersion: 2, expectedVersion: 1 });

    expect(await read(c.viewer, draft.id)).toMatchObject({
      title: 'First edit wins',
      impact: 'MEDIUM',
      version: 2,
    });
    expect((await audit(c.viewer, draft.id)).map((e) => e.action)).toEqual([
      'change.updated',
      'change.created',
    ]);
  });

  /** Each case moves the change on once after it was read, so the version the caller holds is stale. */
  it.each([
    {
      name: 'submitChange',
      query: changeMutation('submitChange', { expectedVersion: 'Int' }),
      status: 'DRAFT',
      moveOn: (c: Cast, id: string) =>
        gqlOk(UPDATE, { id, input: { title: 'Retitled meanwhile' } }, c.requester),
      vars: {},
    },
    {
      name: 'cancelChange',
      query: changeMutation('cancelChange', { expectedVersion: 'Int' }),
      status: 'PENDING_APPROVAL',
      moveOn: (c: Cast, id: string) => gqlOk(APPROVE, { id }, c.approver1),
      vars: {},
    },
    {
      name: 'scheduleChange',
      query: SCHEDULE_V,
      status: 'APPROVED',
      moveOn: (c: Cast, id: string) => gqlOk(ASSESS, { id }, c.manager),
      vars: { start: inDays(2, 10), end: inDays(2, 12) },
    },
  ] as const)('guards $name too', async ({ name, query, status, moveOn, vars }) => {
    const c = await cast(`cc-stale-${name}`);
    const stale = await changeInState(c, status);
    await moveOn(c, stale.id);
    const current = await read(c.viewer, stale.id);
    expect(current.version).toBe(stale.version + 1);

    const err = await gqlError(query, { id: stale.id, expectedVersion: stale.version, ...vars }, c.manager);
    expect(err.code).toBe('CHANGE_VERSION_CONFLICT');
    expect(await read(c.viewer, stale.id)).toEqual(current);
  });

  it('guards approveChange: a vote on a version that moved on is not recorded', async () => {
    const c = await cast('cc-stale-vote');
    const pending = await changeInState(c, 'PENDING_APPROVAL');
    await gqlOk(APPROVE, { id: pending.id, expectedVersion: pending.version }, c.approver1);
    const err = await gqlError(APPROVE, { id: pending.id, expectedVersion: pending.version }, c.approver2);
    expect(err.code).toBe('CHANGE_VERSION_CONFLICT');
    const rejection = await gqlError(
      REJECT,
      { id: pending.id, reason: 'Read an old version', expectedVersion: pending.version },
      c.approver2,
    );
    expect(rejection.code).toBe('CHANGE_VERSION_CONFLICT');
    const after = await read(c.viewer, pending.id);
    expect(after.approvals.map((a) => a.approver.id)).toEqual(['abe']);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version + 1 });
  });
});

describe('concurrent mutations', () => {
  it('10 parallel updates with the same expectedVersion: exactly one wins, the rest conflict', async () => {
    const c = await cast('cc-parallel-updates');
    const draft = await createChange(c.requester);
    const titles = Array.from({ length: 10 }, (_, i) => `Parallel edit #${i + 1}`);
    const results = await Promise.all(
      titles.map((title) =>
        gql<{ updateChangeRequest: Change }>(
          UPDATE,
          { id: draft.id, input: { title }, expectedVersion: 1 },
          { token: c.requester },
        ),
      ),
    );
    const outcome = codes(results);
    expect(outcome.filter((o) => o === 'OK')).toHaveLength(1);
    expect(outcome.filter((o) => o === 'CHANGE_VERSION_CONFLICT')).toHaveLength(9);

    const winner = titles[outcome.indexOf('OK')];
    const after = await read(c.viewer, draft.id);
    expect(after).toMatchObject({ title: winner, version: 2 });

    const events = await audit(c.viewer, draft.id);
    expect(events.map((e) => e.action)).toEqual(['change.updated', 'change.created']);
    expect(events[0]?.after).toEqual({ title: winner });
  });

  it('parallel submits of one draft: exactly one submission', async () => {
    const c = await cast('cc-parallel-submits');
    const draft = await createChange(c.requester);
    const results = await Promise.all(
      Array.from({ length: 5 }, () => gql(SUBMIT, { id: draft.id }, { token: c.requester })),
    );
    const outcome = codes(results);
    expect(outcome.filter((o) => o === 'OK')).toHaveLength(1);
    // The losers re-read the change, find it submitted and are told so.
    expect(outcome.filter((o) => o === 'CHANGE_INVALID_TRANSITION')).toHaveLength(4);
    expect(await read(c.viewer, draft.id)).toMatchObject({ status: 'PENDING_APPROVAL', version: 2 });
    expect((await audit(c.viewer, draft.id)).map((e) => e.action)).toEqual([
      'change.submitted',
      'change.created',
    ]);
  });

  it('parallel approvals by different approvers (no expectedVersion) all land: no lost vote', async () => {
    const c = await cast('cc-parallel-votes');
    // HIGH risk: exactly three approvals approve it.
    const draft = await createChange(c.requester, {
      impact: 'HIGH',
      urgency: 'HIGH',
      affectedServices: ['api', 'web', 'worker'],
    });
    const pending = await submit(c.requester, draft.id);
    expect(pending.riskLevel).toBe('HIGH');
    const voters = [c.approver1, c.approver2, c.approver3];
    const results = await Promise.all(
      voters.map((tok) => gql(APPROVE, { id: draft.id, comment: 'ok' }, { token: tok })),
    );
    expect(codes(results)).toEqual(['OK', 'OK', 'OK']);

    const after = await read(c.viewer, draft.id);
    expect(after.status).toBe('APPROVED');
    expect(after.version).toBe(pending.version + 3);
    expect(after.approvals.map((a) => a.approver.id).sort()).toEqual(['abe', 'ada', 'ali']);
    const actions = (await audit(c.viewer, draft.id)).map((e) => e.action);
    expect(actions.filter((a) => a === 'change.approval_recorded')).toHaveLength(3);
  });

  it('8 parallel votes on a VERY_HIGH change (no change manager among them) all land', async () => {
    const tenant = 'cc-parallel-votes-8';
    const c = await cast(tenant);
    const draft = await createChange(c.requester, {
      impact: 'HIGH',
      urgency: 'HIGH',
      affectedServices: ['api', 'web', 'worker', 'db'],
      backoutPlan: null,
      testPlan: null,
    });
    const pending = await submit(c.requester, draft.id);
    expect(pending.riskLevel).toBe('VERY_HIGH');
    const names = Array.from({ length: 8 }, (_, i) => `cab-${i + 1}`);
    const tokens = await Promise.all(names.map((sub) => token({ sub, tenant, roles: ['approver'] })));
    const results = await Promise.all(tokens.map((tok) => gql(APPROVE, { id: draft.id }, { token: tok })));
    expect(codes(results)).toEqual(names.map(() => 'OK'));

    const after = await read(c.viewer, draft.id);
    // Still waiting for a change manager, with every vote counted.
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version + 8 });
    expect(after.approvals.map((a) => a.approver.id).sort()).toEqual([...names].sort());
  });

  it('parallel duplicate votes by one approver: exactly one is recorded', async () => {
    const c = await cast('cc-parallel-duplicate');
    const pending = await changeInState(c, 'PENDING_APPROVAL'); // MEDIUM: needs 2
    const results = await Promise.all(
      Array.from({ length: 4 }, () => gql(APPROVE, { id: pending.id }, { token: c.approver1 })),
    );
    const outcome = codes(results);
    expect(outcome.filter((o) => o === 'OK')).toHaveLength(1);
    expect(outcome.filter((o) => o === 'APPROVAL_DUPLICATE_VOTE')).toHaveLength(3);
    const after = await read(c.viewer, pending.id);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version + 1 });
    expect(after.approvals.map((a) => a.approver.id)).toEqual(['abe']);
  });

  it('cancel racing start on a SCHEDULED change: exactly one wins, the other is told why', async () => {
    const c = await cast('cc-cancel-vs-start');
    const scheduled = await changeInState(c, 'SCHEDULED');
    const [cancel, start] = await Promise.all([
      gql<{ cancelChange: Change }>(CANCEL, { id: scheduled.id }, { token: c.manager }),
      gql<{ startImplementation: Change }>(START, { id: scheduled.id }, { token: c.manager }),
    ]);
    const outcome = codes([cancel, start]).sort();
    expect(outcome).toEqual(['CHANGE_INVALID_TRANSITION', 'OK']);
    const after = await read(c.viewer, scheduled.id);
    expect(after.version).toBe(scheduled.version + 1);
    expect(after.status).toBe(cancel.errors ? 'IMPLEMENTING' : 'CANCELLED');
    const actions = (await audit(c.viewer, scheduled.id)).map((e) => e.action);
    expect(
      actions.filter((a) => a === 'change.cancelled' || a === 'change.implementation_started'),
    ).toHaveLength(1);
  });

  it('two overlapping changes scheduled at once on a shared service: the conflict is reported', async () => {
    const c = await cast('cc-parallel-schedule');
    const [a, b] = await Promise.all([changeInState(c, 'APPROVED'), changeInState(c, 'APPROVED')]);
    const results = await Promise.all(
      [a, b].map((x) =>
        gqlOk<{ scheduleChange: { conflicts: { changeId: string }[] } }>(
          SCHEDULE,
          { id: x.id, start: inDays(4, 10), end: inDays(4, 12) },
          c.manager,
        ),
      ),
    );
    // Writes to one tenant are serialised by its audit chain, so whichever lands second sees the first.
    const reported = results.flatMap((r) => r.scheduleChange.conflicts.map((x) => x.changeId));
    expect(reported).toHaveLength(1);
    expect([a.id, b.id]).toContain(reported[0]);
  });

  it('parallel creates in one tenant all land, with an audit chain that verifies', async () => {
    const c = await cast('cc-parallel-creates');
    const titles = Array.from({ length: 10 }, (_, i) => `Parallel change #${i + 1}`);
    const results = await Promise.all(
      titles.map((title) =>
        gql<{ createChangeRequest: Change }>(
          CREATE,
          { input: changeInput({ title }) },
          { token: c.requester },
        ),
      ),
    );
    expect(codes(results)).toEqual(titles.map(() => 'OK'));
    const ids = results.map((r) => r.data?.createChangeRequest.id);
    expect(new Set(ids).size).toBe(10);

    const list = await gqlOk<{ changes: { totalCount: number; nodes: { title: string }[] } }>(
      '{ changes(first: 50) { totalCount nodes { title } } }',
      {},
      c.viewer,
    );
    expect(list.changes.totalCount).toBe(10);
    expect(list.changes.nodes.map((n) => n.title).sort()).toEqual([...titles].sort());

    const events = await audit(c.viewer);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 10 - i));
    expect(events.map((e) => e.targetId).sort()).toEqual([...ids].sort());

    const verified = await gqlOk<{ verifyAuditChain: unknown }>(VERIFY, {}, c.manager);
    expect(verified.verifyAuditChain).toEqual({ valid: true, checked: 10, brokenAtSeq: null, reason: null });
  });

  it('a burst of mixed writes across changes keeps one unbroken chain', async () => {
    const c = await cast('cc-mixed');
    const drafts = await Promise.all(Array.from({ length: 4 }, () => createChange(c.requester)));
    const results = await Promise.all([
      ...drafts.map((d) => gql(SUBMIT, { id: d.id }, { token: c.requester })),
      ...Array.from({ length: 4 }, (_, i) =>
        gql(CREATE, { input: changeInput({ title: `Burst ${i}` }) }, { token: c.requester }),
      ),
    ]);
    expect(codes(results)).toEqual(results.map(() => 'OK'));
    const verified = await gqlOk<{ verifyAuditChain: { valid: boolean; checked: number } }>(
      VERIFY,
      {},
      c.manager,
    );
    expect(verified.verifyAuditChain).toMatchObject({ valid: true, checked: 12 });
  });
});
