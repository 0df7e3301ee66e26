import type { GraphQLSchema } from 'graphql';
import { type Config, ConfigError, type ConfigVars, loadConfig } from '../config';
import { CONFIG_VARS } from '../configVariables';
import { describeEgress } from '../domain/egress';
import { createLogger } from '../log';
import type { AppPages } from '../mcp/apps';
import { buildCatalog } from '../mcp/catalog';
import { createMcpEndpoint } from '../mcp/http';
import { newObservation, type Observation, type RequestSample, routeLabel } from '../metrics/observation';
import { type RateLimiterPort, rateLimitHeaders, requestKey } from '../ratelimit/policy';
import type { Decision } from '../ratelimit/slidingWindow';
import { printSDL } from '../schema/sdl';
import { drainBody } from '../streams';
import type { FollowUpsPort } from '../usecases/outbox';
import type { AuditArchive } from '../usecases/ports/auditArchive';
import type { EventsPort } from '../usecases/ports/events';
import type { ExecutionsPort } from '../usecases/ports/executions';
import type { LivePort } from '../usecases/ports/live';
import type { WriteLock } from '../usecases/ports/writeLock';
import { type AuthResult, authenticate } from './authenticate';
import { limitBody } from './bodyLimit';
import { applyCors, preflightResponse } from './cors';
import { createGraphQLServer, type GraphQLServer, type ServerContext } from './graphqlServer';
import { hostAllowedOnLoopback } from './rebinding';
import { requestIdFor } from './requestId';
import { errorResponse, jsonErrorResponse, type Surface } from './responses';
import { matchRoute, type Route, type RouteContext } from './routes';
import { withSecurityHeaders } from './securityHeaders';
import type { SessionCredential } from './wsSession';

/** The bindings the app needs, whatever the runtime. */
export interface AppBindings extends ConfigVars {
  DB: D1Database;
  /** The static assets (the dashboard, offline GraphiQL): the Worker's binding, or public/ on Node. */
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
  /**
   * Where the MCP Apps' pages come from instead of the static assets (the Node runtime: the
   * committed modules, so that they never depend on a public/ directory). A Worker reads them
   * through env.ASSETS.
   */
  appPages?: AppPages;
  /** Runs workflow executions durably (Cloudflare Workflows in a Worker, the process's engine on Node). */
  executions?: ExecutionsPort;
  /** Queues a tenant's writes where all writers share this process (Node); absent in a Worker. */
  writeLock?: WriteLock;
  /** Runs the follow-ups a write queued once it committed (usecases/outbox.ts); absent: the cron does. */
  followUps?: FollowUpsPort;
  /**
   * Where unexpected errors go besides the log (the Worker's Sentry, when SENTRY_DSN is set): a
   * bug, never a caller's mistake. Must not throw or delay the response.
   */
  reportError?: (error: unknown, details: { requestId: string }) => void;
  /** Where signed audit digests are written (R2 in a Worker, a directory on Node); absent: none. */
  auditArchive?: AuditArchive | null;
}

/** 429 in the shape the route's clients understand. */
function tooManyRequests(surface: Surface, d: Decision): Response {
  const message = `Rate limit exceeded (${d.limit} requests per minute); retry after ${d.retryAfterSeconds} s`;
  return errorResponse(
    surface,
    'RATE_LIMITED',
    message,
    { retryAfterSeconds: d.retryAfterSeconds },
    rateLimitHeaders(d),
  );
}

/**
 * The client's address: CF-Connecting-IP only, which Cloudflare sets (a client cannot) and the
 * Node runtime sets from the one header its --trust-proxy names, or the peer address.
 */
const clientIp = (request: Request) => request.headers.get('cf-connecting-ip') ?? 'unknown';

/**
 * The HTTP surface: routing, request ids, logs, authentication and rate limits shared by every
 * route. Runtime-agnostic: the Worker (and any other entry) passes its bindings and ports in.
 */
