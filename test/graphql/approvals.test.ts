import { describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import { APPROVE, type Change, cast, createChange, GET, gqlError, gqlOk, submit } from '../helpers/changes';

type Cast = Awaited<ReturnType<typeof cast>>;
type Voter = 'approver1' | 'approver2' | 'approver3' | 'manager' | 'admin';

interface ApprovalResult {
  change: Change;
  approvalsReceived: number;
  approvalsRequired: number;
  changeManagerRequired: boolean;
  stillNeeded: string;
}

async function vote(
  tok: string,
  id: string,
  decision: 'APPROVE' | 'REJECT' = 'APPROVE',
  comment: string | null = 'Reviewed',
): Promise<ApprovalResult> {
  return (await gqlOk<{ approveChange: ApprovalResult }>(APPROVE, { id, decision, comment }, tok))
    .approveChange;
}

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

    for (const decision of ['APPROVE', 'REJECT'] as const) {
      const err = await gqlError(APPROVE, { id: pending.id, decision, comment: 'Mine is fine' }, both);
      expect(err.code).toBe('APPROVAL_SELF_APPROVAL');
      expect(err.status).toBe(403);
      expect(err.message).toContain('segregation of duties');
    }
    const after = await read(c.viewer, pending.id);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version, approvals: [] });
  });

  it('refuses a change manager who raised the change approving it', async () => {
    const c = await cast('apr-self-manager');
    const draft = await createChange(c.manager);
    const pending = await submit(c.manager, draft.id);
    const err = await gqlError(APPROVE, { id: pending.id }, c.manager);
    expect(err.code).toBe('APPROVAL_SELF_APPROVAL');
    expect((await read(c.viewer, pending.id)).approvals).toEqual([]);
  });
});

describe('who may vote', () => {
  it.each([
    ['a viewer', 'viewer'],
    ['a plain requester', 'requester'],
  ] as const)('%s cannot approve (FORBIDDEN)', async (_who, role) => {
    const tenant = `apr-forbidden-${role}`;
    const c = await cast(tenant);
    const pending = await pendingChange(c);
    // Not the change's requester, so only the missing role can be the reason.
    const other = await token({ sub: 'rob', tenant, roles: [role] });
    const err = await gqlError(APPROVE, { id: pending.id }, other);
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toContain(role);
    expect(await read(c.viewer, pending.id)).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: pending.version,
      approvals: [],
    });
  });

  it('cannot vote on another tenant’s change (CHANGE_NOT_FOUND)', async () => {
    const c = await cast('apr-tenant-a');
    const other = await cast('apr-tenant-b');
    const pending = await pendingChange(c);
    const err = await gqlError(APPROVE, { id: pending.id }, other.approver1);
    expect(err.code).toBe('CHANGE_NOT_FOUND');
    expect((await read(c.viewer, pending.id)).approvals).toEqual([]);
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
    const flip = await gqlError(
      APPROVE,
      { id: pending.id, decision: 'REJECT', comment: 'Changed my mind' },
      c.approver1,
    );
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

  it.each([
    ['no comment', null],
    ['an empty comment', ''],
    ['a blank comment', '   '],
  ])('rejecting with %s is VALIDATION_FAILED naming `comment`', async (_what, comment) => {
    const c = await cast(`apr-reject-nocomment-${String(comment?.length)}`);
    const pending = await pendingChange(c);
    const err = await gqlError(APPROVE, { id: pending.id, decision: 'REJECT', comment }, c.approver1);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.status).toBe(400);
    expect(err.message).toContain('comment');
    const after = await read(c.viewer, pending.id);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version, approvals: [] });
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
