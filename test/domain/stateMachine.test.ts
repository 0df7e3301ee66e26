import { describe, expect, it } from 'vitest';
import {
  ACTIVE_STATUSES,
  allowedTransitions,
  assertTransition,
  canTransition,
  isTerminal,
  TRANSITIONS,
} from '../../src/domain/stateMachine';
import type { ChangeStatus } from '../../src/domain/types';
import { CHANGE_STATUSES } from '../../src/domain/types';
import { AppError } from '../../src/errors';

const expected: Record<ChangeStatus, ChangeStatus[]> = {
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

function thrown(fn: () => void): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('change status machine', () => {
  it('allows exactly the documented transitions', () => {
    for (const from of CHANGE_STATUSES) {
      expect([...allowedTransitions(from)].sort()).toEqual([...expected[from]].sort());
      expect(TRANSITIONS[from]).toBe(allowedTransitions(from));
    }
  });

  it('accepts every legal transition', () => {
    for (const from of CHANGE_STATUSES) {
      for (const to of expected[from]) {
        expect(canTransition(from, to)).toBe(true);
        expect(() => assertTransition(from, to)).not.toThrow();
      }
    }
  });

  it('rejects every illegal transition from every state, naming current, target and allowed states', () => {
    let checked = 0;
    for (const from of CHANGE_STATUSES) {
      for (const to of CHANGE_STATUSES) {
        if (expected[from].includes(to)) continue;
        expect(canTransition(from, to)).toBe(false);
        const err = thrown(() => assertTransition(from, to));
        expect(err.code).toBe('CHANGE_INVALID_TRANSITION');
        expect(err.message).toContain(`from ${from} to ${to}`);
        for (const allowed of expected[from]) expect(err.message).toContain(allowed);
        expect(err.extensions).toMatchObject({
          code: 'CHANGE_INVALID_TRANSITION',
          currentStatus: from,
          targetStatus: to,
          allowed: expected[from],
        });
        checked++;
      }
    }
    expect(checked).toBe(11 * 11 - 15);
  });

  it('words the error message as documented', () => {
    expect(() => assertTransition('DRAFT', 'APPROVED')).toThrow(
      'Cannot move change from DRAFT to APPROVED; allowed from DRAFT: SUBMITTED, CANCELLED',
    );
    expect(() => assertTransition('COMPLETED', 'DRAFT')).toThrow(
      'Cannot move change from COMPLETED to DRAFT; allowed from COMPLETED: none (terminal state)',
    );
  });

  it('allows cancelling before IMPLEMENTING only, and never a rejected change', () => {
    const before: ChangeStatus[] = ['DRAFT', 'SUBMITTED', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED'];
    for (const s of CHANGE_STATUSES) expect(canTransition(s, 'CANCELLED')).toBe(before.includes(s));
    expect(canTransition('REJECTED', 'CANCELLED')).toBe(false);
  });

  it('lets a pre-approved change skip the CAB (SUBMITTED → APPROVED)', () => {
    expect(canTransition('SUBMITTED', 'APPROVED')).toBe(true);
  });

  it('knows terminal and active states', () => {
    const terminal: ChangeStatus[] = ['COMPLETED', 'REJECTED', 'ROLLED_BACK', 'CANCELLED'];
    for (const s of CHANGE_STATUSES) expect(isTerminal(s)).toBe(terminal.includes(s));
    expect(isTerminal('FAILED')).toBe(false);
    expect([...ACTIVE_STATUSES].sort()).toEqual(
      ['DRAFT', 'SUBMITTED', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED', 'IMPLEMENTING', 'FAILED'].sort(),
    );
  });
});
