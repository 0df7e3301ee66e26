import { hasScope, type Principal, SCOPE_ROLES, type Scope } from '../domain/principal';

type ScopeMap = Record<string, unknown> & { $any?: ScopeMap; $all?: ScopeMap };

const isScope = (s: string): s is Scope => s in SCOPE_ROLES;

/**
 * Evaluates a field's scope-auth requirement for a principal the way the scope-auth plugin
 * does (a plain map passes when any scope passes), so `tools/list` shows exactly the tools a
 * call would be allowed to run. The call itself is still checked by the plugin.
 */
export function scopesAllow(principal: Principal | null, authScopes: unknown): boolean {
  if (authScopes === undefined) return true;
  if (typeof authScopes !== 'object' || authScopes === null) return false;
  const map = authScopes as ScopeMap;
  const checks: boolean[] = [];
  for (const [key, wanted] of Object.entries(map)) {
    if (key === '$any') checks.push(scopesAllow(principal, wanted));
    else if (key === '$all') {
      checks.push(Object.entries(wanted as ScopeMap).every(([k, v]) => scopesAllow(principal, { [k]: v })));
    } else if (isScope(key) && wanted === true) checks.push(hasScope(principal, key));
    else return false; // an unknown scope shape: never show what we cannot evaluate
  }
  return checks.some(Boolean);
}
