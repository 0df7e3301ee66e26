import type { GraphQLSchema } from 'graphql';
import { type Config, ConfigError, type ConfigVars, loadConfig } from '../config';
import { describeEgress } from '../engine/egress';
import { createLogger } from '../log';
import { buildCatalog, type McpCatalog } from '../mcp/catalog';
import { createMcpEndpoint, PROTECTED_RESOURCE_PATH, protectedResourceMetadata } from '../mcp/http';
import type { ExecuteOperation, OperationResult } from '../mcp/server';
import { newObservation, type Observation, type RequestSample, routeLabel } from '../metrics/observation';
import { type RateLimiterPort, rateLimitHeaders, requestKey, toolKey } from '../ratelimit/policy';
import type { Decision } from '../ratelimit/slidingWindow';
import { printSDL } from '../schema/sdl';
import type { EventsPort } from '../usecases/ports/events';
import type { ExecutionsPort } from '../usecases/ports/executions';
import type { LivePort } from '../usecases/ports/live';
import type { WriteLock } from '../usecases/ports/writeLock';
import { type AuthResult, authenticate } from './authenticate';
import { limitBody, MAX_BODY_BYTES, payloadTooLarge } from './bodyLimit';
import { applyCors, preflightResponse } from './cors';
import { createGraphQLServer, type GraphQLServer, type ServerContext } from './graphqlServer';
import { checkHealth } from './health';
import { type IdempotencyClaim, withIdempotency } from './idempotency';
import { liveRoute, metricsRoute, wsTicketRoute } from './liveRoutes';
import { hostAllowedOnLoopback } from './rebinding';
import { requestIdFor } from './requestId';
import { graphqlErrorResponse } from './responses';
import { withSecurityHeaders } from './securityHeaders';
import { drainBody } from './streams';
import { receiveWebhook, WEBHOOK_PATH } from './webhooks';
import type { SessionCredential } from './wsSession';

/** The bindings the app needs, whatever the runtime. */
export interface AppBindings extends ConfigVars {
  DB: D1Database;
  /** Workers static assets (the dashboard, offline GraphiQL); absent in other runtimes. */
  ASSETS?: Fetcher;
}

/** Services the runtime provides beyond bindings (a Worker: Durable Objects). */
export interface AppPorts {
  /** Without one, requests are not rate limited (tests of other features, tools). */
  rateLimiter?: RateLimiterPort | null;
  /** Where committed changes are announced (the tenant hubs). */
  events?: EventsPort;
  /** System figures for the live snapshot. */
  live?: LivePort;
  /**
   * The server listens on loopback only (the Node runtime's default): requests must name a loopback
   * host or PUBLIC_URL's, anything else is DNS rebinding (src/http/rebinding.ts).
   */
  loopbackOnly?: boolean;
  /**
   * Hands a subscription request (WebSocket upgrade or SSE) to the hub of the credential's
   * tenant; the credential is checked already (see liveRoutes.ts) and watched for as long as it runs.
   */
  subscriptions?: (request: Request, credential: SessionCredential) => Promise<Response>;
  /** Records what a request did, for /metrics and the dashboard; must not delay the response. */
  recordRequest?: (sample: RequestSample) => void;
  /** The Prometheus text of everything recorded. */
  prometheus?: () => Promise<string>;
  /** Whether the live hub answers. */
  hubHealth?: () => Promise<'ok'>;
  /** Runs workflow executions durably (Cloudflare Workflows in a Worker); absent elsewhere. */
  executions?: ExecutionsPort;
  /** Queues a tenant's writes where all writers share this process (Node); absent in a Worker. */
  writeLock?: WriteLock;
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

/**
 * MCP tool calls run as GraphQL operations through the same Yoga pipeline as /graphql, with
 * the same idempotency handling when the agent passes an `idempotencyKey`.
 */
function executeThrough(yoga: GraphQLServer, context: ServerContext, db: D1Database): ExecuteOperation {
  return async (query, variables, toolName, idempotencyKey) => {
    const body = JSON.stringify({ query, variables });
    const run = (idempotency?: IdempotencyClaim) =>
      yoga.fetch(
        new Request('http://changeflow.internal/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body,
        }),
        { ...context, toolName, ...(idempotency ? { idempotency } : {}) },
      );
    const { principal } = context.auth;
    const response =
      idempotencyKey && principal
        ? await withIdempotency({
            db,
            principal,
            key: idempotencyKey,
            requestId: context.requestId,
            body,
            secretKeys: context.config.secretKeys,
            run,
          })
        : await run();
    return (await response.json()) as OperationResult;
  };
}

