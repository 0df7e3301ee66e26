import { ttlSeconds } from './auth/ttl.mjs';
import {
  CONFIG_VARS,
  type ConfigVars,
  configVars,
  VARIABLE_SPECS,
  type VariableName,
} from './configVariables';
import { type AuditKeySet, type AuditPublicJwk, fromBase64url, parsePublicJwk } from './domain/auditDigest';
import { type EgressSettings, parseExactHost } from './domain/egress';
import { TIERS, type Tier, tierLimits } from './ratelimit/policy';
import type { Limits } from './ratelimit/slidingWindow';
import type { SecretKeys } from './secrets/envelope';

export {
  CONFIG_VARS,
  type ConfigVars,
  configVars,
  type Runtime,
  VARIABLES,
  type VariableName,
  type VariableSpec,
} from './configVariables';

/** Runtime configuration, read once per set of bindings and validated up front. */

export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export interface Config {
  environment: Environment;
  version: string;
  jwt: {
    /** HS256 shared secret. */
    secret: string | null;
    /** JWT_SECRET_PREVIOUS: the secret JWT_SECRET replaced, during a rotation; verifies, nothing else. */
    previousSecret: string | null;
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
  /**
   * MCP_RESOURCE_URL: the resource identifier of /mcp (RFC 8707), which MCP tokens must name in
   * `aud`. Null when unset: development then takes the request's origin + /mcp, and elsewhere /mcp
   * answers CONFIG_INVALID (src/mcp/oauth.ts) rather than the whole deployment refusing to start,
   * so a deployment that serves only GraphQL needs nothing new.
   */
  mcpResourceUrl: string | null;
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
  /** What workflow HTTP steps may reach beyond the default (src/domain/egress.ts). */
  egress: EgressSettings;
  /** Signed audit digests (src/usecases/auditDigests.ts). */
  auditDigests: AuditDigestSettings;
  /** BACKUP_EXPORTS_ENABLED and BACKUP_EXPORT_INTERVAL_HOURS: hours between scheduled tenant exports, 0 when off. */
  backupExportIntervalHours: number;
  /** Limits of WebSocket sessions (src/http/wsSession.ts). */
  sessions: SessionLimits;
  /**
   * The cheap per-address limit checked before any credential is looked up (RATE_LIMIT_PER_IP_PER_MINUTE,
   * default 300), so that junk credentials cost a D1 lookup only within it.
   */
  perIpLimit: Limits;
  /** HUB_PING_INTERVAL_MS: ms between a tenant hub's pings to its WebSocket clients. */
  hubPingIntervalMs: number;
  /** The circuit breakers of upstream hosts (src/engine/circuitBreaker.ts). */
  breaker: { failureThreshold: number; cooldownMs: number };
  /** The workflow engine's pauses and the watchdog's patience, ms. */
  execution: { cancelPollMs: number; gatePollMs: number; nudgeAfterMs: number };
  /** Error tracking and traces (the Worker's src/runtime/worker/observability.ts); both off by default. */
  observability: Observability;
  /** METRICS_TOKEN: the operator's bearer token for the service-wide `/metrics`; null when unset. */
  metricsToken: string | null;
}

/** Where unexpected errors and traces go; null when not configured. */
export interface Observability {
  /** SENTRY_DSN. */
  sentryDsn: string | null;
  /** OTEL_EXPORTER_OTLP_ENDPOINT and its companions. */
  otlp: {
    tracesUrl: string;
    headers: Record<string, string>;
    serviceName: string;
    /** OTEL_TRACES_SAMPLER_ARG: the share of traces kept, 0 to 1. */
    sampleRatio: number;
  } | null;
}

/** AUDIT_DIGESTS_ENABLED, AUDIT_SIGNING_KEY, AUDIT_PUBLIC_KEYS, AUDIT_ARCHIVE_DIR. */
export interface AuditDigestSettings {
  enabled: boolean;
  /** The private JWK that signs, with its kid; null when not set (digests cannot then be made). */
  signingKey: AuditSigningJwk | null;
  /** What /.well-known/changeflow-audit-keys.json publishes: the current key first, then retired ones. */
  keySet: AuditKeySet;
  /** The Node runtime's archive directory; null when not set (the Worker writes to R2). */
  archiveDir: string | null;
}

/** An Ed25519 private key as JWK (RFC 8037), with the id digests name it by. */
export interface AuditSigningJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  d: string;
  x: string;
  kid: string;
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

export const VERSION = '0.1.0';

export class ConfigError extends Error {
  /** The stable code the API answers an invalid configuration with (HTTP 503). */
  readonly code = 'CONFIG_INVALID';
  /** Every variable the problem names, `variable` first. */
  readonly variables: VariableName[];

  constructor(
    readonly variable: VariableName,
    problem: string,
    also: VariableName[] = [],
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variables = [variable, ...also];
  }
}

const blank = (v: string | undefined): v is undefined => v === undefined || v.trim() === '';

/** The variable's value, or its default from VARIABLES when unset or blank. */
function setting(vars: ConfigVars, name: VariableName): string | undefined {
  const raw = vars[name];
  return blank(raw) ? (VARIABLE_SPECS.get(name)?.default ?? undefined) : raw;
}

function positiveInt(vars: ConfigVars, name: VariableName): number {
  const raw = setting(vars, name);
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n <= 0)
    throw new ConfigError(name, `must be a positive integer (got "${raw ?? ''}")`);
  return n;
}

