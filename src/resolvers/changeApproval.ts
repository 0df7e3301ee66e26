import { insertApprovalStatement } from '../db/approvals';
import { newId } from '../db/ids';
import { AppError } from '../errors';
import { assertCanVote, evaluateApprovals } from './approvalPolicy';
import { mutateChange } from './changeWrites';
import type { AuthedContext } from './context';
import type { ApprovalRecord } from './domain';
import { assertTransition } from './stateMachine';

export type VoteDecision = 'APPROVE' | 'REJECT';

export async function decideApproval(
  ctx: AuthedContext,
  id: string,
  decision: VoteDecision,
  comment: string | null,
  expectedVersion?: number | null,
) {
  const { change, result } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    // Fresh read: the loader may hold votes from before a retry.
    ctx.loaders.approvalsByChange.clear(id);
    const existing = await ctx.loaders.approvalsByChange.load(id);
    assertCanVote({ change: current, voterId: ctx.principal.id, existing });
    if (!current.riskLevel) {
      throw new AppError('RISK_NOT_ASSESSED', `Change ${id} has no risk assessment; assess it first`);
    }
    const approval: ApprovalRecord = {
      id: newId('apr'),
      tenantId: current.tenantId,
      changeId: id,
      approverId: ctx.principal.id,
      approverRoles: ctx.principal.roles,
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
  return { change, ...result };
}