/** 429 in the shape each surface's clients understand. */
function tooManyRequests(path: string, d: Decision): Response {
  const message = `Rate limit exceeded (${d.limit} requests per minute); retry after ${d.retryAfterSeconds} s`;
  const headers = rateLimitHeaders(d);
  if (path === '/mcp') {
    return json(
      {
        jsonrpc: '2.0',
        error: { code: -32029, message, data: { retryAfterSeconds: d.retryAfterSeconds } },
        id: null,
      },
      429,
      headers,
    );
  }
  return graphqlErrorResponse(
    429,
    'RATE_LIMITED',
    message,
    { retryAfterSeconds: d.retryAfterSeconds },
    headers,
  );
}

/** Routes whose request bodies are read (and so capped, see bodyLimit.ts). */
const BODY_LIMITED_PATHS = new Set(['/graphql', '/mcp']);
const isBodyLimited = (path: string) => BODY_LIMITED_PATHS.has(path) || WEBHOOK_PATH.test(path);

/**
 * The client's address: CF-Connecting-IP only, which Cloudflare sets (a client cannot) and the
 * Node runtime sets from the one header its --trust-proxy names, or the peer address.
 */
const clientIp = (request: Request) => request.headers.get('cf-connecting-ip') ?? 'unknown';

/** A percent-encoded path segment, or null when it is not valid (`%`, `%zz`, a cut UTF-8 sequence). */
function decodePathSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * The HTTP surface: routing, request ids, logs, authentication and rate limits shared by every
 * route. Runtime-agnostic: the Worker (and any other entry) passes its bindings and ports in.
 */
