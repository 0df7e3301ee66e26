import { personBehind } from '../../db/apiKeys';
import { insertApprovalStatement } from '../../db/approvals';
import { newId } from '../../db/ids';
import { assertCanVote, assertVoterHolds, evaluateApprovals, voterOf } from '../../domain/approvalPolicy';
import { SCOPE_ROLES } from '../../domain/principal';
import { assertTransition } from '../../domain/stateMachine';
import type { ApprovalRecord } from '../../domain/types';
import { AppError } from '../../errors';
import type { AuthedContext } from '../context';
import { mutateChange } from './writes';

/**
 * A CAB vote: an approval, with an optional comment, or a rejection, which must say why (the
 * reason is what the requester and the auditors read; it is stored as the vote's comment).
 */
export type Vote =
  | { decision: 'APPROVED'; comment: string | null }
  | { decision: 'REJECTED'; reason: string };

/** Upper bound of a comment or rejection reason; the GraphQL arguments declare the same. */
export const VOTE_TEXT_MAX = 2000;

/** Records the caller's approval (approveChange / approve_change). */
export const approveChange = (
  ctx: AuthedContext,
  id: string,
  comment: string | null,
  expectedVersion?: number | null,
) => decideApproval(ctx, id, { decision: 'APPROVED', comment }, expectedVersion);

/** Records the caller's rejection with its reason (rejectChange / reject_change). */
export const rejectChange = (
  ctx: AuthedContext,
  id: string,
  reason: string,
  expectedVersion?: number | null,
) => decideApproval(ctx, id, { decision: 'REJECTED', reason }, expectedVersion);

const invalid = (field: string, message: string): never => {
  throw new AppError('VALIDATION_FAILED', `Invalid input: ${field}: ${message}`, {
    issues: [{ field, message }],
  });
};

/**
 * Counts one person's vote on a change PENDING_APPROVAL against the CAB policy
 * (domain/approvalPolicy.ts): segregation of duties, role, one vote per person, quorum by risk.
 * Approving and rejecting are separate operations so that no default can turn one into the other;
 * both come here, so every rule applies to both alike.
 */
export async function decideApproval(
  ctx: AuthedContext,
  id: string,
  vote: Vote,
  expectedVersion?: number | null,
) {
  const field = vote.decision === 'APPROVED' ? 'comment' : 'reason';
  const comment = vote.decision === 'APPROVED' ? vote.comment : vote.reason;
  // The schema validates the arguments first; these keep the rules for any other caller.
  if (vote.decision === 'REJECTED' && !vote.reason.trim()) invalid(field, 'a rejection must say why');
  if (comment && comment.length > VOTE_TEXT_MAX) invalid(field, `at most ${VOTE_TEXT_MAX} characters`);
  const voter = voterOf(ctx.principal, 'A CAB vote');
  assertVoterHolds(voter, SCOPE_ROLES.approver, 'A CAB vote');
  const { change, result } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    // Fresh read: the loader may hold votes from before a retry.
    ctx.loaders.approvalsByChange.clear(id);
    const [existing, requesterPersonId] = await Promise.all([
      ctx.loaders.approvalsByChange.load(id),
      personBehind(ctx.db, current.tenantId, current.requesterId),
    ]);
    assertCanVote({ change: current, requesterPersonId, voterId: voter.personId, existing });
    if (!current.riskLevel) {
      throw new AppError('RISK_NOT_ASSESSED', `Change ${id} has no risk assessment; assess it first`);
    }
    const approval: ApprovalRecord = {
      id: newId('apr'),
      tenantId: current.tenantId,
      changeId: id,
      approverId: voter.personId,
      approverRoles: voter.roles,
      apiKeyId: voter.apiKeyId,
      decision: vote.decision,
      comment,
      createdAt: now,
    };
    const evaluation = evaluateApprovals({
      riskLevel: current.riskLevel,
      approvals: [...existing, approval],
    });
    let next = current;
    if (evaluation.outcome !== 'PENDING') {
      assertTransition(current.status, evaluation.outcome);
      next = {
        ...current,
        status: evaluation.outcome,
        approvedAt: evaluation.outcome === 'APPROVED' ? now : null,
      };
    }
    return {
      next,
      action: vote.decision === 'APPROVED' ? 'change.approval_recorded' : 'change.rejection_recorded',
      statements: [insertApprovalStatement(ctx.db, approval)],
      audit: [
        {
          action: 'approval.created',
          targetType: 'Approval',
          targetId: approval.id,
          before: null,
          after: approval,
        },
      ],
      result: { approval, evaluation },
    };
  });
  ctx.loaders.approvalsByChange.clear(id);
  return { change, ...result };
}
