import { describe, expect, it } from 'vitest';
import { grantedRoles, rolesOfScopes, SUPPORTED_SCOPES } from '../../src/auth/scopes';

describe('OAuth scopes to roles', () => {
  it('has one changeflow:<role> scope per role', () => {
    expect(SUPPORTED_SCOPES).toEqual([
      'changeflow:viewer',
      'changeflow:requester',
      'changeflow:approver',
      'changeflow:change_manager',
      'changeflow:admin',
    ]);
  });

  it('reads only changeflow: scopes naming known roles', () => {
    expect(
      rolesOfScopes(['openid', 'changeflow:admin', 'changeflow:root', 'other:viewer', 'viewer']),
    ).toEqual(['admin']);
  });

  it.each([
    ['roles only', { roles: ['approver'] }, { roles: ['approver'] }],
    ['scope only', { scope: 'changeflow:requester changeflow:viewer' }, { roles: ['viewer', 'requester'] }],
    ['scope as a list', { scope: ['changeflow:admin'] }, { roles: ['admin'] }],
    [
      'both: the intersection',
      { roles: ['viewer', 'approver'], scope: 'changeflow:approver changeflow:admin' },
      { roles: ['approver'] },
    ],
    [
      'both: a scope below a held role',
      { roles: ['admin'], scope: 'changeflow:viewer' },
      { roles: ['viewer'] },
    ],
    [
      'both: a scope above every held role',
      { roles: ['requester'], scope: 'changeflow:change_manager' },
      { problem: 'no_scope_role' },
    ],
    [
      'a scope without changeflow: roles',
      { roles: ['admin'], scope: 'openid email' },
      { problem: 'no_scope_role' },
    ],
    ['an empty scope', { scope: '' }, { problem: 'no_scope_role' }],
    ['neither', {}, { problem: 'no_roles' }],
    ['unknown roles', { roles: ['root'], scope: 'changeflow:admin' }, { problem: 'bad_roles' }],
    ['a scope that is not text', { scope: { admin: true } }, { problem: 'bad_scope' }],
  ])('%s', (_label, claims, expected) => {
    expect(grantedRoles(claims)).toEqual(expected);
  });
});
