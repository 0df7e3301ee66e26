import { describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import {
  APPROVE,
  type Change,
  cast,
  createChange,
  GET,
  gql,
  gqlError,
  gqlOk,
  REJECT,
  submit,
} from '../helpers/changes';

type Cast = Awaited<ReturnType<typeof cast>>;
type Voter = 'approver1' | 'approver2' | 'approver3' | 'manager' | 'admin';

interface ApprovalResult {
  change: Change;
  approvalsReceived: number;
  approvalsRequired: number;
  changeManagerRequired: boolean;
  stillNeeded: string;
}

/** approveChange with an optional comment, or rejectChange with `text` as the reason. */
async function vote(
  tok: string,
  id: string,
  decision: 'APPROVE' | 'REJECT' = 'APPROVE',
  text: string | null = 'Reviewed',
): Promise<ApprovalResult> {
  if (decision === 'REJECT') {
    return (await gqlOk<{ rejectChange: ApprovalResult }>(REJECT, { id, reason: text }, tok)).rejectChange;
  }
  return (await gqlOk<{ approveChange: ApprovalResult }>(APPROVE, { id, comment: text }, tok)).approveChange;
}

/** Both ways to vote, as [operation, variables] for a change id: every rule applies to both. */
type VoteOp = (id: string) => [string, Record<string, unknown>];
const BOTH: [string, VoteOp][] = [
  ['approveChange', (id) => [APPROVE, { id, comment: 'Mine is fine' }]],
  ['rejectChange', (id) => [REJECT, { id, reason: 'Not this week' }]],
];

async function read(tok: string, id: string): Promise<Change> {
  return (await gqlOk<{ change: Change }>(GET, { id }, tok)).change;
}

/** A submitted change waiting for the CAB. */
async function pendingChange(c: Cast, overrides: Record<string, unknown> = {}): Promise<Change> {
  const draft = await createChange(c.requester, overrides);
  const pending = await submit(c.requester, draft.id);
  expect(pending.status).toBe('PENDING_APPROVAL');
  return pending;
}

describe('segregation of duties', () => {
  it('refuses a requester who also holds the approver role voting on their own change', async () => {
    const tenant = 'apr-self';
    const c = await cast(tenant);
    const both = await token({ sub: 'rita', tenant, roles: ['requester', 'approver'], name: 'rita' });
    const draft = await createChange(both);
    const pending = await submit(both, draft.id);

    for (const [, op] of BOTH) {
      const err = await gqlError(...op(pending.id), both);
      expect(err.code).toBe('APPROVAL_SELF_APPROVAL');
      expect(err.status).toBe(403);
      expect(err.message).toContain('segregation of duties');
    }
    const after = await read(c.viewer, pending.id);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version, approvals: [] });
  });

  it('refuses a change manager who raised the change approving or rejecting it', async () => {
    const c = await cast('apr-self-manager');
    const draft = await createChange(c.manager);
    const pending = await submit(c.manager, draft.id);
    for (const [, op] of BOTH)
      expect((await gqlError(...op(pending.id), c.manager)).code).toBe('APPROVAL_SELF_APPROVAL');
    expect((await read(c.viewer, pending.id)).approvals).toEqual([]);
  });
});

describe('who may vote', () => {
  it.each(
    (['viewer', 'requester'] as const).flatMap((role) => BOTH.map(([name, op]) => [role, name, op] as const)),
  )('a %s cannot use %s (FORBIDDEN)', async (role, name, op) => {
    const tenant = `apr-forbidden-${role}-${name}`;
    const c = await cast(tenant);
    const pending = await pendingChange(c);
    // Not the change's requester, so only the missing role can be the reason.
    const other = await token({ sub: 'rob', tenant, roles: [role] });
    const err = await gqlError(...op(pending.id), other);
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toContain(role);
    expect(err.message).toContain(name);
    expect(await read(c.viewer, pending.id)).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: pending.version,
      approvals: [],
    });
  });

  it.each(BOTH)('cannot %s another tenant’s change (CHANGE_NOT_FOUND)', async (name, op) => {
    const c = await cast(`apr-tenant-a-${name}`);
    const other = await cast(`apr-tenant-b-${name}`);
    const pending = await pendingChange(c);
    const err = await gqlError(...op(pending.id), other.approver1);
    expect(err.code).toBe('CHANGE_NOT_FOUND');
    expect(err.message).not.toContain(pending.title);
    expect(await read(c.viewer, pending.id)).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: pending.version,
      approvals: [],
    });
  });
});

