import type { Principal } from '../domain/principal';
import type { Decision, Limits } from './slidingWindow';

/** Who is being limited, from the least to the most trusted, plus MCP tool calls. */
export const TIERS = ['anonymous', 'authenticated', 'apiKey', 'mcpRead', 'mcpWrite'] as const;
export type Tier = (typeof TIERS)[number];

/**
 * Asks the owner of a key whether `cost` more requests fit (default one; all or none); a Durable
 * Object in a Worker.
 */
export type RateLimiterPort = (key: string, limits: Limits, cost?: number) => Promise<Decision>;

/**
 * Tier limits. Authenticated callers and API keys get the configured
 * `RATE_LIMIT_PER_MINUTE` / `RATE_LIMIT_BURST_PER_SECOND`; anonymous callers (by IP) far less;
 * MCP tool calls have their own per-tool budget on top, tighter for mutations, so an agent
 * stuck in a loop is stopped. `RATE_LIMIT_TIERS` (JSON) overrides any of them.
 */
export function tierLimits(
  base: Limits,
  overrides: Partial<Record<Tier, Partial<Limits>>> = {},
): Record<Tier, Limits> {
  const defaults: Record<Tier, Limits> = {
    anonymous: { perMinute: 60, burstPerSecond: 10 },
    authenticated: base,
    apiKey: base,
    mcpRead: { perMinute: 300, burstPerSecond: 20 },
    mcpWrite: { perMinute: 60, burstPerSecond: 5 },
  };
  return Object.fromEntries(TIERS.map((t) => [t, { ...defaults[t], ...overrides[t] }])) as Record<
    Tier,
    Limits
  >;
}

/** The key and tier a request is counted under. */
export function requestKey(principal: Principal | null, clientIp: string): { tier: Tier; key: string } {
  if (!principal) return { tier: 'anonymous', key: `anon:${clientIp}` };
  if (principal.kind === 'api_key') return { tier: 'apiKey', key: `key:${principal.id}` };
  return { tier: 'authenticated', key: `user:${principal.tenantId}:${principal.id}` };
}

/**
 * The per-tool budget of an MCP caller: one per tool, and one per resource template
 * (`resource:<name>`) and per prompt (`prompt:<name>`), reads under mcpRead, mutations mcpWrite.
 */
export function toolKey(principal: Principal, toolName: string, readOnly: boolean) {
  return {
    tier: (readOnly ? 'mcpRead' : 'mcpWrite') as Tier,
    key: `tool:${principal.kind}:${principal.tenantId}:${principal.id}:${toolName}`,
  };
}

export function rateLimitHeaders(d: Decision): Record<string, string> {
  const headers: Record<string, string> = {
    'X-RateLimit-Limit': String(d.limit),
    'X-RateLimit-Remaining': String(d.remaining),
    'X-RateLimit-Reset': String(d.resetSeconds),
  };
  if (!d.allowed) headers['Retry-After'] = String(d.retryAfterSeconds);
  return headers;
}
