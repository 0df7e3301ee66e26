import { personBehind } from '../../db/apiKeys';
import { assertVoterHolds, voterOf } from '../../domain/approvalPolicy';
import { assertTransition } from '../../domain/stateMachine';
import type { ChangeRecord } from '../../domain/types';
import { AppError } from '../../errors';
import type { AuthedContext } from '../context';
import { computeRisk, withRisk } from './risk';
import { mutateChange } from './writes';

/** Hours after an emergency override by which its post-implementation review is due. */
export const EMERGENCY_REVIEW_HOURS = 48;

/**
 * An admin approves an EMERGENCY change at once; a post-implementation review falls due in 48 h.
 * Approved by override is approved: what follows a CAB decision follows (mutateChange queues it).
 */
export async function emergencyOverride(
  ctx: AuthedContext,
  id: string,
  justification: string,
  expectedVersion?: number | null,
) {
  const voter = voterOf(ctx.principal, 'An emergency override');
  assertVoterHolds(voter, ['admin'], 'An emergency override');
  const { change } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    if (current.type !== 'EMERGENCY') {
      throw new AppError(
        'EMERGENCY_NOT_ALLOWED',
        `Change ${id} is ${current.type}; only an EMERGENCY change can be approved by override`,
        { changeType: current.type },
      );
    }
    if ((await personBehind(ctx.db, current.tenantId, current.requesterId)) === voter.personId) {
      throw new AppError(
        'APPROVAL_SELF_APPROVAL',
        'The requester of a change may not approve it, even by emergency override (segregation of duties)',
      );
    }
    const from = current.status === 'DRAFT' ? 'SUBMITTED' : current.status;
    if (current.status === 'DRAFT') assertTransition('DRAFT', 'SUBMITTED');
    assertTransition(from, 'APPROVED');
    const risk = current.riskLevel ? null : await computeRisk(ctx, current, now);
    const due = new Date(Date.parse(now) + EMERGENCY_REVIEW_HOURS * 3600_000).toISOString();
    const base = risk ? withRisk(current, risk) : current;
    const next: ChangeRecord = {
      ...base,
      status: 'APPROVED',
      submittedAt: current.submittedAt ?? now,
      approvedAt: now,
      emergencyJustification: justification,
      reviewDueAt: due,
    };
    return { next, action: 'change.emergency_override' };
  });
  return change;
}

export async function completeEmergencyReview(
  ctx: AuthedContext,
  id: string,
  notes: string,
  expectedVersion?: number | null,
) {
  const { change } = await mutateChange(ctx, id, expectedVersion, (current, now) => {
    if (!current.emergencyJustification) {
      throw new AppError('EMERGENCY_NOT_ALLOWED', `Change ${id} was not approved by emergency override`);
    }
    if (current.reviewedAt) {
      throw new AppError(
        'EMERGENCY_NOT_ALLOWED',
        `Change ${id} was already reviewed at ${current.reviewedAt}`,
      );
    }
    return {
      next: { ...current, reviewedAt: now },
      action: 'change.emergency_reviewed',
      audit: [
        { action: 'review.notes', targetType: 'ChangeRequest', targetId: id, before: null, after: { notes } },
      ],
    };
  });
  return change;
}