describe('one vote per approver', () => {
  it('refuses a second vote from the same approver with APPROVAL_DUPLICATE_VOTE', async () => {
    const c = await cast('apr-duplicate');
    const pending = await pendingChange(c); // MEDIUM: needs 2
    const first = await vote(c.approver1, pending.id);
    expect(first.change.status).toBe('PENDING_APPROVAL');

    const again = await gqlError(APPROVE, { id: pending.id }, c.approver1);
    expect(again.code).toBe('APPROVAL_DUPLICATE_VOTE');
    expect(again.message).toContain('abe');
    const flip = await gqlError(REJECT, { id: pending.id, reason: 'Changed my mind' }, c.approver1);
    expect(flip.code).toBe('APPROVAL_DUPLICATE_VOTE');

    const after = await read(c.viewer, pending.id);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: first.change.version });
    expect(after.approvals).toHaveLength(1);
  });
});

/**
 * Inputs that land on each risk level (weights in src/domain/risk.ts): type NORMAL 10, impact
 * LOW 0 / MEDIUM 10 / HIGH 20, urgency LOW 0 / MEDIUM 5 / HIGH 10, 5 per extra service (max 15),
 * 10 each for a missing backout or test plan.
 */
const LEVELS = [
  {
    level: 'LOW',
    score: 10,
    inputs: { impact: 'LOW', urgency: 'LOW' },
    votes: [{ voter: 'approver1', status: 'APPROVED', received: 1, stillNeeded: '' }],
    required: 1,
  },
  {
    level: 'MEDIUM',
    score: 25,
    inputs: {},
    votes: [
      { voter: 'approver1', status: 'PENDING_APPROVAL', received: 1, stillNeeded: '1 more approval' },
      { voter: 'approver2', status: 'APPROVED', received: 2, stillNeeded: '' },
    ],
    required: 2,
  },
  {
    level: 'HIGH',
    score: 50,
    inputs: { impact: 'HIGH', urgency: 'HIGH', affectedServices: ['api', 'web', 'worker'] },
    votes: [
      { voter: 'approver1', status: 'PENDING_APPROVAL', received: 1, stillNeeded: '2 more approvals' },
      { voter: 'approver2', status: 'PENDING_APPROVAL', received: 2, stillNeeded: '1 more approval' },
      { voter: 'approver3', status: 'APPROVED', received: 3, stillNeeded: '' },
    ],
    required: 3,
  },
  {
    level: 'VERY_HIGH',
    score: 75,
    inputs: {
      impact: 'HIGH',
      urgency: 'HIGH',
      affectedServices: ['api', 'web', 'worker', 'db'],
      backoutPlan: null,
      testPlan: null,
    },
    votes: [
      {
        voter: 'approver1',
        status: 'PENDING_APPROVAL',
        received: 1,
        stillNeeded: '2 more approvals, including one from a change manager',
      },
      {
        voter: 'approver2',
        status: 'PENDING_APPROVAL',
        received: 2,
        stillNeeded: '1 more approval, including one from a change manager',
      },
      {
        voter: 'approver3',
        status: 'PENDING_APPROVAL',
        received: 3,
        stillNeeded: 'an approval from a change manager',
      },
      { voter: 'manager', status: 'APPROVED', received: 4, stillNeeded: '' },
    ],
    required: 3,
  },
] as const;

