import type { Principal } from '../domain/principal';

/**
 * Who the hub reads a tenant's KPIs as: a viewer of that one tenant. The viewer scope lets it
 * read and nothing more (every mutation needs a higher one), and the tenant bounds what it
 * reads; frozen, so no caller can widen it.
 */
export function hubPrincipal(tenantId: string): Principal {
  return Object.freeze({
    id: 'changeflow-hub',
    tenantId,
    roles: Object.freeze(['viewer']) as Principal['roles'],
    kind: 'user',
    name: null,
    email: null,
  });
}

type Authenticated = { principal: Principal | null };
const NOBODY = Object.freeze({ principal: null, error: null });

/** A hub serves one tenant's feeds: a token for another tenant is treated as no token at all. */
export function forTenant<A extends Authenticated>(auth: A, tenantId: string | null): A | typeof NOBODY {
  return auth.principal && auth.principal.tenantId !== tenantId ? NOBODY : auth;
}
