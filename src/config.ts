import { DEFAULT_MAX_TTL_SECONDS, ttlSeconds } from './auth/ttl.mjs';
import { type EgressSettings, parseExactHost } from './engine/egress';
import { TIERS, type Tier, tierLimits } from './ratelimit/policy';
import type { Limits } from './ratelimit/slidingWindow';
import type { SecretKeys } from './secrets/envelope';

/** Runtime configuration, read once per set of bindings and validated up front. */

export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface Config {
  environment: Environment;
  version: string;
  jwt: {
    /** HS256 shared secret. */
    secret: string | null;
    jwksUrl: string | null;
    issuer: string | null;
    audience: string | null;
    /** JWT_MAX_TTL: the longest lifetime a token may have (`exp − iat`, or `exp − now`), seconds. */
    maxTtlSeconds: number;
  };
  /**
   * The origin of PUBLIC_URL (`https://changeflow.example.com`), where browsers reach this
   * deployment; with CORS_ORIGINS, the only origins /mcp accepts (DNS-rebinding protection).
   */
  publicOrigin: string | null;
  /** Exact origins allowed; `['*']` only in development. */
  corsOrigins: string[];
  rateLimitPerMinute: number;
  rateLimitBurstPerSecond: number;
  /** Limits per tier, after RATE_LIMIT_TIERS overrides. */
  rateLimits: Record<Tier, Limits>;
  /**
   * Whether GraphQL introspection (`__schema`, `__type`) and field suggestions in error messages
   * are allowed: GRAPHQL_INTROSPECTION, by default on in development and off elsewhere.
   */
  introspection: boolean;
  /** False only to measure or debug: requests are then not rate limited at all. */
  rateLimitEnabled: boolean;
  /**
   * The key-encryption keys of workflow secrets (SECRETS_KEY, SECRETS_KEY_PREVIOUS); null when
   * SECRETS_KEY is not set: secrets can then be neither saved nor used.
   */
  secretKeys: SecretKeys | null;
  /** What workflow HTTP steps may reach beyond the default (src/engine/egress.ts). */
  egress: EgressSettings;
  /** Limits of WebSocket sessions (src/http/wsSession.ts). */
  sessions: SessionLimits;
  /**
   * The cheap per-address limit checked before any credential is looked up (RATE_LIMIT_PER_IP_PER_MINUTE,
   * default 300), so that junk credentials cost a D1 lookup only within it.
   */
  perIpLimit: Limits;
}

/** WebSocket session limits: how many sockets a caller holds, how many subscriptions one socket runs. */
export interface SessionLimits {
  /** WS_MAX_SUBSCRIPTIONS_PER_SOCKET; the next subscribe gets TOO_MANY_SUBSCRIPTIONS. @default 20 */
  maxSubscriptionsPerSocket: number;
  /** WS_MAX_SOCKETS_PER_CALLER; the next upgrade gets HTTP 429 TOO_MANY_CONNECTIONS. @default 10 */
  maxSocketsPerCaller: number;
  /** WS_CREDENTIAL_RECHECK_MS: how often an open socket's or stream's API key is looked up again (≤ 5000). */
  recheckMs: number;
}

/** The variables ChangeFlow reads; all strings, as Workers bindings and process.env deliver them. */
export interface ConfigVars {
  ENVIRONMENT?: string;
  JWT_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  CORS_ORIGINS?: string;
  RATE_LIMIT_PER_MINUTE?: string;
  RATE_LIMIT_BURST_PER_SECOND?: string;
  /** JSON, e.g. `{"anonymous":{"perMinute":30},"mcpWrite":{"burstPerSecond":2}}`. */
  RATE_LIMIT_TIERS?: string;
  /** `true` or `false`; default `true` in development, `false` in staging and production. */
  GRAPHQL_INTROSPECTION?: string;
  RATE_LIMIT_ENABLED?: string;
  /** base64 of 32 random bytes: the key that encrypts workflow secrets (`openssl rand -base64 32`). */
  SECRETS_KEY?: string;
  /** The key SECRETS_KEY replaced, during a rotation: it still decrypts, never encrypts. */
  SECRETS_KEY_PREVIOUS?: string;
  /** `true` lifts every default egress refusal for workflow HTTP steps: development only. */
  EGRESS_ALLOW_PRIVATE?: string;
  /** Comma-separated exact hosts (e.g. an internal service) excepted from the default refusals. */
  EGRESS_ALLOW_PRIVATE_HOSTS?: string;
  // Issue 12 (token claims, MCP Origin).
  /** Longest token lifetime: seconds (`86400`) or with a unit (`30m`, `24h`, `1d`); default 24h. */
  JWT_MAX_TTL?: string;
  /** The URL this deployment is reached at (`https://changeflow.example.com`). */
  PUBLIC_URL?: string;
  // WebSocket sessions (see SessionLimits).
  WS_MAX_SUBSCRIPTIONS_PER_SOCKET?: string;
  WS_MAX_SOCKETS_PER_CALLER?: string;
  WS_CREDENTIAL_RECHECK_MS?: string;
  /** Requests per minute from one client address, whoever they authenticate as (default 300). */
  RATE_LIMIT_PER_IP_PER_MINUTE?: string;
}

