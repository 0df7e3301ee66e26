import { describe, expect, it } from 'vitest';
import {
  assertCanVote,
  evaluateApprovals,
  isPreApproved,
  REQUIRED_APPROVALS,
} from '../../src/domain/approvalPolicy';
import { coveredRoles } from '../../src/domain/principal';
import type { ApprovalDecision, ChangeStatus, RiskLevel, Role } from '../../src/domain/types';
import { CHANGE_STATUSES, CHANGE_TYPES, RISK_LEVELS } from '../../src/domain/types';
import { AppError } from '../../src/errors';

const vote = (decision: ApprovalDecision, roles: Role[] = ['approver']) => ({
  decision,
  approverRoles: roles,
});
const approve = (n: number, roles: Role[] = ['approver']) =>
  Array.from({ length: n }, () => vote('APPROVED', roles));

function codeOf(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e.code;
    throw e;
  }
  return 'none';
}

describe('REQUIRED_APPROVALS and isPreApproved', () => {
  it('requires 1, 2, 3, 3 approvals by risk level', () => {
    expect(REQUIRED_APPROVALS).toEqual({ LOW: 1, MEDIUM: 2, HIGH: 3, VERY_HIGH: 3 });
  });

  it('pre-approves only STANDARD changes at LOW risk', () => {
    for (const type of CHANGE_TYPES) {
      for (const level of RISK_LEVELS) {
        expect(isPreApproved(type, level)).toBe(type === 'STANDARD' && level === 'LOW');
      }
    }
  });
});

describe('assertCanVote', () => {
  const change = { status: 'PENDING_APPROVAL' as ChangeStatus, requesterId: 'alice' };

  it('lets another approver vote once', () => {
    expect(() =>
      assertCanVote({
        requesterPersonId: 'alice',
        change,
        voterId: 'bob',
        existing: [{ approverId: 'carol' }],
      }),
    ).not.toThrow();
  });

  it('refuses votes unless the change is pending approval', () => {
    for (const status of CHANGE_STATUSES) {
      const code = codeOf(() =>
        assertCanVote({
          requesterPersonId: 'alice',
          change: { ...change, status },
          voterId: 'bob',
          existing: [],
        }),
      );
      expect(code).toBe(status === 'PENDING_APPROVAL' ? 'none' : 'APPROVAL_NOT_PENDING');
    }
    expect(() =>
      assertCanVote({
        requesterPersonId: 'alice',
        change: { ...change, status: 'DRAFT' },
        voterId: 'bob',
        existing: [],
      }),
    ).toThrow(/DRAFT/);
  });

  it('refuses self-approval by the requester (segregation of duties)', () => {
    expect(
      codeOf(() => assertCanVote({ requesterPersonId: 'alice', change, voterId: 'alice', existing: [] })),
    ).toBe('APPROVAL_SELF_APPROVAL');
    expect(() =>
      assertCanVote({ requesterPersonId: 'alice', change, voterId: 'alice', existing: [] }),
    ).toThrow(/segregation of duties/);
  });

  it('refuses a second vote by the same approver', () => {
    const existing = [{ approverId: 'bob' }];
    expect(
      codeOf(() => assertCanVote({ requesterPersonId: 'alice', change, voterId: 'bob', existing })),
    ).toBe('APPROVAL_DUPLICATE_VOTE');
    expect(() => assertCanVote({ requesterPersonId: 'alice', change, voterId: 'bob', existing })).toThrow(
      'bob has already voted',
    );
  });
});

describe('evaluateApprovals', () => {
  it.each([
    ['LOW', 1],
    ['MEDIUM', 2],
    ['HIGH', 3],
  ] as [RiskLevel, number][])('%s risk is approved at exactly %i approvals', (riskLevel, quorum) => {
    const short = evaluateApprovals({ riskLevel, approvals: approve(quorum - 1) });
    expect(short.outcome).toBe('PENDING');
    expect(short.missing).toBe('1 more approval');
    const done = evaluateApprovals({ riskLevel, approvals: approve(quorum) });
    expect(done).toEqual({
      outcome: 'APPROVED',
      approvals: quorum,
      rejections: 0,
      required: quorum,
      changeManagerRequired: false,
      changeManagerApproved: false,
      missing: '',
    });
  });

  it('says how many approvals are still needed', () => {
    expect(evaluateApprovals({ riskLevel: 'HIGH', approvals: [] }).missing).toBe('3 more approvals');
  });

  it('rejects on any rejection, whatever the approvals', () => {
    const r = evaluateApprovals({ riskLevel: 'LOW', approvals: [...approve(3), vote('REJECTED')] });
    expect(r).toMatchObject({ outcome: 'REJECTED', approvals: 3, rejections: 1, missing: '' });
  });

  it('needs a change manager (or admin) among the approvers of a VERY_HIGH change', () => {
    const without = evaluateApprovals({ riskLevel: 'VERY_HIGH', approvals: approve(3) });
    expect(without).toMatchObject({
      outcome: 'PENDING',
      changeManagerRequired: true,
      changeManagerApproved: false,
      missing: 'an approval from a change manager',
    });
    const two = evaluateApprovals({ riskLevel: 'VERY_HIGH', approvals: approve(2) });
    expect(two.missing).toBe('1 more approval, including one from a change manager');

    for (const role of ['change_manager', 'admin'] as Role[]) {
      const r = evaluateApprovals({
        riskLevel: 'VERY_HIGH',
        approvals: [...approve(2), vote('APPROVED', [role])],
      });
      expect(r).toMatchObject({ outcome: 'APPROVED', changeManagerApproved: true, missing: '' });
    }
  });

  it('does not count a change manager who rejected as the required approval', () => {
    const r = evaluateApprovals({
      riskLevel: 'VERY_HIGH',
      approvals: [...approve(3), vote('REJECTED', ['change_manager'])],
    });
    expect(r).toMatchObject({ outcome: 'REJECTED', changeManagerApproved: false });
  });
});

describe('coveredRoles (a key votes only with roles its owner holds)', () => {
  it.each([
    [['approver'], ['admin'], ['approver']],
    [['approver', 'change_manager'], ['change_manager'], ['approver', 'change_manager']],
    [['approver', 'change_manager'], ['approver'], ['approver']],
    [['change_manager'], ['requester'], []],
    [['admin'], ['change_manager'], []],
    [['viewer', 'requester'], ['requester'], ['viewer', 'requester']],
    [['approver'], [], []],
  ] as [Role[], Role[], Role[]][])('key %j, owner %j → %j', (key, owner, expected) => {
    expect(coveredRoles(key, owner)).toEqual(expected);
  });
});
