import { DEFAULT_COOLDOWN_MS, DEFAULT_FAILURE_THRESHOLD } from './engine/circuitBreaker';

// The list of every environment variable (name, type, default, runtimes, description): the data
// parseConfig (src/config.ts) parses, docs/configuration.md is generated from, and the checks
// that nothing else reads a variable by name are built on.

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
 * (generated from this list by `npm run codegen`). Nothing outside src/config.ts reads a variable
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
    name: 'JWT_SECRET_PREVIOUS',
    type: 'string',
    default: null,
    runtimes: BOTH,
    secret: true,
    description:
      'The secret JWT_SECRET replaced, during a rotation: HS256 tokens it signed keep verifying until they expire (JWT_MAX_TTL), then remove it. Needs JWT_SECRET, at least 32 characters, different from it.',
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
      "The `iss` a token must carry: your authorization server's issuer URL, which the MCP protected-resource metadata names in `authorization_servers`. Staging and production refuse to start without it when JWT_JWKS_URL is set, and outside development the metadata answers `CONFIG_INVALID` without it.",
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
    name: 'MCP_RESOURCE_URL',
    type: 'url',
    default: null,
    defaultText: "in development, the request's origin + `/mcp`; required elsewhere",
    runtimes: BOTH,
    secret: false,
    description:
      'The URL MCP clients reach `/mcp` at (`https://changeflow.example.com/mcp`): its resource identifier (RFC 8707, RFC 9728). A token presented to `/mcp` must name it in `aud` (API keys are unaffected; `/graphql` keeps JWT_AUDIENCE), and the protected-resource metadata publishes it. Outside development `/mcp` and its metadata answer `CONFIG_INVALID` until it is set.',
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
    name: 'AUDIT_DIGESTS_ENABLED',
    type: 'boolean',
    default: 'false',
    defaultText: '`false`; `wrangler.toml` sets `true` for every environment',
    runtimes: BOTH,
    secret: false,
    description:
      '`true`: every hour (and on demand, `createAuditDigest`) each tenant with new audit events gets a digest signed with AUDIT_SIGNING_KEY, written to the archive (the R2 bucket `AUDIT_ARCHIVE`; on Node, AUDIT_ARCHIVE_DIR) and recorded in D1. Outside development AUDIT_SIGNING_KEY is then required.',
  },
  {
    name: 'AUDIT_SIGNING_KEY',
    type: 'json',
    default: null,
    runtimes: BOTH,
    secret: true,
    description:
      'The Ed25519 private key that signs audit digests, as one-line JWK JSON with its key id: `{"kty":"OKP","crv":"Ed25519","d":"…","x":"…","kid":"2026-12"}` (`npm run -s audit:keygen` prints one; a Worker secret). Its public half is published at `/.well-known/changeflow-audit-keys.json`; in development `npm start` and the Node runtime take one from `.dev.vars`.',
  },
  {
    name: 'AUDIT_PUBLIC_KEYS',
    type: 'json',
    default: null,
    defaultText: 'none',
    runtimes: BOTH,
    secret: false,
    description:
      'JSON array of the public JWKs (`{"kty":"OKP","crv":"Ed25519","x":"…","kid":"…"}`, no `d`) of signing keys AUDIT_SIGNING_KEY replaced: still published, so that the digests they signed keep verifying; never used to sign.',
  },
  {
    name: 'AUDIT_ARCHIVE_DIR',
    type: 'string',
    default: null,
    runtimes: NODE,
    secret: false,
    description:
      'The directory the Node runtime writes audit digests and tenant exports to (what the R2 bucket `AUDIT_ARCHIVE` is for the Worker); created if missing. Required on Node when AUDIT_DIGESTS_ENABLED is `true`, and for exports.',
  },
  {
    name: 'BACKUP_EXPORTS_ENABLED',
    type: 'boolean',
    default: 'false',
    defaultText: '`false`; `wrangler.toml` sets `true` for staging and production',
    runtimes: BOTH,
    secret: false,
    description:
      '`true`: scheduled backups. At minute 30 of every hour, each tenant whose last export started BACKUP_EXPORT_INTERVAL_HOURS ago or more gets one, exported in bounded steps by the cron to the archive (the R2 bucket `AUDIT_ARCHIVE`; on Node, AUDIT_ARCHIVE_DIR) under `exports/<tenant>/<id>/`. Off, exports are only on demand (`exportTenant`).',
  },
  {
    name: 'BACKUP_EXPORT_INTERVAL_HOURS',
    type: 'integer',
    default: '24',
    runtimes: BOTH,
    secret: false,
    description: 'Hours between scheduled backups of each tenant, when BACKUP_EXPORTS_ENABLED is `true`.',
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
    runtimes: BOTH,
    secret: false,
    description: "Tuning: consecutive failures that open an upstream host's circuit breaker.",
  },
  {
    name: 'BREAKER_COOLDOWN_MS',
    type: 'integer',
    default: String(DEFAULT_COOLDOWN_MS),
    runtimes: BOTH,
    secret: false,
    description: 'Tuning: ms an open circuit breaker waits before it lets one probe through.',
  },
  {
    name: 'EXECUTION_CANCEL_POLL_MS',
    type: 'integer',
    default: '250',
    runtimes: BOTH,
    secret: false,
    description: 'Tuning: how often an in-flight workflow HTTP call checks for a cancel, in ms.',
  },
  {
    name: 'EXECUTION_GATE_POLL_MS',
    type: 'integer',
    default: '300000',
    runtimes: BOTH,
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
    name: 'METRICS_TOKEN',
    type: 'string',
    default: null,
    defaultText: 'none: outside development `/metrics` answers `METRICS_NOT_CONFIGURED`',
    runtimes: BOTH,
    secret: true,
    description:
      "The bearer token your Prometheus sends to `/metrics` (at least 32 characters; `openssl rand -hex 32`). The figures are service-wide, every tenant's traffic and backlog, so outside development `/metrics` answers this operator token only: no tenant's token or API key, whatever its roles. In development `/metrics` is open.",
  },
  {
    name: 'SENTRY_DSN',
    type: 'url',
    default: null,
    defaultText: 'none: no error tracking',
    runtimes: WORKER,
    secret: true,
    description:
      "Your Sentry project's DSN: unexpected errors (a 500 `INTERNAL`, a failing cron, a Workflow step's last attempt) are sent to it with the request id, method and path, never a body, a header, a cookie, a query string or a token ([deployment.md](deployment.md#error-tracking-and-traces)).",
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    type: 'url',
    default: null,
    defaultText: 'none: no traces',
    runtimes: WORKER,
    secret: false,
    description:
      'An OpenTelemetry collector (`https://otel.example.com`): spans of each request, GraphQL operation, D1 call and workflow step are sent as OTLP/HTTP JSON to `<endpoint>/v1/traces` ([deployment.md](deployment.md#error-tracking-and-traces)).',
  },
  {
    name: 'OTEL_EXPORTER_OTLP_HEADERS',
    type: 'list',
    default: null,
    defaultText: 'none',
    runtimes: WORKER,
    secret: true,
    description:
      'Headers sent with each export, as the OpenTelemetry specification writes them: `name=value` pairs, comma-separated, values URL-encoded (`authorization=Bearer%20abc`).',
  },
  {
    name: 'OTEL_TRACES_SAMPLER_ARG',
    type: 'string',
    default: '1',
    defaultText: '`1` (every request)',
    runtimes: WORKER,
    secret: false,
    description:
      "The share of requests and workflow executions traced, from `0` to `1` (`0.1`: one in ten), decided from the trace id like OpenTelemetry's `traceidratio` sampler. A caller's `traceparent` header never decides it, so an outside caller cannot make every request traced.",
  },
  {
    name: 'OTEL_SERVICE_NAME',
    type: 'string',
    default: 'changeflow',
    runtimes: WORKER,
    secret: false,
    description: "The traces' `service.name`.",
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
  {
    name: 'CHANGEFLOW_PUBLIC_DIR',
    type: 'string',
    default: null,
    defaultText: "the repository's public/",
    runtimes: NODE,
    secret: false,
    description:
      'The static pages to serve (`--public` wins): /dashboard, the offline GraphiQL and /api-reference/, built by `node scripts/buildAssets.mjs` (`npm run serve:node` builds them). Read once at start.',
  },
] as const satisfies readonly VariableSpec[];

export type VariableName = (typeof VARIABLES)[number]['name'];

/** The variables as Workers bindings and process.env deliver them: strings, any of them unset. */
export type ConfigVars = { [K in VariableName]?: string };

/** Every variable's name. */
export const CONFIG_VARS: readonly VariableName[] = VARIABLES.map((v) => v.name);

/** Each variable's entry, by name. */
export const VARIABLE_SPECS = new Map<string, VariableSpec>(VARIABLES.map((v) => [v.name, v]));

/** The variables of an environment (process.env, Worker bindings), and nothing else. */
export function configVars(env: object): ConfigVars {
  const vars: Record<string, string> = {};
  for (const name of CONFIG_VARS) {
    const value = (env as Record<string, unknown>)[name];
    if (typeof value === 'string') vars[name] = value;
  }
  return vars as ConfigVars;
}
