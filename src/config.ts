import { ttlSeconds } from './auth/ttl.mjs';
import { type EgressSettings, parseExactHost } from './domain/egress';
import { DEFAULT_COOLDOWN_MS, DEFAULT_FAILURE_THRESHOLD } from './engine/circuitBreaker';
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
  /** What workflow HTTP steps may reach beyond the default (src/domain/egress.ts). */
  egress: EgressSettings;
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

/** Where a variable is read: the Cloudflare Worker (and its Durable Objects and Workflows), the Node runtime. */
export type Runtime = 'worker' | 'node';

/** One environment variable: everything the parser, the docs and the checks know about it. */
export interface VariableSpec {
  name: string;
  /** How the value is written. */
  type: 'string' | 'integer' | 'boolean' | 'url' | 'enum' | 'list' | 'json' | 'duration' | 'key';
  /**
   * The raw value that applies when the variable is unset or blank, parsed like a set one;
   * null when there is none (or it depends on ENVIRONMENT: see `defaultText`).
   */
  default: string | null;
  /** What docs/configuration.md says the default is when it is not a plain value. */
  defaultText?: string;
  runtimes: readonly Runtime[];
  description: string;
  /** A key or password: its value is never printed (docs, errors, banners). */
  secret: boolean;
}

const BOTH = ['worker', 'node'] as const;
const WORKER = ['worker'] as const;
const NODE = ['node'] as const;

/**
 * Every environment variable ChangeFlow reads, in the order docs/configuration.md lists them
 * (generated from this list by `npm run codegen`). Nothing outside this module reads a variable
 * by name (test/config/noStrayEnvReads.test.ts): a new one is added here, parsed in parseConfig
 * and handed to its reader through Config.
 */
