import { AppError } from '../errors';
import type { ChangeStatus } from './types';
import { CHANGE_STATUSES } from './types';

/**
 * Legal moves of a change request. Any state before IMPLEMENTING may be CANCELLED (REJECTED is
 * terminal, so it cannot). SUBMITTED → APPROVED exists for pre-approved changes: a STANDARD
 * change assessed at LOW risk skips the CAB (see `isPreApproved` in approvalPolicy.ts); the API
 * layer must only take that edge when the change is pre-approved.
 */
export const TRANSITIONS: Readonly<Record<ChangeStatus, readonly ChangeStatus[]>> = {
  DRAFT: ['SUBMITTED', 'CANCELLED'],
  SUBMITTED: ['PENDING_APPROVAL', 'APPROVED', 'CANCELLED'],
  PENDING_APPROVAL: ['APPROVED', 'REJECTED', 'CANCELLED'],
  APPROVED: ['SCHEDULED', 'CANCELLED'],
  REJECTED: [],
  SCHEDULED: ['IMPLEMENTING', 'CANCELLED'],
  IMPLEMENTING: ['COMPLETED', 'FAILED'],
  COMPLETED: [],
  FAILED: ['ROLLED_BACK'],
  ROLLED_BACK: [],
  CANCELLED: [],
};

/** States a change can move to from `from` (empty for terminal states). */
export function allowedTransitions(from: ChangeStatus): readonly ChangeStatus[] {
  return TRANSITIONS[from];
}

export function canTransition(from: ChangeStatus, to: ChangeStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Throws CHANGE_INVALID_TRANSITION naming the current state, the target and the allowed ones. */
export function assertTransition(from: ChangeStatus, to: ChangeStatus): void {
  if (canTransition(from, to)) return;
  const allowed = [...TRANSITIONS[from]];
  const options = allowed.length > 0 ? allowed.join(', ') : 'none (terminal state)';
  throw new AppError(
    'CHANGE_INVALID_TRANSITION',
    `Cannot move change from ${from} to ${to}; allowed from ${from}: ${options}`,
    { currentStatus: from, targetStatus: to, allowed },
  );
}

/** A terminal state has no outgoing transition. FAILED is not terminal: it can be rolled back. */
export function isTerminal(status: ChangeStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/** Every non-terminal state: the changes that still need someone's attention. */
export const ACTIVE_STATUSES: readonly ChangeStatus[] = CHANGE_STATUSES.filter((s) => !isTerminal(s));