/** Every variable above, so a change to any of them is noticed. */
export const CONFIG_VARS = [
  'ENVIRONMENT',
  'JWT_SECRET',
  'JWT_JWKS_URL',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'CORS_ORIGINS',
  'RATE_LIMIT_PER_MINUTE',
  'RATE_LIMIT_BURST_PER_SECOND',
  'RATE_LIMIT_TIERS',
  'GRAPHQL_INTROSPECTION',
  'RATE_LIMIT_ENABLED',
  'SECRETS_KEY',
  'SECRETS_KEY_PREVIOUS',
  'EGRESS_ALLOW_PRIVATE',
  'EGRESS_ALLOW_PRIVATE_HOSTS',
  'JWT_MAX_TTL',
  'PUBLIC_URL',
  'WS_MAX_SUBSCRIPTIONS_PER_SOCKET',
  'WS_MAX_SOCKETS_PER_CALLER',
  'WS_CREDENTIAL_RECHECK_MS',
  'RATE_LIMIT_PER_IP_PER_MINUTE',
] as const satisfies readonly (keyof ConfigVars)[];

export const VERSION = '0.1.0';

export class ConfigError extends Error {
  /** Every variable the problem names, `variable` first. */
  readonly variables: (keyof ConfigVars)[];

  constructor(
    readonly variable: keyof ConfigVars,
    problem: string,
    also: (keyof ConfigVars)[] = [],
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variables = [variable, ...also];
  }
}

const blank = (v: string | undefined): v is undefined => v === undefined || v.trim() === '';

function positiveInt(name: keyof ConfigVars, raw: string | undefined, fallback: number): number {
  if (blank(raw)) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new ConfigError(name, `must be a positive integer (got "${raw}")`);
  return n;
}

function bool(name: keyof ConfigVars, raw: string | undefined, fallback: boolean): boolean {
  if (blank(raw)) return fallback;
  const value = raw.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(name, `must be "true" or "false" (got "${raw}")`);
}

function url(name: keyof ConfigVars, raw: string | undefined): string | null {
  if (blank(raw)) return null;
  try {
    const u = new URL(raw);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
    return u.toString();
  } catch {
    throw new ConfigError(name, `must be an http(s) URL (got "${raw}")`);
  }
}

function tierOverrides(raw: string | undefined): Partial<Record<Tier, Partial<Limits>>> {
  if (blank(raw)) return {};
  const fail = (why: string): never => {
    throw new ConfigError(
      'RATE_LIMIT_TIERS',
      `${why} (tiers: ${TIERS.join(', ')}; fields: perMinute, burstPerSecond)`,
    );
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    fail('must be a JSON object');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail('must be a JSON object');
  for (const [tier, limits] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(TIERS as readonly string[]).includes(tier)) fail(`has an unknown tier "${tier}"`);
    for (const [field, n] of Object.entries((limits ?? {}) as Record<string, unknown>)) {
      if (field !== 'perMinute' && field !== 'burstPerSecond')
        fail(`has an unknown field "${tier}.${field}"`);
      if (!Number.isInteger(n) || (n as number) <= 0) fail(`"${tier}.${field}" must be a positive integer`);
    }
  }
  return parsed as Partial<Record<Tier, Partial<Limits>>>;
}

/** 32 bytes from base64; the message never repeats the value, which is a key. */
function aesKey(name: 'SECRETS_KEY' | 'SECRETS_KEY_PREVIOUS', raw: string): Uint8Array<ArrayBuffer> {
  const text = raw.trim();
  let bytes: Uint8Array<ArrayBuffer> | null = null;
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    try {
      bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    } catch {
      bytes = null;
    }
  }
  if (bytes?.length !== 32) {
    throw new ConfigError(
      name,
      `must be 32 random bytes in base64 (44 characters, e.g. from \`openssl rand -base64 32\`); got ${
        bytes ? `${bytes.length} bytes` : 'something that is not base64'
      }`,
    );
  }
  return bytes;
}

