import { AppError } from '../errors';
import { coveredRoles, type Principal } from './principal';
import type { ApprovalRecord, ChangeRecord, ChangeType, RiskLevel, Role } from './types';

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

/** Who casts a vote or an override: always a person, whatever credential carried it. */
export interface Voter {
  personId: string;
  /** The roles the person acts with: through a key, the key's roles that the owner's cover. */
  roles: Role[];
  /** The delegated key the act came through, if any. */
  apiKeyId: string | null;
}

/**
 * CAB votes and emergency overrides are acts of a person. A token is its subject; an API key acts
 * only with `delegatedVoting`, as its owner, with the intersection of its and the owner's roles.
 * The engine and other system principals never vote.
 */
export function voterOf(principal: Principal, act: string): Voter {
  if (principal.kind === 'user') return { personId: principal.id, roles: principal.roles, apiKeyId: null };
  const grant = principal.apiKey;
  if (principal.kind === 'api_key' && grant?.delegatedVoting) {
    return {
      personId: grant.ownerId,
      roles: coveredRoles(principal.roles, grant.ownerRoles),
      apiKeyId: principal.id,
    };
  }
  throw new AppError(
    'APPROVAL_REQUIRES_PERSON',
    `${act} is an act of a person: sign in with your own token, or use an API key that an admin created for you with delegatedVoting`,
  );
}

/** Throws FORBIDDEN unless the voter, as a person, holds one of `roles`. */
export function assertVoterHolds(voter: Voter, roles: readonly Role[], act: string): void {
  if (!voter.roles.some((r) => roles.includes(r))) {
    throw new AppError(
      'FORBIDDEN',
      `${act} needs one of the roles ${roles.join(', ')}; this ${voter.apiKeyId ? 'key acts for its owner with' : 'person holds'} ${voter.roles.join(', ') || 'none of them'}`,
    );
  }
}

export interface VoteCheck {
  change: Pick<ChangeRecord, 'status'>;
  /** The person who asked for the change (an API key's owner when a key asked). */
  requesterPersonId: string;
  voterId: string;
  existing: Pick<ApprovalRecord, 'approverId'>[];
}

/** Throws when the person `voterId` may not vote (approve or reject) on the change now. */
export function assertCanVote({ change, requesterPersonId, voterId, existing }: VoteCheck): void {
  if (change.status !== 'PENDING_APPROVAL') {
    throw new AppError(
      'APPROVAL_NOT_PENDING',
      `Change is ${change.status}, not PENDING_APPROVAL; votes are only taken while approval is pending`,
      { currentStatus: change.status },
    );
  }
  // Segregation of duties (SOX): whoever asked for the change may not vote on it.
  if (voterId === requesterPersonId) {
    throw new AppError(
      'APPROVAL_SELF_APPROVAL',
      'The requester of a change may not approve or reject it (segregation of duties)',
      { approverId: voterId },
    );
  }
  if (existing.some((a) => a.approverId === voterId)) {
    throw new AppError(
      'APPROVAL_DUPLICATE_VOTE',
      `Approver ${voterId} has already voted on this change (one vote per person, whichever token or key carries it)`,
      { approverId: voterId },
    );
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
