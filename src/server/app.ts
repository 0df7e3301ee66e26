import type { GraphQLSchema } from 'graphql';
import { CONFIG_VARS, type Config, ConfigError, type ConfigVars, parseConfig } from '../config';
import { buildCatalog, type McpCatalog } from '../mcp/catalog';
import { createMcpEndpoint, PROTECTED_RESOURCE_PATH, protectedResourceMetadata } from '../mcp/http';
import type { ExecuteOperation, OperationResult } from '../mcp/server';
import { type RateLimiterPort, rateLimitHeaders, requestKey, toolKey } from '../ratelimit/policy';
import type { Decision } from '../ratelimit/slidingWindow';
import { printSDL } from '../schema/sdl';
import { type AuthResult, authenticate } from './authenticate';
import { createGraphQLServer, type GraphQLServer, type ServerContext } from './graphqlServer';
import { checkHealth } from './health';
import { type IdempotencyClaim, withIdempotency } from './idempotency';
import { createLogger, requestIdFor } from './logger';

/** The bindings the app needs, whatever the runtime. */
export interface AppBindings extends ConfigVars {
  DB: D1Database;
}

/** Services the runtime provides beyond bindings (a Worker: Durable Objects). */
export interface AppPorts {
  /** Without one, requests are not rate limited (tests of other features, tools). */
  rateLimiter?: RateLimiterPort | null;
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
  return json(
    { errors: [{ message, extensions: { code: 'RATE_LIMITED', retryAfterSeconds: d.retryAfterSeconds } }] },
    429,
    headers,
  );
}

const clientIp = (request: Request) =>
  request.headers.get('cf-connecting-ip') ?? request.headers.get('x-real-ip') ?? 'unknown';

/**
 * The HTTP surface: routing, request ids, logs, authentication and rate limits shared by every
 * route. Runtime-agnostic: the Worker (and any other entry) passes its bindings and ports in.
 */
export function createApp(schema: GraphQLSchema) {
  // Config and the Yoga instance are built once per configuration (once per isolate in a Worker).
  let built: { fingerprint: string; config: Config; yoga: GraphQLServer } | null = null;
  let sdl: string | null = null;
  let mcp: { catalog: McpCatalog; handle: ReturnType<typeof createMcpEndpoint> } | null = null;
  const logger = createLogger({ service: 'changeflow' });

  function setup(env: AppBindings) {
    // Rebuilt only when a configuration variable changes, whatever object the runtime passes.
    const fingerprint = CONFIG_VARS.map((k) => env[k] ?? '').join('\u0000');
    if (built?.fingerprint !== fingerprint) {
      const config = parseConfig(env);
      built = { fingerprint, config, yoga: createGraphQLServer(schema, config) };
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
    limiter: RateLimiterPort | null,
  ): Promise<Response> {
    const { pathname } = new URL(request.url);
    const { principal } = auth;
    const context: ServerContext = {
      db: env.DB,
      config: app.config,
      requestId,
      auth,
      logger,
      source: 'graphql',
    };
    switch (pathname) {
      case '/graphql': {
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
          run: (idempotency) =>
            app.yoga.fetch(new Request(request.url, { method: 'POST', headers: request.headers, body }), {
              ...context,
              idempotency,
            }),
        });
      }
      case '/mcp':
        return mcpEndpoint(app.config.version)(request, {
          auth,
          corsOrigins: app.config.corsOrigins,
          issuer: app.config.jwt.issuer,
          execute: executeThrough(app.yoga, { ...context, source: 'mcp' }, env.DB),
          limitTool:
            limiter && principal
              ? (tool) => {
                  const { tier, key } = toolKey(principal, tool.name, tool.annotations.readOnlyHint);
                  return limiter(key, app.config.rateLimits[tier]);
                }
              : null,
        });
      case '/schema.graphql':
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
  ): Promise<Response> {
    let app: NonNullable<typeof built>;
    try {
      app = setup(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      logger.log('error', 'invalid configuration', { requestId, variable: e.variable, error: e.message });
      return json({ error: { code: 'CONFIG_INVALID', message: e.message } }, 503);
    }
    const { pathname } = new URL(request.url);
    // Health checks come from load balancers and monitors: neither authenticated nor limited.
    if (pathname === '/health') {
      const report = await checkHealth(env.DB, app.config);
      return json(report, report.status === 'ok' ? 200 : 503, { 'cache-control': 'no-store' });
    }
    const needsAuth = pathname === '/graphql' || pathname === '/mcp';
    const auth: AuthResult = needsAuth
      ? await authenticate(request, app.config, env.DB)
      : { principal: null, error: null };
    let decision: Decision | null = null;
    if (ports.rateLimiter) {
      const { tier, key } = requestKey(auth.principal, clientIp(request));
      decision = await ports.rateLimiter(key, app.config.rateLimits[tier]);
      if (!decision.allowed) return tooManyRequests(pathname, decision);
    }
    const response = await serve(request, env, app, auth, requestId, ports.rateLimiter ?? null);
    if (!decision) return response;
    const limited = new Response(response.body, response);
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) limited.headers.set(name, value);
    return limited;
  }

  return {
    async fetch(request: Request, env: AppBindings, ports: AppPorts = {}): Promise<Response> {
      const started = Date.now();
      const requestId = requestIdFor(request);
      let response: Response;
      try {
        response = await route(request, env, ports, requestId);
      } catch (e) {
        logger.log('error', 'unhandled error', { requestId, error: String((e as Error)?.stack ?? e) });
        response = json({ error: { code: 'INTERNAL', message: 'Unexpected error', requestId } }, 500);
      }
      if (!response.headers.has('X-Request-Id')) {
        // Responses from fetch() or caches can be immutable; copy before adding the header.
        response = new Response(response.body, response);
        response.headers.set('X-Request-Id', requestId);
      }
      logger.log('info', 'request', {
        requestId,
        method: request.method,
        path: new URL(request.url).pathname,
        status: response.status,
        durationMs: Date.now() - started,
      });
      return response;
    },
  };
}
