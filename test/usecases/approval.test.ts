import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/domain/principal';
import type { Role } from '../../src/domain/types';
import { AppError } from '../../src/errors';
import { approveChange, rejectChange } from '../../src/usecases/changes/approval';
import type { AuthedContext } from '../../src/usecases/context';

/**
 * The vote use case's own guards, for a caller that does not come through the schema's argument
 * validation: each is refused before the change is read or anything is written. The context has
 * only a principal, so a guard that reached for the database would fail differently.
 */

const person = (roles: Role[]): Principal => ({
  id: 'abe',
  tenantId: 'acme',
  roles,
  kind: 'user',
  name: null,
  email: null,
});
const ctx = (roles: Role[] = ['approver']) => ({ principal: person(roles) }) as unknown as AuthedContext;

async function refusal(vote: Promise<unknown>) {
  const error = await vote.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

describe('decideApproval guards', () => {
  it.each([
    ['an empty reason', ''],
    ['a blank reason', ' \t\n'],
    ['a reason over 2000 characters', 'x'.repeat(2001)],
  ])('refuses a rejection with %s (VALIDATION_FAILED naming reason)', async (_what, reason) => {
    const error = await refusal(rejectChange(ctx(), 'CHG-20300101-AAAAAA', reason));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.extensions.issues).toEqual([{ field: 'reason', message: expect.any(String) }]);
  });

  it('refuses an approval comment over 2000 characters (VALIDATION_FAILED naming comment)', async () => {
    const error = await refusal(approveChange(ctx(), 'CHG-20300101-AAAAAA', 'x'.repeat(2001)));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.extensions.issues).toEqual([{ field: 'comment', message: expect.any(String) }]);
  });

  it.each([
    ['approve', (c: AuthedContext) => approveChange(c, 'CHG-20300101-AAAAAA', null)],
    ['reject', (c: AuthedContext) => rejectChange(c, 'CHG-20300101-AAAAAA', 'Not this week')],
  ])('refuses a viewer or a requester who tries to %s (FORBIDDEN)', async (_what, vote) => {
    for (const roles of [['viewer'], ['requester']] as Role[][]) {
      expect((await refusal(vote(ctx(roles)))).code).toBe('FORBIDDEN');
    }
  });
});
