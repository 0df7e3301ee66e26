import { ROLES, type Role } from '../resolvers/domain';

/** Who is calling: a person or agent with a JWT, or an integration with an API key. */
export interface Principal {
  /** The JWT `sub`, or the API key's id. */
  id: string;
  tenantId: string;
  roles: Role[];
  kind: 'user' | 'api_key' | 'system';
  name: string | null;
  email: string | null;
}

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