describe('quorum by risk level', () => {
  it.each(LEVELS)(
    '$level risk needs $required approval(s)',
    async ({ level, score, inputs, votes, required }) => {
      const c = await cast(`apr-quorum-${level}`);
      const pending = await pendingChange(c, inputs);
      expect(pending).toMatchObject({ riskLevel: level, riskScore: score });

      for (const step of votes) {
        const result = await vote(c[step.voter as Voter], pending.id);
        expect(result).toMatchObject({
          change: { status: step.status },
          approvalsReceived: step.received,
          approvalsRequired: required,
          changeManagerRequired: level === 'VERY_HIGH',
          stillNeeded: step.stillNeeded,
        });
      }
      const after = await read(c.viewer, pending.id);
      expect(after.status).toBe('APPROVED');
      expect(after.approvedAt).not.toBeNull();
      expect(after.approvals).toHaveLength(votes.length);
    },
  );

  it.each<Voter>(['manager', 'admin'])(
    'VERY_HIGH risk is approved by 3 votes when one is from a %s',
    async (voter) => {
      const c = await cast(`apr-very-high-${voter}`);
      const pending = await pendingChange(c, LEVELS[3].inputs);
      expect(pending.riskLevel).toBe('VERY_HIGH');
      await vote(c.approver1, pending.id);
      const second = await vote(c[voter], pending.id);
      expect(second).toMatchObject({
        change: { status: 'PENDING_APPROVAL' },
        stillNeeded: '1 more approval',
      });
      const third = await vote(c.approver2, pending.id);
      expect(third).toMatchObject({ change: { status: 'APPROVED' }, approvalsReceived: 3, stillNeeded: '' });
    },
  );

  it('takes no vote once the quorum is reached (APPROVAL_NOT_PENDING)', async () => {
    const c = await cast('apr-after-quorum');
    const pending = await pendingChange(c, LEVELS[0].inputs);
    const approved = await vote(c.approver1, pending.id);
    expect(approved.change.status).toBe('APPROVED');
    const late = await gqlError(APPROVE, { id: pending.id }, c.approver2);
    expect(late.code).toBe('APPROVAL_NOT_PENDING');
    expect((await read(c.viewer, pending.id)).approvals).toHaveLength(1);
  });
});

