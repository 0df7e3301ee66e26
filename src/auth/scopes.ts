import { coveredRoles, isRole } from '../domain/principal';
import { ROLES, type Role } from '../domain/types';

/**
 * OAuth scopes and ChangeFlow roles. An authorization server grants access by `scope` (RFC 6749,
 * RFC 9068: a space-separated string); ChangeFlow checks roles. Each role has one scope,
 * `changeflow:<role>`, and what a token may do is decided by both claims it carries:
 *
 * - `roles` only (tokens minted for ChangeFlow, `npm run token`): those roles;
 * - `scope` only (an OAuth client's token): the roles its `changeflow:` scopes name;
 * - both: their intersection along the role hierarchy, so a scope narrows what the person may do
 *   and never widens it (`changeflow:viewer` on a change manager's token gives `viewer`; a
 *   `changeflow:admin` scope on a requester's token gives nothing).
 *
 * Scopes that do not start with `changeflow:` (`openid`, `email`, another API's) are ignored.
 */

export const SCOPE_PREFIX = 'changeflow:';

/** The scope that grants a role. */
export const scopeOf = (role: Role): string => `${SCOPE_PREFIX}${role}`;

/** Every scope ChangeFlow checks, in role order (the metadata's `scopes_supported`). */
export const SUPPORTED_SCOPES: readonly string[] = ROLES.map(scopeOf);

/** The least a caller needs to use /mcp at all: every role includes `viewer`. */
export const BASE_SCOPE = scopeOf('viewer');

/** The outcome of reading a token's `roles` and `scope`: roles, or why there are none. */
export type Granted =
  | { roles: Role[] }
  | { problem: 'no_roles' | 'bad_roles' | 'bad_scope' | 'no_scope_role' };

/** The scopes of a `scope` claim: a space-separated string (RFC 9068), or a list some IdPs send. */
function scopesOf(scope: unknown): string[] | null {
  if (typeof scope === 'string') return scope.split(' ').filter((s) => s !== '');
  if (Array.isArray(scope) && scope.every((s) => typeof s === 'string')) return scope as string[];
  return null;
}

/** The roles the `changeflow:` scopes name, in role order; unknown `changeflow:` names are ignored. */
export function rolesOfScopes(scopes: readonly string[]): Role[] {
  const named = new Set(
    scopes.filter((s) => s.startsWith(SCOPE_PREFIX)).map((s) => s.slice(SCOPE_PREFIX.length)),
  );
  return ROLES.filter((r) => named.has(r));
}

/** The roles a token grants from its `roles` and `scope` claims (see the comment at the top). */
export function grantedRoles(claims: { roles?: unknown; scope?: unknown }): Granted {
  const hasRoles = claims.roles !== undefined;
  const hasScope = claims.scope !== undefined;
  if (!hasRoles && !hasScope) return { problem: 'no_roles' };
  let roles: Role[] | null = null;
  if (hasRoles) {
    const { roles: claimed } = claims;
    if (!Array.isArray(claimed) || claimed.length === 0 || !claimed.every(isRole))
      return { problem: 'bad_roles' };
    roles = claimed;
  }
  if (!hasScope) return { roles: roles as Role[] };
  const scopes = scopesOf(claims.scope);
  if (scopes === null) return { problem: 'bad_scope' };
  const scoped = rolesOfScopes(scopes);
  const granted = roles === null ? scoped : coveredRoles(scoped, roles);
  return granted.length === 0 ? { problem: 'no_scope_role' } : { roles: granted };
}