/** The workflow secrets' key-encryption keys, validated; null when SECRETS_KEY is not set. */
export function parseSecretKeys(
  vars: Pick<ConfigVars, 'SECRETS_KEY' | 'SECRETS_KEY_PREVIOUS'>,
): SecretKeys | null {
  if (blank(vars.SECRETS_KEY)) {
    if (!blank(vars.SECRETS_KEY_PREVIOUS)) {
      throw new ConfigError('SECRETS_KEY_PREVIOUS', 'is set without SECRETS_KEY: set the current key too');
    }
    return null;
  }
  const current = aesKey('SECRETS_KEY', vars.SECRETS_KEY);
  if (blank(vars.SECRETS_KEY_PREVIOUS)) return { current: { raw: current }, previous: null };
  const previous = aesKey('SECRETS_KEY_PREVIOUS', vars.SECRETS_KEY_PREVIOUS);
  if (previous.every((b, i) => b === current[i])) {
    throw new ConfigError(
      'SECRETS_KEY_PREVIOUS',
      'is the same key as SECRETS_KEY: it must be the key it replaced',
    );
  }
  return { current: { raw: current }, previous: { raw: previous } };
}

const envOf = (vars: Pick<ConfigVars, 'ENVIRONMENT'>) =>
  (blank(vars.ENVIRONMENT) ? 'development' : vars.ENVIRONMENT) as Environment;

/**
 * EGRESS_ALLOW_PRIVATE and EGRESS_ALLOW_PRIVATE_HOSTS. Lifting every refusal is for a developer's
 * machine (the loopback upstream of the tests and `npm start`), never a shared deployment; an
 * exact host is an operator's deliberate exception and is valid anywhere. The workflow engine
 * reads these too, without the rest of the configuration.
 */
export function parseEgressSettings(
  vars: Pick<ConfigVars, 'ENVIRONMENT' | 'EGRESS_ALLOW_PRIVATE' | 'EGRESS_ALLOW_PRIVATE_HOSTS'>,
): EgressSettings {
  const environment = envOf(vars);
  const allowPrivate = bool('EGRESS_ALLOW_PRIVATE', vars.EGRESS_ALLOW_PRIVATE, false);
  if (allowPrivate && environment !== 'development') {
    throw new ConfigError(
      'EGRESS_ALLOW_PRIVATE',
      `may only be "true" in development (ENVIRONMENT is ${environment}): list the private hosts a workflow may call in EGRESS_ALLOW_PRIVATE_HOSTS instead`,
    );
  }
  const allowPrivateHosts: string[] = [];
  const raw = vars.EGRESS_ALLOW_PRIVATE_HOSTS;
  if (!blank(raw)) {
    for (const entry of raw.split(',').filter((e) => e.trim() !== '')) {
      const host = parseExactHost(entry);
      if (!host.ok) {
        throw new ConfigError(
          'EGRESS_ALLOW_PRIVATE_HOSTS',
          `must be a comma-separated list of exact hosts (no wildcard, scheme or port): ${host.message}`,
        );
      }
      if (!allowPrivateHosts.includes(host.host)) allowPrivateHosts.push(host.host);
    }
  }
  return { allowPrivate, allowPrivateHosts };
}

// --- Issue 12: token lifetimes, token binding outside development, the public origin ---

function maxTtl(raw: string | undefined): number {
  if (blank(raw)) return DEFAULT_MAX_TTL_SECONDS;
  const seconds = ttlSeconds(raw);
  if (seconds === null) {
    throw new ConfigError(
      'JWT_MAX_TTL',
      `must be a positive number of seconds, or a number with s, m, h or d (e.g. 86400 or 24h; got "${raw}")`,
    );
  }
  return seconds;
}

/**
 * Outside development a token must be minted for this deployment: its `aud` must be JWT_AUDIENCE,
 * and with an identity provider's keys (JWKS, which sign tokens for many applications) its `iss`
 * must be JWT_ISSUER. Without them any token the IdP signs for anyone would be accepted here.
 */
function requireTokenBinding(environment: Environment, jwt: Config['jwt']): void {
  if (environment === 'development') return;
  const missing: (keyof ConfigVars)[] = [];
  if (jwt.audience === null) missing.push('JWT_AUDIENCE');
  if (jwt.jwksUrl !== null && jwt.issuer === null) missing.push('JWT_ISSUER');
  const [first, ...rest] = missing;
  if (!first) return;
  const why = {
    JWT_AUDIENCE: 'a token is accepted only when its "aud" claim names this deployment',
    JWT_ISSUER: 'with JWT_JWKS_URL, only when its "iss" claim names your identity provider',
  } as Record<keyof ConfigVars, string>;
  throw new ConfigError(
    first,
    `${rest.map((v) => `and ${v} `).join('')}must be set in ${environment}: ` +
      `${missing.map((v) => why[v]).join('; ')} (so a token minted for another application is refused)`,
    rest,
  );
}

/** The origin of PUBLIC_URL, or null when it is not set. */
function publicOrigin(raw: string | undefined): string | null {
  const value = url('PUBLIC_URL', raw);
  return value === null ? null : new URL(value).origin;
}

