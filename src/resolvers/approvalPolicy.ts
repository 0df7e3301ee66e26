import { AppError } from '../errors';
import type { ApprovalRecord, ChangeRecord, ChangeType, RiskLevel, Role } from './domain';

/** CAB quorum by risk level. VERY_HIGH also needs a change manager (or admin) among them. */
export const REQUIRED_APPROVALS: Readonly<Record<RiskLevel, number>> = {
  LOW: 1,
  MEDIUM: 2,
  HIGH: 3,
  VERY_HIGH: 3,
};

/** Roles whose approval satisfies the change-manager requirement of VERY_HIGH changes. */
export const CHANGE_MANAGER_ROLES: readonly Role[] = ['change_manager', 'admin'];

/** A STANDARD change assessed at LOW risk goes from SUBMITTED straight to APPROVED. */
export function isPreApproved(type: ChangeType, riskLevel: RiskLevel): boolean {
  return type === 'STANDARD' && riskLevel === 'LOW';
}

export interface VoteCheck {
  change: Pick<ChangeRecord, 'status' | 'requesterId'>;
  voterId: string;
  existing: Pick<ApprovalRecord, 'approverId'>[];
}

/** Throws when `voterId` may not vote (approve or reject) on the change now. */
export function assertCanVote({ change, voterId, existing }: VoteCheck): void {
  if (change.status !== 'PENDING_APPROVAL') {
    throw new AppError(
      'APPROVAL_NOT_PENDING',
      `Change is ${change.status}, not PENDING_APPROVAL; votes are only taken while approval is pending`,
      { currentStatus: change.status },
    );
  }
  // Segregation of duties (SOX): whoever asked for the change may not vote on it.
  if (voterId === change.requesterId) {
    throw new AppError(
      'APPROVAL_SELF_APPROVAL',
      'The requester of a change may not approve or reject it (segregation of duties)',
      { approverId: voterId },
    );
  }
  if (existing.some((a) => a.approverId === voterId)) {
    throw new AppError('APPROVAL_DUPLICATE_VOTE', `Approver ${voterId} has already voted on this change`, {
      approverId: voterId,
    });
  }
}

export interface ApprovalEvaluation {
  outcome: 'APPROVED' | 'REJECTED' | 'PENDING';
  approvals: number;
  rejections: number;
  required: number;
  changeManagerRequired: boolean;
  changeManagerApproved: boolean;
  /** What is still needed, e.g. "1 more approval"; "" when nothing is. */
  missing: string;
}

export function evaluateApprovals({
  riskLevel,
  approvals,
}: {
  riskLevel: RiskLevel;
  approvals: Pick<ApprovalRecord, 'decision' | 'approverRoles'>[];
}): ApprovalEvaluation {
  const approved = approvals.filter((a) => a.decision === 'APPROVED');
  const rejections = approvals.filter((a) => a.decision === 'REJECTED').length;
  const required = REQUIRED_APPROVALS[riskLevel];
  const changeManagerRequired = riskLevel === 'VERY_HIGH';
  const changeManagerApproved = approved.some((a) =>
    a.approverRoles.some((r) => CHANGE_MANAGER_ROLES.includes(r)),
  );
  const base = {
    approvals: approved.length,
    rejections,
    required,
    changeManagerRequired,
    changeManagerApproved,
  };

  if (rejections > 0) return { ...base, outcome: 'REJECTED', missing: '' };

  const short = Math.max(0, required - approved.length);
  const needsManager = changeManagerRequired && !changeManagerApproved;
  const more = `${short} more approval${short === 1 ? '' : 's'}`;
  let missing = '';
  if (short > 0 && needsManager) missing = `${more}, including one from a change manager`;
  else if (short > 0) missing = more;
  else if (needsManager) missing = 'an approval from a change manager';
  return { ...base, outcome: missing === '' ? 'APPROVED' : 'PENDING', missing };
}
