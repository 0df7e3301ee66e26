import { ROLES, type Role } from './types';

/** Who is calling: a person or agent with a JWT, or an integration with an API key. */
export interface Principal {
  /** The JWT `sub`, or the API key's id. */
  id: string;
  tenantId: string;
  roles: Role[];
  kind: 'user' | 'api_key' | 'system';
  name: string | null;
  email: string | null;
  /** Set for an API key: the person it belongs to, for segregation of duties. */
  apiKey?: ApiKeyGrant;
  /**
   * Set for a JWT whose `scope` claim decided its roles (src/auth/scopes.ts): asking the
   * authorization server for more scopes may give it more, so /mcp answers a tool beyond them with
   * a step-up challenge (403 insufficient_scope) instead of a FORBIDDEN result.
   */
  scoped?: true;
}

/**
 * What an API key carries of its owner. For segregation of duties a key is its owner: it cannot
 * vote on its owner's change, and its votes are the owner's one vote.
 */
export interface ApiKeyGrant {
  /** The person who created the key. */
  ownerId: string;
  /** The owner's roles when the key was created. */
  ownerRoles: Role[];
  /** Created by an admin in person to cast the owner's CAB votes and emergency overrides. */
  delegatedVoting: boolean;
}

/** The person accountable for a principal's acts: an API key's owner, otherwise the principal. */
export const personOf = (p: Principal): string => p.apiKey?.ownerId ?? p.id;

export const isRole = (r: unknown): r is Role =>
  typeof r === 'string' && (ROLES as readonly string[]).includes(r);

/**
 * Role hierarchy: what each scope used by the schema means in roles. A change manager can do
 * what an approver and a requester can; an admin can do everything.
 */
export const SCOPE_ROLES = {
  viewer: ROLES,
  requester: ['requester', 'change_manager', 'admin'],
  approver: ['approver', 'change_manager', 'admin'],
  changeManager: ['change_manager', 'admin'],
  admin: ['admin'],
} as const satisfies Record<string, readonly Role[]>;

export type Scope = keyof typeof SCOPE_ROLES;

/** The scope that holding a role grants. */
const ROLE_SCOPE: Readonly<Record<Role, Scope>> = {
  viewer: 'viewer',
  requester: 'requester',
  approver: 'approver',
  change_manager: 'changeManager',
  admin: 'admin',
};

/**
 * The intersection of a key's roles with its owner's, along the role hierarchy: a key role counts
 * only where the owner holds it or a role above it (an admin owner covers every role; a requester
 * owner covers `viewer` and `requester`).
 */
export function coveredRoles(keyRoles: readonly Role[], ownerRoles: readonly Role[]): Role[] {
  return keyRoles.filter((r) =>
    ownerRoles.some((o) => (SCOPE_ROLES[ROLE_SCOPE[r]] as readonly Role[]).includes(o)),
  );
}

export function hasScope(principal: Principal | null, scope: Scope): boolean {
  if (!principal) return false;
  const allowed: readonly Role[] = SCOPE_ROLES[scope];
  return principal.roles.some((r) => allowed.includes(r));
}

/**
 * ChangeFlow acting on its own (the workflow engine, a signed webhook, the scheduler): recorded
 * under this id in the audit trail, with the rights of a change manager within one tenant.
 */
export function systemPrincipal(tenantId: string, id: string, name: string): Principal {
  return { id, tenantId, roles: ['change_manager'], kind: 'system', name, email: null };
}