describe('rejection', () => {
  it('any rejection rejects, even after approvals', async () => {
    const c = await cast('apr-reject-late');
    const pending = await pendingChange(c, LEVELS[2].inputs); // HIGH: needs 3
    await vote(c.approver1, pending.id);
    await vote(c.approver2, pending.id);
    const rejected = await vote(c.approver3, pending.id, 'REJECT', 'Not during the sales campaign');
    expect(rejected.change).toMatchObject({ status: 'REJECTED', approvedAt: null, allowedTransitions: [] });

    const late = await gqlError(APPROVE, { id: pending.id }, c.manager);
    expect(late.code).toBe('APPROVAL_NOT_PENDING');
    expect((await read(c.viewer, pending.id)).status).toBe('REJECTED');
  });

  it('a single rejection as the first vote rejects at once', async () => {
    const c = await cast('apr-reject-first');
    const pending = await pendingChange(c, LEVELS[3].inputs); // VERY_HIGH
    const rejected = await vote(c.approver1, pending.id, 'REJECT', 'No backout plan');
    expect(rejected).toMatchObject({ change: { status: 'REJECTED' }, approvalsReceived: 0 });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no reason', {}, 'reason'],
    ['a null reason', { reason: null }, 'reason'],
    ['an empty reason', { reason: '' }, 'reason'],
    ['a blank reason', { reason: ' \t\n ' }, 'reason'],
    ['a reason over 2000 characters', { reason: 'x'.repeat(2001) }, 'reason'],
  ])(
    'rejecting with %s is VALIDATION_FAILED naming `reason`, and records nothing',
    async (what, vars, field) => {
      const c = await cast(`apr-reject-noreason-${what.replaceAll(' ', '-')}`);
      const pending = await pendingChange(c);
      const err = await gqlError(REJECT, { id: pending.id, ...vars }, c.approver1);
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.status).toBe(400);
      expect(err.message).toContain(field);
      const after = await read(c.viewer, pending.id);
      expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version, approvals: [] });
    },
  );

  it('a rejectChange without its reason argument does not validate (GRAPHQL_VALIDATION_FAILED)', async () => {
    const c = await cast('apr-reject-noarg');
    const pending = await pendingChange(c);
    const err = await gqlError(
      'mutation($id: ID!) { rejectChange(id: $id) { change { id } } }',
      { id: pending.id },
      c.approver1,
    );
    expect(err.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(err.message).toContain('reason');
    expect((await read(c.viewer, pending.id)).approvals).toEqual([]);
  });

  it('approveChange no longer takes a decision: it cannot be made to reject', async () => {
    const c = await cast('apr-no-decision');
    const pending = await pendingChange(c);
    const err = await gqlError(
      'mutation($id: ID!) { approveChange(id: $id, decision: REJECT, comment: "no") { change { id } } }',
      { id: pending.id },
      c.approver1,
    );
    expect(err.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(err.message).toContain('decision');
    // A stray `decision` variable is ignored, as GraphQL ignores every undeclared variable: it approves.
    const approved = await gqlOk<{ approveChange: ApprovalResult }>(
      APPROVE,
      { id: pending.id, decision: 'REJECT' },
      c.approver1,
    );
    expect(approved.approveChange).toMatchObject({
      approvalsReceived: 1,
      change: { status: 'PENDING_APPROVAL' },
    });
  });

  it('records the reason as the vote’s comment and audits the rejection', async () => {
    const c = await cast('apr-reject-audited');
    const pending = await pendingChange(c);
    const data = await gqlOk<{
      rejectChange: { approval: { id: string; decision: string; comment: string; approver: { id: string } } };
    }>(
      `mutation($id: ID!) { rejectChange(id: $id, reason: "No rollback tested") {
         approval { id decision comment approver { id } } } }`,
      { id: pending.id },
      c.approver2,
    );
    expect(data.rejectChange.approval).toMatchObject({
      decision: 'REJECTED',
      comment: 'No rollback tested',
      approver: { id: 'ada' },
    });
    const audit = await gqlOk<{ auditLog: { nodes: { action: string; actorId: string }[] } }>(
      `query($id: ID!) { auditLog(targetId: $id, first: 1) { nodes { action actorId } } }`,
      { id: pending.id },
      c.viewer,
    );
    expect(audit.auditLog.nodes).toEqual([{ action: 'change.rejection_recorded', actorId: 'ada' }]);
  });
});

describe('a vote after a decision was recorded', () => {
  it('refuses the same person rejecting after approving, and anyone once the change is decided', async () => {
    const c = await cast('apr-reject-after');
    const pending = await pendingChange(c, LEVELS[0].inputs); // LOW: one approval decides
    const approved = await vote(c.approver1, pending.id);
    expect(approved.change.status).toBe('APPROVED');
    // The approver's own second vote, and another approver's late rejection.
    expect((await gqlError(REJECT, { id: pending.id, reason: 'On second thoughts' }, c.approver1)).code).toBe(
      'APPROVAL_NOT_PENDING',
    );
    const late = await gqlError(REJECT, { id: pending.id, reason: 'Too late' }, c.approver2);
    expect(late.code).toBe('APPROVAL_NOT_PENDING');
    expect(late.message).toContain('APPROVED');
    expect(await read(c.viewer, pending.id)).toMatchObject({
      status: 'APPROVED',
      version: approved.change.version,
    });
  });

  it('refuses a second rejection of a REJECTED change, by the same person or another', async () => {
    const c = await cast('apr-reject-twice');
    const pending = await pendingChange(c);
    const rejected = await vote(c.approver1, pending.id, 'REJECT', 'No backout plan');
    for (const tok of [c.approver1, c.approver2]) {
      expect((await gqlError(REJECT, { id: pending.id, reason: 'Again' }, tok)).code).toBe(
        'APPROVAL_NOT_PENDING',
      );
    }
    const after = await read(c.viewer, pending.id);
    expect(after).toMatchObject({ status: 'REJECTED', version: rejected.change.version });
    expect(after.approvals).toHaveLength(1);
  });
});

