import { personBehind } from '../../db/apiKeys';
import { insertApprovalStatement } from '../../db/approvals';
import { newId } from '../../db/ids';
import { assertCanVote, assertVoterHolds, evaluateApprovals, voterOf } from '../../domain/approvalPolicy';
import { SCOPE_ROLES } from '../../domain/principal';
import { assertTransition } from '../../domain/stateMachine';
import type { ApprovalRecord } from '../../domain/types';
import { AppError } from '../../errors';
import type { AuthedContext } from '../context';
import { afterChangeDecided } from './afterDecision';
import { mutateChange } from './writes';

export type VoteDecision = 'APPROVE' | 'REJECT';

export async function decideApproval(
  ctx: AuthedContext,
  id: string,
  decision: VoteDecision,
  comment: string | null,
  expectedVersion?: number | null,
) {
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
      decision: decision === 'APPROVE' ? 'APPROVED' : 'REJECTED',
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
      action: decision === 'APPROVE' ? 'change.approval_recorded' : 'change.rejection_recorded',
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
  // A decisive vote wakes the gates waiting on the change and may start its runbook.
  await afterChangeDecided(ctx, change);
  return { change, ...result };
}