export const VARIABLES = [
  {
    name: 'ENVIRONMENT',
    type: 'enum',
    default: 'development',
    runtimes: BOTH,
    secret: false,
    description:
      "`development`, `staging` or `production`. `wrangler.toml`'s top level says `production` (development comes from `.dev.vars`, which `npm start` writes); it decides the defaults of CORS_ORIGINS and GRAPHQL_INTROSPECTION and what must be set outside development.",
  },
  {
    name: 'JWT_SECRET',
    type: 'string',
    default: null,
    runtimes: BOTH,
    secret: true,
    description:
      'HS256 secret, at least 32 characters (a Worker secret in staging/production). This or JWT_JWKS_URL must be set; in development `npm start` and the Node runtime take a random one from `.dev.vars`.',
  },
  {
    name: 'JWT_JWKS_URL',
    type: 'url',
    default: null,
    runtimes: BOTH,
    secret: false,
    description:
      'JWKS URL of your identity provider: RS256/ES256 tokens are verified with its keys (cached 10 min per isolate; an unknown `kid` refetches at most every 30 s).',
  },
  {
    name: 'JWT_ISSUER',
    type: 'string',
    default: null,
    runtimes: BOTH,
    secret: false,
    description:
      'The `iss` a token must carry. Staging and production refuse to start without it when JWT_JWKS_URL is set.',
  },
  {
    name: 'JWT_AUDIENCE',
    type: 'string',
    default: null,
    runtimes: BOTH,
    secret: false,
    description: 'The `aud` a token must carry. Staging and production refuse to start without it.',
  },
  {
    name: 'JWT_MAX_TTL',
    type: 'duration',
    default: '24h',
    runtimes: BOTH,
    secret: false,
    description:
      'The longest token lifetime accepted (`exp − iat`, or `exp − now` without `iat`): seconds, or a number with `s`, `m`, `h`, `d` (`86400`, `24h`).',
  },
  {
    name: 'PUBLIC_URL',
    type: 'url',
    default: null,
    runtimes: BOTH,
    secret: false,
    description:
      'The URL this deployment is reached at (`https://changeflow.example.com`); its origin, with the exact CORS_ORIGINS, is what `/mcp` accepts as `Origin`, and the Node runtime on loopback answers for its host.',
  },
  {
    name: 'CORS_ORIGINS',
    type: 'list',
    default: null,
    defaultText: '`*` in development, none elsewhere',
    runtimes: BOTH,
    secret: false,
    description:
      'Comma-separated exact origins (`https://app.example`): a listed origin gets `Access-Control-Allow-Origin: <that origin>`, any other none, and its preflight 403; `*` only outside production.',
  },
  {
    name: 'GRAPHQL_INTROSPECTION',
    type: 'boolean',
    default: null,
    defaultText: '`true` in development, `false` elsewhere',
    runtimes: BOTH,
    secret: false,
    description:
      '`true` or `false`: GraphQL introspection (`__schema`, `__type`) and "Did you mean …?" suggestions in error messages; off, they are refused with `INTROSPECTION_DISABLED`.',
  },
  {
    name: 'RATE_LIMIT_ENABLED',
    type: 'boolean',
    default: 'true',
    runtimes: BOTH,
    secret: false,
    description: '`false` turns rate limiting off (for measurements; never in production).',
  },
  {
    name: 'RATE_LIMIT_PER_MINUTE',
    type: 'integer',
    default: '1000',
    runtimes: BOTH,
    secret: false,
    description:
      'Requests per caller (a JWT subject or an API key) in a sliding 60 s window: the base of the tiers.',
  },
  {
    name: 'RATE_LIMIT_BURST_PER_SECOND',
    type: 'integer',
    default: '50',
    runtimes: BOTH,
    secret: false,
    description: 'Requests per caller in a 1 s burst window: the base of the tiers.',
  },
  {
    name: 'RATE_LIMIT_TIERS',
    type: 'json',
    default: null,
    defaultText: 'none',
    runtimes: BOTH,
    secret: false,
    description:
      'JSON overrides per tier, e.g. `{"anonymous":{"perMinute":30},"mcpWrite":{"burstPerSecond":2}}`; tiers `anonymous` (by IP), `authenticated`, `apiKey`, `mcpRead`, `mcpWrite` (per caller and tool, resource template or prompt). Without overrides: anonymous 60/10, MCP reads 300/20, MCP writes 60/5.',
  },
  {
    name: 'RATE_LIMIT_PER_IP_PER_MINUTE',
    type: 'integer',
    default: '300',
    runtimes: BOTH,
    secret: false,
    description:
      'Requests per minute from one client address, whoever they authenticate as; checked first, before any credential is looked up (over it: 429 `RATE_LIMITED` with `Retry-After`).',
  },
  {
    name: 'SECRETS_KEY',
    type: 'key',
    default: null,
    runtimes: BOTH,
    secret: true,
    description:
      'base64 of 32 random bytes (`openssl rand -base64 32`): the key-encryption key of workflow secrets (a Worker secret). Without it secrets can be neither saved (`SECRETS_NOT_CONFIGURED`) nor used; in development `npm start` and the Node runtime take a random one from `.dev.vars`.',
  },
  {
    name: 'SECRETS_KEY_PREVIOUS',
    type: 'key',
    default: null,
    runtimes: BOTH,
    secret: true,
    description:
      'The key SECRETS_KEY replaced, during a rotation: still decrypts, never encrypts; must differ from SECRETS_KEY.',
  },
  {
    name: 'EGRESS_ALLOW_PRIVATE',
    type: 'boolean',
    default: 'false',
    runtimes: BOTH,
    secret: false,
    description:
      '`true` lets workflow HTTP steps reach loopback, private and metadata addresses; development only, refused in staging and production.',
  },
  {
    name: 'EGRESS_ALLOW_PRIVATE_HOSTS',
    type: 'list',
    default: null,
    defaultText: 'none',
    runtimes: BOTH,
    secret: false,
    description:
      'Comma-separated exact hosts (`billing.internal`, `10.0.0.7`, `[fd00::7]`) excepted from the egress refusals, in any environment; printed at start-up.',
  },
  {
    name: 'WS_MAX_SUBSCRIPTIONS_PER_SOCKET',
    type: 'integer',
    default: '20',
    runtimes: BOTH,
    secret: false,
    description:
      'Subscriptions one WebSocket may run at a time; the next subscribe gets `TOO_MANY_SUBSCRIPTIONS`.',
  },
  {
    name: 'WS_MAX_SOCKETS_PER_CALLER',
    type: 'integer',
    default: '10',
    runtimes: BOTH,
    secret: false,
    description:
      'WebSockets one caller (a JWT subject or an API key) may hold open; the next upgrade gets HTTP 429 `TOO_MANY_CONNECTIONS`.',
  },
  {
    name: 'WS_CREDENTIAL_RECHECK_MS',
    type: 'integer',
    default: '5000',
    runtimes: BOTH,
    secret: false,
    description:
      'How often an open WebSocket or SSE stream looks its API key up again, in ms (at most 5000).',
  },
  {
    name: 'HUB_PING_INTERVAL_MS',
    type: 'integer',
    default: '15000',
    runtimes: WORKER,
    secret: false,
    description:
      'Tuning: ms between pings to WebSocket clients; one that has not answered by the next is dropped.',
  },
  {
    name: 'BREAKER_FAILURE_THRESHOLD',
    type: 'integer',
    default: String(DEFAULT_FAILURE_THRESHOLD),
    runtimes: WORKER,
    secret: false,
    description: "Tuning: consecutive failures that open an upstream host's circuit breaker.",
  },
  {
    name: 'BREAKER_COOLDOWN_MS',
    type: 'integer',
    default: String(DEFAULT_COOLDOWN_MS),
    runtimes: WORKER,
    secret: false,
    description: 'Tuning: ms an open circuit breaker waits before it lets one probe through.',
  },
  {
    name: 'EXECUTION_CANCEL_POLL_MS',
    type: 'integer',
    default: '250',
    runtimes: WORKER,
    secret: false,
    description: 'Tuning: how often an in-flight workflow HTTP call checks for a cancel, in ms.',
  },
  {
    name: 'EXECUTION_GATE_POLL_MS',
    type: 'integer',
    default: '300000',
    runtimes: WORKER,
    secret: false,
    description: 'Tuning: how long an approval gate sleeps between checks without a wake, in ms.',
  },
  {
    name: 'EXECUTION_NUDGE_AFTER_MS',
    type: 'integer',
    default: '60000',
    runtimes: WORKER,
    secret: false,
    description: 'Tuning: how late past its wake time the watchdog nudges a live execution, in ms.',
  },
  {
    name: 'CHANGEFLOW_DB',
    type: 'string',
    default: null,
    runtimes: NODE,
    secret: false,
    description: 'The SQLite file (`--db` wins); created, with its directory, if missing.',
  },
  {
    name: 'CHANGEFLOW_PORT',
    type: 'integer',
    default: '8788',
    runtimes: NODE,
    secret: false,
    description: 'The port to listen on (`--port` wins; 0 picks a free one).',
  },
  {
    name: 'CHANGEFLOW_HOST',
    type: 'string',
    default: '127.0.0.1',
    runtimes: NODE,
    secret: false,
    description:
      'The address to listen on (`--host` wins). On loopback only requests naming a loopback host or PUBLIC_URL are answered.',
  },
  {
    name: 'CHANGEFLOW_TRUST_PROXY',
    type: 'enum',
    default: null,
    defaultText: 'none: the peer address',
    runtimes: NODE,
    secret: false,
    description:
      "The one header a reverse proxy in front sets to the client's address (`--trust-proxy` wins): cf, x-real-ip or x-forwarded-for.",
  },
] as const satisfies readonly VariableSpec[];