describe('Idempotency-Key on a vote', () => {
  const post = (tok: string, query: string, variables: Record<string, unknown>, key: string) =>
    gql<Record<string, { change: Change }>>(query, variables, {
      token: tok,
      headers: { 'idempotency-key': key },
    });

  it('replays a rejection for a retry with the same key, recording one vote', async () => {
    const c = await cast('apr-reject-idem');
    const pending = await pendingChange(c);
    const vars = { id: pending.id, reason: 'Overlaps the release freeze' };
    const first = await post(c.approver1, REJECT, vars, 'reject-1');
    expect(first.errors).toBeUndefined();
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const retry = await post(c.approver1, REJECT, vars, 'reject-1');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.data).toEqual(first.data);
    // The same key for another request (an approval) is refused, not replayed as the rejection.
    const other = await post(c.approver1, APPROVE, { id: pending.id }, 'reject-1');
    expect(other.errors?.[0]?.extensions?.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const after = await read(c.viewer, pending.id);
    expect(after.status).toBe('REJECTED');
    expect(after.approvals).toHaveLength(1);
    const audit = await gqlOk<{ auditLog: { nodes: { action: string }[] } }>(
      `query($id: ID!) { auditLog(targetId: $id) { nodes { action } } }`,
      { id: pending.id },
      c.viewer,
    );
    expect(audit.auditLog.nodes.filter((n) => n.action === 'change.rejection_recorded')).toHaveLength(1);
  });

  it('does not let another person replay an approver’s key', async () => {
    const c = await cast('apr-reject-idem-other');
    const pending = await pendingChange(c, LEVELS[2].inputs); // HIGH: needs 3
    const vars = { id: pending.id, reason: 'Not during the sales campaign' };
    expect((await post(c.approver1, APPROVE, { id: pending.id }, 'shared')).errors).toBeUndefined();
    // Keys are per caller: the same key from another approver is their own request.
    const theirs = await post(c.approver2, REJECT, vars, 'shared');
    expect(theirs.headers.get('idempotent-replayed')).toBeNull();
    expect(theirs.data?.rejectChange?.change.status).toBe('REJECTED');
  });
});

describe('votes on the change', () => {
  it('lists every vote in order with approver, decision, comment and roles', async () => {
    const c = await cast('apr-listed');
    const pending = await pendingChange(c, LEVELS[2].inputs); // HIGH
    await vote(c.approver1, pending.id, 'APPROVE', 'Plan is solid');
    await vote(c.manager, pending.id, 'APPROVE', null);
    await vote(c.approver2, pending.id, 'REJECT', 'Clashes with the release');

    const after = await read(c.viewer, pending.id);
    expect(after.approvals).toEqual([
      {
        approver: { id: 'abe' },
        decision: 'APPROVED',
        comment: 'Plan is solid',
        approverRoles: ['approver'],
      },
      { approver: { id: 'max' }, decision: 'APPROVED', comment: null, approverRoles: ['change_manager'] },
      {
        approver: { id: 'ada' },
        decision: 'REJECTED',
        comment: 'Clashes with the release',
        approverRoles: ['approver'],
      },
    ]);
  });

  it('returns the recorded vote from approveChange and audits it', async () => {
    const c = await cast('apr-audited');
    const pending = await pendingChange(c);
    const data = await gqlOk<{
      approveChange: {
        approval: { id: string; changeId: string; decision: string; approver: { id: string } };
      };
    }>(
      `mutation($id: ID!) { approveChange(id: $id, comment: "ok") {
         approval { id changeId decision approver { id } } } }`,
      { id: pending.id },
      c.approver1,
    );
    const { approval } = data.approveChange;
    expect(approval).toMatchObject({ changeId: pending.id, decision: 'APPROVED', approver: { id: 'abe' } });
    const audit = await gqlOk<{ auditLog: { nodes: { action: string; actorId: string }[] } }>(
      `query($id: ID!) { auditLog(targetId: $id) { nodes { action actorId } } }`,
      { id: approval.id },
      c.viewer,
    );
    expect(audit.auditLog.nodes).toEqual([{ action: 'approval.created', actorId: 'abe' }]);
  });
});