export function createApp(schema: GraphQLSchema, options: { logSink?: (line: string) => void } = {}) {
  // Config and the Yoga instance are built once per configuration (once per isolate in a Worker).
  let built: { config: Config; yoga: GraphQLServer } | null = null;
  // The variables `built` was made from, and the object they were read on: a request with the
  // same values (compared one by one, not by building loadConfig's fingerprint) reuses it.
  let builtFrom: { env: AppBindings; values: unknown[] } | null = null;
  let sdl: string | null = null;
  let mcp: ReturnType<typeof createMcpEndpoint> | null = null;
  const logger = createLogger({ service: 'changeflow' }, options.logSink);

  function sameVariables(env: AppBindings): boolean {
    if (!builtFrom) return false;
    if (builtFrom.env === env && Object.isFrozen(env)) return true;
    const values = builtFrom.values;
    const vars = env as unknown as Record<string, unknown>;
    for (let i = 0; i < CONFIG_VARS.length; i++) {
      if (vars[CONFIG_VARS[i] as string] !== values[i]) return false;
    }
    return true;
  }

  function setup(env: AppBindings) {
    if (built && sameVariables(env)) return built;
    // Rebuilt only when a configuration variable changes (loadConfig caches by their values).
    const config = loadConfig(env);
    const vars = env as unknown as Record<string, unknown>;
    builtFrom = { env, values: CONFIG_VARS.map((name) => vars[name]) };
    if (built?.config !== config) {
      built = { config, yoga: createGraphQLServer(schema, config) };
      // An operator's deliberate exception to the egress refusals is said once per configuration.
      if (config.egress.allowPrivate || config.egress.allowPrivateHosts.length) {
        logger.log('warn', 'workflow HTTP egress exceptions', { egress: describeEgress(config.egress) });
      }
    }
    return built;
  }

  /**
   * One request to a route, once the caller is known and within its limits: the route's own
   * refusal first (guard), then its methods and body cap, then its handler.
   */
  async function serve(
    request: Request,
    route: Route,
    params: string[],
    env: AppBindings,
    app: NonNullable<typeof built>,
    auth: AuthResult,
    requestId: string,
    ports: AppPorts,
    observation: Observation,
    chargeCaller: ((units: number) => Promise<Decision>) | null,
    pathname: string,
  ): Promise<Response> {
    const refusal = route.guard?.(request, app.config);
    if (refusal) return refusal;
    if (!(route.methods as readonly string[]).includes(request.method)) {
      const allow = route.methods.join(', ');
      return errorResponse(
        route.surface,
        'METHOD_NOT_ALLOWED',
        `${request.method} is not served at ${pathname}; use ${route.methods.join(' or ')}`,
        {},
        { allow },
      );
    }
    // Bodies are capped before anything reads them: Content-Length first, then while streaming.
    const body = route.bodyLimit === null ? { request } : await limitBody(request, route.bodyLimit);
    if ('tooLarge' in body) {
      return errorResponse(
        route.surface,
        'PAYLOAD_TOO_LARGE',
        `Request body too large: the limit is ${body.limitBytes} bytes (${Math.round(body.limitBytes / 1024)} KiB)`,
        { limitBytes: body.limitBytes },
      );
    }
    const config = app.config;
    const serverContext: ServerContext = {
      db: env.DB,
      config,
      requestId,
      auth,
      logger,
      source: 'graphql',
      observation,
      ...(ports.live ? { live: ports.live } : {}),
      ...(ports.events ? { events: ports.events } : {}),
      ...(ports.executions ? { executions: ports.executions } : {}),
      ...(ports.writeLock ? { writeLock: ports.writeLock } : {}),
      ...(ports.followUps ? { followUps: ports.followUps } : {}),
      ...(ports.reportError ? { reportError: ports.reportError } : {}),
      ...(ports.auditArchive ? { auditArchive: ports.auditArchive } : {}),
    };
    const context: RouteContext = {
      request: body.request,
      env,
      config,
      yoga: app.yoga,
      auth,
      requestId,
      ports,
      logger,
      observation,
      limiter: config.rateLimitEnabled ? (ports.rateLimiter ?? null) : null,
      chargeCaller,
      serverContext,
      sdl: () => {
        sdl ??= printSDL(schema);
        return sdl;
      },
      mcp: () => {
        mcp ??= createMcpEndpoint(buildCatalog(schema), config.version);
        return mcp;
      },
      params,
    };
    return route.handle(context);
  }

  async function route(
    request: Request,
    url: URL,
    env: AppBindings,
    ports: AppPorts,
    requestId: string,
    observation: Observation,
    app: NonNullable<typeof built> | ConfigError,
  ): Promise<Response> {
    if (app instanceof ConfigError) {
      logger.log('error', 'invalid configuration', {
        requestId,
        variables: app.variables,
        error: app.message,
      });
      return jsonErrorResponse('CONFIG_INVALID', app.message, { variables: app.variables });
    }
    const { pathname } = url;
    if (ports.loopbackOnly && !hostAllowedOnLoopback(url, app.config.publicOrigin)) {
      const host = url.host;
      const message = `This server listens on loopback only and does not answer for host ${host} (a DNS-rebinding request); use localhost, or set PUBLIC_URL to the name a proxy passes`;
      return jsonErrorResponse('HOST_NOT_ALLOWED', message);
    }
    // CORS preflights carry no credentials: answered before authentication and rate limits.
    if (request.method === 'OPTIONS') return preflightResponse(request, app.config.corsOrigins);
    const match = matchRoute(pathname);
    const surface = match?.route.surface ?? 'json';
    const none: AuthResult = { principal: null, error: null };
    // Health checks come from load balancers and monitors: neither authenticated nor limited.
    if (match && !match.route.rateLimited) {
      return serve(
        request,
        match.route,
        match.params,
        env,
        app,
        none,
        requestId,
        ports,
        observation,
        null,
        pathname,
      );
    }
    const limiter = app.config.rateLimitEnabled ? (ports.rateLimiter ?? null) : null;
    // Per address first, before any credential lookup: junk API keys cost a D1 read only within it.
    if (limiter) {
      const perIp = await limiter(`ip:${clientIp(request)}`, app.config.perIpLimit);
      if (!perIp.allowed) return tooManyRequests(surface, perIp);
    }
    const resource = match?.route.tokenResource?.(request, app.config) ?? undefined;
    const auth: AuthResult = match?.route.auth
      ? await authenticate(request, app.config, env.DB, resource)
      : none;
    let decision: Decision | null = null;
    let chargeCaller: ((units: number) => Promise<Decision>) | null = null;
    if (limiter) {
      const rateLimiter = limiter;
      const { tier, key } = requestKey(auth.principal, clientIp(request));
      decision = await rateLimiter(key, app.config.rateLimits[tier]);
      if (!decision.allowed) return tooManyRequests(surface, decision);
      // An MCP batch spends one unit per message; the headers then show what is left after it.
      chargeCaller = async (units) => {
        const d = await rateLimiter(key, app.config.rateLimits[tier], units);
        if (d.allowed) decision = d;
        return d;
      };
    }
    const response = match
      ? await serve(
          request,
          match.route,
          match.params,
          env,
          app,
          auth,
          requestId,
          ports,
          observation,
          chargeCaller,
          pathname,
        )
      : jsonErrorResponse('NOT_FOUND', `No route for ${pathname}`);
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

  /**
   * What every response gets on its way out: security headers, CORS, the request id (the one
   * place it is set, for Yoga's responses too). `config` is null when it is invalid (answered 503
   * already): no CORS, security headers as in production.
   */
  async function finish(request: Request, response: Response, config: Config | null, requestId: string) {
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
      // Parsed once for the whole request (routing, the loopback check, the log line).
      const url = new URL(request.url);
      let response: Response;
      const observation = newObservation();
      let app: NonNullable<typeof built> | ConfigError | null = null;
      try {
        try {
          app = setup(env);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          app = e;
        }
        response = await route(request, url, env, ports, requestId, observation, app);
      } catch (e) {
        logger.log('error', 'unhandled error', { requestId, error: String((e as Error)?.stack ?? e) });
        ports.reportError?.(e, { requestId });
        response = jsonErrorResponse('INTERNAL', 'Unexpected error', { requestId });
      }
      // An early answer (401, 413, 415, 429...) leaves the body unread: take the rest first.
      await drainBody(request);
      response = await finish(
        request,
        response,
        app && !(app instanceof ConfigError) ? app.config : null,
        requestId,
      );
      const path = url.pathname;
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
