import { describe, expect, it } from 'vitest';
import type { Principal } from '../../src/domain/principal';
import { ROLES } from '../../src/domain/types';
import { offeredScopes, rolesOf } from '../../src/mcp/catalog';
import { scopesAllow } from '../../src/mcp/visibility';

/** mcp.offeredTo narrows who is offered a tool, and may never widen it past its field's scopes. */

const field = (authScopes: unknown) => ({
  name: 'someField',
  extensions: { pothosOptions: { authScopes } },
});
const tool = (offeredTo?: ('viewer' | 'requester' | 'approver' | 'changeManager' | 'admin')[]) => ({
  name: 'some_tool',
  toolset: 'changes' as const,
  ...(offeredTo ? { offeredTo } : {}),
});
const caller = (role: (typeof ROLES)[number]): Principal => ({
  id: 'p',
  tenantId: 't',
  roles: [role],
  kind: 'user',
  name: null,
  email: null,
});

describe('mcp.offeredTo', () => {
  it("keeps the field's scopes when unset", () => {
    expect(offeredScopes(field({ viewer: true }), tool())).toEqual({ viewer: true });
  });

  it('offers a tool any caller of a field reads to the parties it names only', () => {
    const scopes = offeredScopes(field({ viewer: true }), tool(['requester', 'approver']));
    expect(rolesOf(scopes)).toEqual(['requester', 'approver', 'change_manager', 'admin']);
    expect(scopesAllow(caller('viewer'), scopes)).toBe(false);
    expect(ROLES.filter((r) => scopesAllow(caller(r), scopes))).not.toContain('viewer');
  });

  it('refuses to build a tool whose offeredTo reaches a role its field does not admit', () => {
    expect(() => offeredScopes(field({ changeManager: true }), tool(['requester']))).toThrow(
      /offeredTo reaches requester, which someField does not admit/,
    );
  });
});