export type VariableName = (typeof VARIABLES)[number]['name'];

/** The variables as Workers bindings and process.env deliver them: strings, any of them unset. */
export type ConfigVars = { [K in VariableName]?: string };

/** Every variable's name. */
export const CONFIG_VARS: readonly VariableName[] = VARIABLES.map((v) => v.name);

const SPECS = new Map<string, VariableSpec>(VARIABLES.map((v) => [v.name, v]));

/** The variables of an environment (process.env, Worker bindings), and nothing else. */
export function configVars(env: object): ConfigVars {
  const vars: Record<string, string> = {};
  for (const name of CONFIG_VARS) {
    const value = (env as Record<string, unknown>)[name];
    if (typeof value === 'string') vars[name] = value;
  }
  return vars as ConfigVars;
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
  return blank(raw) ? (SPECS.get(name)?.default ?? undefined) : raw;
}

function positiveInt(vars: ConfigVars, name: VariableName): number {
  const raw = setting(vars, name);
  const n = Number(raw);
  if (raw === undefined || !Number.isInteger(n) || n <= 0)
    throw new ConfigError(name, `must be a positive integer (got "${raw ?? ''}")`);
  return n;
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
  const rateLimitPerMinute = positiveInt(vars, 'RATE_LIMIT_PER_MINUTE');
  const rateLimitBurstPerSecond = positiveInt(vars, 'RATE_LIMIT_BURST_PER_SECOND');
  const base = { perMinute: rateLimitPerMinute, burstPerSecond: rateLimitBurstPerSecond };
  const jwt: Config['jwt'] = {
    secret,
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
    corsOrigins,
    rateLimitPerMinute,
    rateLimitBurstPerSecond,
    rateLimits: tierLimits(base, tierOverrides(vars.RATE_LIMIT_TIERS)),
    introspection: bool('GRAPHQL_INTROSPECTION', vars.GRAPHQL_INTROSPECTION, environment === 'development'),
    rateLimitEnabled: flag(vars, 'RATE_LIMIT_ENABLED'),
    secretKeys: parseSecretKeys(vars),
    egress: parseEgressSettings(vars),
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
  };
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
 * (.dev.vars), and then SECRETS_KEY too unless it is set. A configured process (tests, a
 * deployment) gets nothing supplied.
 */
export function withDevelopmentKeys(
  env: object,
  supply: { jwtSecret: () => string; secretsKey: () => string },
): { vars: ConfigVars; supplied: ('JWT_SECRET' | 'SECRETS_KEY')[] } {
  const vars = configVars(env);
  const supplied: ('JWT_SECRET' | 'SECRETS_KEY')[] = [];
  if (envOf(vars) !== 'development' || !blank(vars.JWT_SECRET) || !blank(vars.JWT_JWKS_URL)) {
    return { vars, supplied };
  }
  vars.JWT_SECRET = supply.jwtSecret();
  supplied.push('JWT_SECRET');
  if (blank(vars.SECRETS_KEY)) {
    vars.SECRETS_KEY = supply.secretsKey();
    supplied.push('SECRETS_KEY');
  }
  return { vars, supplied };
}

/** The Node server's own variables (CHANGEFLOW_*), unparsed: its command-line flags win over them. */
export function nodeServerVars(env: object): {
  db?: string;
  port?: string;
  host?: string;
  trustProxy?: string;
} {
  const vars = configVars(env);
  return {
    db: vars.CHANGEFLOW_DB,
    port: setting(vars, 'CHANGEFLOW_PORT'),
    host: setting(vars, 'CHANGEFLOW_HOST'),
    trustProxy: vars.CHANGEFLOW_TRUST_PROXY,
  };
}