export function createApp(schema: GraphQLSchema, options: { logSink?: (line: string) => void } = {}) {
  // Config and the Yoga instance are built once per configuration (once per isolate in a Worker).
  let built: { config: Config; yoga: GraphQLServer } | null = null;
  let sdl: string | null = null;
  let mcp: { catalog: McpCatalog; handle: ReturnType<typeof createMcpEndpoint> } | null = null;
  const logger = createLogger({ service: 'changeflow' }, options.logSink);

  function setup(env: AppBindings) {
    // Rebuilt only when a configuration variable changes (loadConfig caches by their values).
    const config = loadConfig(env);
    if (built?.config !== config) {
      built = { config, yoga: createGraphQLServer(schema, config) };
      // An operator's deliberate exception to the egress refusals is said once per configuration.
      if (config.egress.allowPrivate || config.egress.allowPrivateHosts.length) {
        logger.log('warn', 'workflow HTTP egress exceptions', { egress: describeEgress(config.egress) });
      }
    }
    return built;
  }

  function mcpEndpoint(version: string) {
    if (!mcp) {
      const catalog = buildCatalog(schema);
      mcp = { catalog, handle: createMcpEndpoint(catalog, version) };
    }
    return mcp.handle;
  }

  async function serve(
    request: Request,
    env: AppBindings,
    app: NonNullable<typeof built>,
    auth: AuthResult,
    requestId: string,
    ports: AppPorts,
    observation: Observation,
    /** Spends more of the caller's limit than the one unit the request spent (see route). */
    chargeCaller: ((units: number) => Promise<Decision>) | null,
  ): Promise<Response> {
    const { pathname } = new URL(request.url);
    const { principal } = auth;
    const limiter = app.config.rateLimitEnabled ? (ports.rateLimiter ?? null) : null;
    const context: ServerContext = {
      db: env.DB,
      config: app.config,
      requestId,
      auth,
      logger,
      source: 'graphql',
      observation,
      ...(ports.live ? { live: ports.live } : {}),
      ...(ports.events ? { events: ports.events } : {}),
      ...(ports.executions ? { executions: ports.executions } : {}),
      ...(ports.writeLock ? { writeLock: ports.writeLock } : {}),
    };
    const hook = WEBHOOK_PATH.exec(pathname);
    if (hook) {
      const workflowId = decodePathSegment(hook[1] as string);
      if (workflowId === null) {
        return json(
          {
            error: {
              code: 'BAD_REQUEST',
              message: 'The workflow id in a webhook path is not valid percent-encoding',
            },
          },
          400,
        );
      }
      return receiveWebhook(request, env.DB, workflowId, ports, app.config.secretKeys);
    }
    switch (pathname) {
      case '/graphql': {
        const live = await liveRoute(request, env, app.config, auth, ports);
        if (live) return live;
        const key = request.headers.get('idempotency-key');
        if (key === null || !auth.principal || request.method !== 'POST')
          return app.yoga.fetch(request, context);
        const body = await request.text();
        return withIdempotency({
          db: env.DB,
          principal: auth.principal,
          key,
          requestId,
          body,
          secretKeys: app.config.secretKeys,
          run: (idempotency) =>
            app.yoga.fetch(new Request(request.url, { method: 'POST', headers: request.headers, body }), {
              ...context,
              idempotency,
            }),
        });
      }
      case '/graphql/ws-ticket':
        return wsTicketRoute(request, env.DB, auth);
      case '/mcp':
        return mcpEndpoint(app.config.version)(request, {
          auth,
          origins: app.config,
          issuer: app.config.jwt.issuer,
          chargeCaller,
          execute: executeThrough(app.yoga, { ...context, source: 'mcp' }, env.DB),
          observeToolCall: (tool, outcome) => observation.toolCalls.push({ tool, outcome }),
          limitTool:
            limiter && principal
              ? (budget) => {
                  const { tier, key } = toolKey(principal, budget.name, budget.readOnly);
                  return limiter(key, app.config.rateLimits[tier]);
                }
              : null,
        });
      case '/metrics':
        return metricsRoute(app.config, principal, ports);
      case '/schema.graphql':
        // The SDL is the schema: published only where introspection is.
        if (!app.config.introspection) {
          return json(
            { error: { code: 'INTROSPECTION_DISABLED', message: 'The schema is not published here' } },
            403,
          );
        }
        sdl ??= printSDL(schema);
        return new Response(sdl, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
      case PROTECTED_RESOURCE_PATH:
      case `${PROTECTED_RESOURCE_PATH}/mcp`:
        return protectedResourceMetadata(request, app.config.jwt.issuer);
      default:
        return json({ error: { code: 'NOT_FOUND', message: `No route for ${pathname}` } }, 404);
    }
  }

  async function route(
    request: Request,
    env: AppBindings,
    ports: AppPorts,
    requestId: string,
    observation: Observation,
  ): Promise<Response> {
    let app: NonNullable<typeof built>;
    try {
      app = setup(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      logger.log('error', 'invalid configuration', { requestId, variables: e.variables, error: e.message });
      return json({ error: { code: 'CONFIG_INVALID', message: e.message, variables: e.variables } }, 503);
    }
    const { pathname } = new URL(request.url);
    if (ports.loopbackOnly && !hostAllowedOnLoopback(request.url, app.config.publicOrigin)) {
      const host = new URL(request.url).host;
      const message = `This server listens on loopback only and does not answer for host ${host} (a DNS-rebinding request); use localhost, or set PUBLIC_URL to the name a proxy passes`;
      return json({ error: { code: 'HOST_NOT_ALLOWED', message } }, 403);
    }
    // CORS preflights carry no credentials: answered before authentication and rate limits.
    if (request.method === 'OPTIONS') return preflightResponse(request, app.config.corsOrigins);
    // Health checks come from load balancers and monitors: neither authenticated nor limited.
    if (pathname === '/health') {
      const { report, failures } = await checkHealth(env.DB, app.config, ports.hubHealth);
      // The reasons stay in the log: /health answers anyone.
      if (report.status !== 'ok') logger.log('error', 'health check failed', { requestId, failures });
      return json(report, report.status === 'ok' ? 200 : 503, { 'cache-control': 'no-store' });
    }
    const limiter = app.config.rateLimitEnabled ? (ports.rateLimiter ?? null) : null;
    // Per address first, before any credential lookup: junk API keys cost a D1 read only within it.
    if (limiter) {
      const perIp = await limiter(`ip:${clientIp(request)}`, app.config.perIpLimit);
      if (!perIp.allowed) return tooManyRequests(pathname, perIp);
    }
    const needsAuth =
      pathname === '/graphql' ||
      pathname === '/graphql/ws-ticket' ||
      pathname === '/mcp' ||
      pathname === '/metrics';
    const auth: AuthResult = needsAuth
      ? await authenticate(request, app.config, env.DB)
      : { principal: null, error: null };
    let decision: Decision | null = null;
    let chargeCaller: ((units: number) => Promise<Decision>) | null = null;
    if (limiter) {
      const rateLimiter = limiter;
      const { tier, key } = requestKey(auth.principal, clientIp(request));
      decision = await rateLimiter(key, app.config.rateLimits[tier]);
      if (!decision.allowed) return tooManyRequests(pathname, decision);
      // An MCP batch spends one unit per message; the headers then show what is left after it.
      chargeCaller = async (units) => {
        const d = await rateLimiter(key, app.config.rateLimits[tier], units);
        if (d.allowed) decision = d;
        return d;
      };
    }
    // Bodies are capped before anything reads them: Content-Length first, then while streaming.
    const body = isBodyLimited(pathname) ? await limitBody(request, MAX_BODY_BYTES) : { request };
    const response =
      'tooLarge' in body
        ? payloadTooLarge(pathname, body.limitBytes)
        : await serve(body.request, env, app, auth, requestId, ports, observation, chargeCaller);
    if (!decision || response.status === 101) return response;
    const headers = rateLimitHeaders(decision);
    try {
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      return response;
    } catch {
      // Immutable headers (a response from fetch or a cache): copy it.
      const limited = new Response(response.body, response);
      for (const [name, value] of Object.entries(headers)) limited.headers.set(name, value);
      return limited;
    }
  }

  /** What every response gets on its way out: security headers, CORS, the request id. */
  async function finish(request: Request, response: Response, env: AppBindings, requestId: string) {
    let config: Config | null = null;
    try {
      config = setup(env).config;
    } catch {
      // Invalid configuration (answered 503 already): no CORS, security headers as in production.
    }
    // A WebSocket upgrade cannot be copied and its headers mean nothing to a browser.
    if (response.status === 101 || (response as { webSocket?: unknown }).webSocket) return response;
    const secured = await withSecurityHeaders(response, config?.environment ?? null);
    if (!secured.headers.has('X-Request-Id')) secured.headers.set('X-Request-Id', requestId);
    if (config) applyCors(secured.headers, request, config.corsOrigins);
    return secured;
  }

  return {
    async fetch(request: Request, env: AppBindings, ports: AppPorts = {}): Promise<Response> {
      const started = Date.now();
      const requestId = requestIdFor(request);
      let response: Response;
      const observation = newObservation();
      try {
        response = await route(request, env, ports, requestId, observation);
      } catch (e) {
        logger.log('error', 'unhandled error', { requestId, error: String((e as Error)?.stack ?? e) });
        response = json({ error: { code: 'INTERNAL', message: 'Unexpected error', requestId } }, 500);
      }
      // An early answer (401, 413, 415, 429...) leaves the body unread: take the rest first.
      await drainBody(request);
      response = await finish(request, response, env, requestId);
      const path = new URL(request.url).pathname;
      const durationMs = Date.now() - started;
      logger.log('info', 'request', {
        requestId,
        method: request.method,
        path,
        status: response.status,
        durationMs,
      });
      ports.recordRequest?.({
        route: routeLabel(path),
        status: response.status,
        durationMs,
        errorCodes: observation.errorCodes,
        toolCalls: observation.toolCalls,
        at: Date.now(),
      });
      return response;
    },
  };
}