/** Parses and validates configuration; throws a ConfigError that names the variable. */
export function parseConfig(vars: ConfigVars): Config {
  const environment = envOf(vars);
  if (!ENVIRONMENTS.includes(environment)) {
    throw new ConfigError('ENVIRONMENT', `must be one of ${ENVIRONMENTS.join(', ')} (got "${environment}")`);
  }
  const secret = blank(vars.JWT_SECRET) ? null : vars.JWT_SECRET;
  if (secret !== null && secret.length < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
  }
  const jwksUrl = url('JWT_JWKS_URL', vars.JWT_JWKS_URL);
  if (secret === null && jwksUrl === null) {
    throw new ConfigError('JWT_SECRET', 'or JWT_JWKS_URL must be set so that callers can be authenticated');
  }
  const corsOrigins = blank(vars.CORS_ORIGINS)
    ? environment === 'development'
      ? ['*']
      : []
    : vars.CORS_ORIGINS.split(',').map((o) => o.trim());
  if (environment === 'production' && corsOrigins.includes('*')) {
    throw new ConfigError('CORS_ORIGINS', 'must list exact origins in production ("*" is not allowed)');
  }
  for (const origin of corsOrigins) {
    if (origin !== '*' && !/^https?:\/\/[^/\s]+$/.test(origin)) {
      throw new ConfigError('CORS_ORIGINS', `must be a comma-separated list of origins (got "${origin}")`);
    }
  }
  const rateLimitPerMinute = positiveInt('RATE_LIMIT_PER_MINUTE', vars.RATE_LIMIT_PER_MINUTE, 1000);
  const rateLimitBurstPerSecond = positiveInt(
    'RATE_LIMIT_BURST_PER_SECOND',
    vars.RATE_LIMIT_BURST_PER_SECOND,
    50,
  );
  const base = { perMinute: rateLimitPerMinute, burstPerSecond: rateLimitBurstPerSecond };
  const jwt: Config['jwt'] = {
    secret,
    jwksUrl,
    issuer: blank(vars.JWT_ISSUER) ? null : vars.JWT_ISSUER,
    audience: blank(vars.JWT_AUDIENCE) ? null : vars.JWT_AUDIENCE,
    maxTtlSeconds: maxTtl(vars.JWT_MAX_TTL),
  };
  requireTokenBinding(environment, jwt);
  return {
    environment,
    version: VERSION,
    jwt,
    publicOrigin: publicOrigin(vars.PUBLIC_URL),
    corsOrigins,
    rateLimitPerMinute,
    rateLimitBurstPerSecond,
    rateLimits: tierLimits(base, tierOverrides(vars.RATE_LIMIT_TIERS)),
    introspection: bool('GRAPHQL_INTROSPECTION', vars.GRAPHQL_INTROSPECTION, environment === 'development'),
    rateLimitEnabled: bool('RATE_LIMIT_ENABLED', vars.RATE_LIMIT_ENABLED, true),
    secretKeys: parseSecretKeys(vars),
    egress: parseEgressSettings(vars),
    sessions: parseSessionLimits(vars),
    perIpLimit: parsePerIpLimit(vars),
  };
}

/** A revoked API key must stop working on open sockets within this long. */
const MAX_RECHECK_MS = 5_000;

function parseSessionLimits(vars: ConfigVars): SessionLimits {
  const recheckMs = positiveInt('WS_CREDENTIAL_RECHECK_MS', vars.WS_CREDENTIAL_RECHECK_MS, MAX_RECHECK_MS);
  if (recheckMs > MAX_RECHECK_MS) {
    throw new ConfigError(
      'WS_CREDENTIAL_RECHECK_MS',
      `must be at most ${MAX_RECHECK_MS} (got "${recheckMs}")`,
    );
  }
  return {
    maxSubscriptionsPerSocket: positiveInt(
      'WS_MAX_SUBSCRIPTIONS_PER_SOCKET',
      vars.WS_MAX_SUBSCRIPTIONS_PER_SOCKET,
      20,
    ),
    maxSocketsPerCaller: positiveInt('WS_MAX_SOCKETS_PER_CALLER', vars.WS_MAX_SOCKETS_PER_CALLER, 10),
    recheckMs,
  };
}

/** Per address, per minute; no separate burst (the per-caller tiers shape bursts). */
function parsePerIpLimit(vars: Pick<ConfigVars, 'RATE_LIMIT_PER_IP_PER_MINUTE'>): Limits {
  const perMinute = positiveInt('RATE_LIMIT_PER_IP_PER_MINUTE', vars.RATE_LIMIT_PER_IP_PER_MINUTE, 300);
  return { perMinute, burstPerSecond: perMinute };
}