/** Hours between scheduled tenant exports, validated even when they are off; 0 when off. */
function backupInterval(vars: ConfigVars): number {
  const hours = positiveInt(vars, 'BACKUP_EXPORT_INTERVAL_HOURS');
  return flag(vars, 'BACKUP_EXPORTS_ENABLED') ? hours : 0;
}

function bool(name: VariableName, raw: string | undefined, fallback: boolean): boolean {
  if (blank(raw)) return fallback;
  const value = raw.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(name, `must be "true" or "false" (got "${raw}")`);
}

/** A boolean whose default is VARIABLES' (an ENVIRONMENT-dependent one is passed by the caller). */
const flag = (vars: ConfigVars, name: VariableName): boolean =>
  bool(name, vars[name], setting(vars, name) === 'true');

function url(name: VariableName, raw: string | undefined): string | null {
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
function parseSecretKeys(vars: Pick<ConfigVars, 'SECRETS_KEY' | 'SECRETS_KEY_PREVIOUS'>): SecretKeys | null {
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

/** The signing key; the messages never repeat the value, which is a private key. */
function parseSigningKey(raw: string): AuditSigningJwk {
  const fail = (why: string): never => {
    throw new ConfigError(
      'AUDIT_SIGNING_KEY',
      `${why}: it must be an Ed25519 private key as one-line JWK JSON with a key id, {"kty":"OKP","crv":"Ed25519","d":"…","x":"…","kid":"…"} (npm run -s audit:keygen prints one)`,
    );
  };
  let k: Record<string, unknown> = {};
  try {
    k = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    fail('is not JSON');
  }
  if (typeof k !== 'object' || k === null || Array.isArray(k)) fail('is not a JSON object');
  if (k.kty !== 'OKP' || k.crv !== 'Ed25519') fail('is not an Ed25519 key');
  if (typeof k.kid !== 'string' || k.kid.trim() === '') fail('has no "kid"');
  for (const part of ['d', 'x'] as const) {
    if (typeof k[part] !== 'string' || fromBase64url(k[part] as string)?.length !== 32)
      fail(`has no 32-byte "${part}" in base64url`);
  }
  return { kty: 'OKP', crv: 'Ed25519', d: k.d as string, x: k.x as string, kid: k.kid as string };
}

function parseAuditDigestSettings(vars: ConfigVars, environment: Environment): AuditDigestSettings {
  const enabled = flag(vars, 'AUDIT_DIGESTS_ENABLED');
  const signingKey = blank(vars.AUDIT_SIGNING_KEY) ? null : parseSigningKey(vars.AUDIT_SIGNING_KEY.trim());
  if (enabled && signingKey === null && environment !== 'development') {
    throw new ConfigError(
      'AUDIT_SIGNING_KEY',
      `must be set in ${environment} when AUDIT_DIGESTS_ENABLED is true: it signs the audit digests (npm run -s audit:keygen prints one; or set AUDIT_DIGESTS_ENABLED=false)`,
      ['AUDIT_DIGESTS_ENABLED'],
    );
  }
  const retired: AuditPublicJwk[] = [];
  if (!blank(vars.AUDIT_PUBLIC_KEYS)) {
    let list: unknown;
    try {
      list = JSON.parse(vars.AUDIT_PUBLIC_KEYS);
    } catch {
      list = null;
    }
    if (!Array.isArray(list)) {
      throw new ConfigError('AUDIT_PUBLIC_KEYS', 'must be a JSON array of public Ed25519 JWKs');
    }
    for (const item of list) {
      const key = parsePublicJwk(item);
      if (typeof key === 'string') throw new ConfigError('AUDIT_PUBLIC_KEYS', `has a key that ${key}`);
      if (key.kid === signingKey?.kid || retired.some((r) => r.kid === key.kid)) {
        throw new ConfigError(
          'AUDIT_PUBLIC_KEYS',
          `names the key id "${key.kid}" twice (or the signing key's): every key needs its own kid`,
        );
      }
      retired.push(key);
    }
  }
  const current = signingKey
    ? [
        {
          kty: 'OKP',
          crv: 'Ed25519',
          x: signingKey.x,
          kid: signingKey.kid,
          alg: 'EdDSA',
          use: 'sig',
        } as const,
      ]
    : [];
  return {
    enabled,
    signingKey,
    keySet: {
      keys: [
        ...current.map((k) => ({ ...k, status: 'current' as const })),
        ...retired.map((k) => ({ ...k, status: 'retired' as const })),
      ],
    },
    archiveDir: blank(vars.AUDIT_ARCHIVE_DIR) ? null : vars.AUDIT_ARCHIVE_DIR.trim(),
  };
}

const envOf = (vars: Pick<ConfigVars, 'ENVIRONMENT'>) => setting(vars, 'ENVIRONMENT') as Environment;

/**
 * EGRESS_ALLOW_PRIVATE and EGRESS_ALLOW_PRIVATE_HOSTS. Lifting every refusal is for a developer's
 * machine (the loopback upstream of the tests and `npm start`), never a shared deployment; an
 * exact host is an operator's deliberate exception and is valid anywhere.
 */
function parseEgressSettings(
  vars: Pick<ConfigVars, 'ENVIRONMENT' | 'EGRESS_ALLOW_PRIVATE' | 'EGRESS_ALLOW_PRIVATE_HOSTS'>,
): EgressSettings {
  const environment = envOf(vars);
  const allowPrivate = flag(vars, 'EGRESS_ALLOW_PRIVATE');
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

function maxTtl(vars: ConfigVars): number {
  const raw = setting(vars, 'JWT_MAX_TTL') ?? '';
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
  const missing: VariableName[] = [];
  if (jwt.audience === null) missing.push('JWT_AUDIENCE');
  if (jwt.jwksUrl !== null && jwt.issuer === null) missing.push('JWT_ISSUER');
  const [first, ...rest] = missing;
  if (!first) return;
  const why = {
    JWT_AUDIENCE: 'a token is accepted only when its "aud" claim names this deployment',
    JWT_ISSUER: 'with JWT_JWKS_URL, only when its "iss" claim names your identity provider',
  } as Record<VariableName, string>;
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

/**
 * MCP_RESOURCE_URL as written (it is compared with a token's `aud` character for character, and
 * clients copy it from the metadata), checked to be an absolute http(s) URL without a fragment
 * (RFC 8707 forbids one) or a query.
 */
function mcpResourceUrl(raw: string | undefined): string | null {
  if (blank(raw)) return null;
  const value = raw.trim();
  url('MCP_RESOURCE_URL', value);
  const parsed = new URL(value);
  if (parsed.hash !== '' || parsed.search !== '' || value.includes('#') || value.includes('?')) {
    throw new ConfigError(
      'MCP_RESOURCE_URL',
      `must be a URL without a query or fragment, e.g. https://changeflow.example.com/mcp (got "${raw}")`,
    );
  }
  return value;
}

/** JWT_SECRET_PREVIOUS, checked against the current secret it must come with and differ from. */
function parsePreviousJwtSecret(vars: ConfigVars, secret: string | null): string | null {
  if (blank(vars.JWT_SECRET_PREVIOUS)) return null;
  const previous = vars.JWT_SECRET_PREVIOUS;
  if (secret === null) {
    throw new ConfigError('JWT_SECRET_PREVIOUS', 'is set without JWT_SECRET: set the current secret too');
  }
  if (previous.length < 32) throw new ConfigError('JWT_SECRET_PREVIOUS', 'must be at least 32 characters');
  if (previous === secret) throw new ConfigError('JWT_SECRET_PREVIOUS', 'must differ from JWT_SECRET');
  return previous;
}

/**
 * METRICS_TOKEN: long enough that it cannot be guessed at the rate limit, and sendable as a bearer
 * token (no spaces or control characters, which `Authorization: Bearer` could not carry).
 */
function metricsToken(raw: string | undefined): string | null {
  if (blank(raw)) return null;
  if (raw.length < 32) throw new ConfigError('METRICS_TOKEN', 'must be at least 32 characters');
  if (!/^[!-~]+$/.test(raw)) {
    throw new ConfigError('METRICS_TOKEN', 'must be printable ASCII without spaces (openssl rand -hex 32)');
  }
  return raw;
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
  const previousSecret = parsePreviousJwtSecret(vars, secret);
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
  const rateLimitPerMinute = positiveInt(vars, 'RATE_LIMIT_PER_MINUTE');
  const rateLimitBurstPerSecond = positiveInt(vars, 'RATE_LIMIT_BURST_PER_SECOND');
  const base = { perMinute: rateLimitPerMinute, burstPerSecond: rateLimitBurstPerSecond };
  const jwt: Config['jwt'] = {
    secret,
    previousSecret,
    jwksUrl,
    issuer: blank(vars.JWT_ISSUER) ? null : vars.JWT_ISSUER,
    audience: blank(vars.JWT_AUDIENCE) ? null : vars.JWT_AUDIENCE,
    maxTtlSeconds: maxTtl(vars),
  };
  requireTokenBinding(environment, jwt);
  return {
    environment,
    version: VERSION,
    jwt,
    publicOrigin: publicOrigin(vars.PUBLIC_URL),
    metricsToken: metricsToken(vars.METRICS_TOKEN),
    mcpResourceUrl: mcpResourceUrl(vars.MCP_RESOURCE_URL),
    corsOrigins,
    rateLimitPerMinute,
    rateLimitBurstPerSecond,
    rateLimits: tierLimits(base, tierOverrides(vars.RATE_LIMIT_TIERS)),
    introspection: bool('GRAPHQL_INTROSPECTION', vars.GRAPHQL_INTROSPECTION, environment === 'development'),
    rateLimitEnabled: flag(vars, 'RATE_LIMIT_ENABLED'),
    secretKeys: parseSecretKeys(vars),
    egress: parseEgressSettings(vars),
    auditDigests: parseAuditDigestSettings(vars, environment),
    backupExportIntervalHours: backupInterval(vars),
    sessions: parseSessionLimits(vars),
    perIpLimit: parsePerIpLimit(vars),
    hubPingIntervalMs: positiveInt(vars, 'HUB_PING_INTERVAL_MS'),
    breaker: {
      failureThreshold: positiveInt(vars, 'BREAKER_FAILURE_THRESHOLD'),
      cooldownMs: positiveInt(vars, 'BREAKER_COOLDOWN_MS'),
    },
    execution: {
      cancelPollMs: positiveInt(vars, 'EXECUTION_CANCEL_POLL_MS'),
      gatePollMs: positiveInt(vars, 'EXECUTION_GATE_POLL_MS'),
      nudgeAfterMs: positiveInt(vars, 'EXECUTION_NUDGE_AFTER_MS'),
    },
    observability: parseObservability(vars),
  };
}

/**
 * A Sentry DSN: `https://<public key>@<host>/<project id>`. Its value is never repeated in an
 * error (it is marked secret), only what is wrong with it.
 */
function sentryDsn(raw: string | undefined): string | null {
  if (blank(raw)) return null;
  const value = raw.trim();
  let u: URL | null = null;
  try {
    u = new URL(value);
  } catch {
    // reported below
  }
  if (
    !u ||
    (u.protocol !== 'https:' && u.protocol !== 'http:') ||
    !u.username ||
    !/^\/\d+$/.test(u.pathname)
  ) {
    throw new ConfigError(
      'SENTRY_DSN',
      "must be your Sentry project's DSN, https://<public key>@<host>/<project id> (the value given is not)",
    );
  }
  return value;
}

/** OTEL_EXPORTER_OTLP_HEADERS: `name=value` pairs, comma-separated, values URL-encoded (the OTel spec's format). */
function otlpHeaders(raw: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (blank(raw)) return headers;
  for (const pair of raw.split(',')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    const name = eq > 0 ? pair.slice(0, eq).trim() : '';
    let value: string | null = null;
    try {
      value = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // reported below
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || value === null) {
      throw new ConfigError(
        'OTEL_EXPORTER_OTLP_HEADERS',
        'must be comma-separated name=value pairs with URL-encoded values, e.g. authorization=Bearer%20abc (one pair is not)',
      );
    }
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

function parseObservability(vars: ConfigVars): Observability {
  const endpoint = url('OTEL_EXPORTER_OTLP_ENDPOINT', vars.OTEL_EXPORTER_OTLP_ENDPOINT);
  return {
    sentryDsn: sentryDsn(vars.SENTRY_DSN),
    // The specification's base URL: traces go to <endpoint>/v1/traces.
    otlp:
      endpoint === null
        ? null
        : {
            tracesUrl: `${endpoint.replace(/\/+$/, '')}/v1/traces`,
            headers: otlpHeaders(vars.OTEL_EXPORTER_OTLP_HEADERS),
            serviceName: setting(vars, 'OTEL_SERVICE_NAME') as string,
            sampleRatio: sampleRatio(vars),
          },
  };
}

function sampleRatio(vars: ConfigVars): number {
  const raw = setting(vars, 'OTEL_TRACES_SAMPLER_ARG') as string;
  const ratio = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new ConfigError('OTEL_TRACES_SAMPLER_ARG', `must be a number from 0 to 1 (got "${raw}")`);
  }
  return ratio;
}

/** A revoked API key must stop working on open sockets within this long (WS_CREDENTIAL_RECHECK_MS' default). */
const MAX_RECHECK_MS = 5_000;

function parseSessionLimits(vars: ConfigVars): SessionLimits {
  const recheckMs = positiveInt(vars, 'WS_CREDENTIAL_RECHECK_MS');
  if (recheckMs > MAX_RECHECK_MS) {
    throw new ConfigError(
      'WS_CREDENTIAL_RECHECK_MS',
      `must be at most ${MAX_RECHECK_MS} (got "${recheckMs}")`,
    );
  }
  return {
    maxSubscriptionsPerSocket: positiveInt(vars, 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET'),
    maxSocketsPerCaller: positiveInt(vars, 'WS_MAX_SOCKETS_PER_CALLER'),
    recheckMs,
  };
}

/** Per address, per minute; no separate burst (the per-caller tiers shape bursts). */
function parsePerIpLimit(vars: Pick<ConfigVars, 'RATE_LIMIT_PER_IP_PER_MINUTE'>): Limits {
  const perMinute = positiveInt(vars, 'RATE_LIMIT_PER_IP_PER_MINUTE');
  return { perMinute, burstPerSecond: perMinute };
}

/** Parsed configurations by the variables they were parsed from (a Worker isolate sees one or two). */
const parsed = new Map<string, Config>();
const MAX_PARSED = 8;

/**
 * The configuration of a Worker's bindings (or any environment object), parsed once per set of
 * values and cached, so the Worker entry, the Durable Objects and the Workflow class share one
 * parse per isolate. Throws a ConfigError (CONFIG_INVALID) that names the variable; that is not
 * cached, so a fixed deployment recovers on its next request.
 */
export function loadConfig(env: object): Config {
  const vars = configVars(env);
  const fingerprint = CONFIG_VARS.map((k) => vars[k] ?? '').join('\u0000');
  let config = parsed.get(fingerprint);
  if (!config) {
    config = parseConfig(vars);
    if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value as string);
    parsed.set(fingerprint, config);
  }
  return config;
}

/**
 * The development conveniences of the Node runtime's `npm run serve:node`: in development only,
 * when the environment names no key (JWT_SECRET, JWT_JWKS_URL), JWT_SECRET comes from `supply`
 * (.dev.vars), and then SECRETS_KEY and AUDIT_SIGNING_KEY too unless they are set. A configured
 * process (tests, a deployment) gets nothing supplied.
 */
export function withDevelopmentKeys(
  env: object,
  supply: { jwtSecret: () => string; secretsKey: () => string; auditSigningKey: () => string },
): { vars: ConfigVars; supplied: DevelopmentKey[] } {
  const vars = configVars(env);
  const supplied: DevelopmentKey[] = [];
  if (envOf(vars) !== 'development' || !blank(vars.JWT_SECRET) || !blank(vars.JWT_JWKS_URL)) {
    return { vars, supplied };
  }
  vars.JWT_SECRET = supply.jwtSecret();
  supplied.push('JWT_SECRET');
  if (blank(vars.SECRETS_KEY)) {
    vars.SECRETS_KEY = supply.secretsKey();
    supplied.push('SECRETS_KEY');
  }
  if (blank(vars.AUDIT_SIGNING_KEY)) {
    vars.AUDIT_SIGNING_KEY = supply.auditSigningKey();
    supplied.push('AUDIT_SIGNING_KEY');
  }
  return { vars, supplied };
}

export type DevelopmentKey = 'JWT_SECRET' | 'SECRETS_KEY' | 'AUDIT_SIGNING_KEY';

/**
 * The directory the Node runtime writes audit digests and tenant exports to (AUDIT_ARCHIVE_DIR), or
 * null when it is not set. The Worker writes to its R2 binding instead, so only Node requires the
 * variable, and only when digests are on (exports without it answer TENANT_EXPORT_NOT_CONFIGURED).
 */
export function nodeAuditArchiveDir(config: Config): string | null {
  const { enabled, archiveDir } = config.auditDigests;
  if (enabled && archiveDir === null) {
    throw new ConfigError(
      'AUDIT_ARCHIVE_DIR',
      'must be set on Node when AUDIT_DIGESTS_ENABLED is true: the directory signed audit digests are written to',
      ['AUDIT_DIGESTS_ENABLED'],
    );
  }
  return archiveDir;
}

/** The Node server's own variables (CHANGEFLOW_*), unparsed: its command-line flags win over them. */
export function nodeServerVars(env: object): {
  db?: string;
  port?: string;
  host?: string;
  trustProxy?: string;
  publicDir?: string;
} {
  const vars = configVars(env);
  return {
    publicDir: setting(vars, 'CHANGEFLOW_PUBLIC_DIR'),
    db: vars.CHANGEFLOW_DB,
    port: setting(vars, 'CHANGEFLOW_PORT'),
    host: setting(vars, 'CHANGEFLOW_HOST'),
    trustProxy: vars.CHANGEFLOW_TRUST_PROXY,
  };
}
