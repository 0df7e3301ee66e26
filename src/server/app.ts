import type { GraphQLSchema } from 'graphql';
import { CONFIG_VARS, type Config, ConfigError, type ConfigVars, parseConfig } from '../config';
import { buildCatalog, type McpCatalog } from '../mcp/catalog';
import { createMcpEndpoint, PROTECTED_RESOURCE_PATH, protectedResourceMetadata } from '../mcp/http';
import type { ExecuteOperation, OperationResult } from '../mcp/server';
import { printSDL } from '../schema/sdl';
import { authenticate } from './authenticate';
import { createGraphQLServer, type GraphQLServer, type ServerContext } from './graphqlServer';
import { checkHealth } from './health';
import { createLogger, requestIdFor } from './logger';

/** The bindings the app needs, whatever the runtime. */
export interface AppBindings extends ConfigVars {
  DB: D1Database;
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

/** MCP tool calls run as GraphQL operations through the same Yoga pipeline as /graphql. */
function executeThrough(yoga: GraphQLServer, context: ServerContext): ExecuteOperation {
  return async (query, variables, toolName) => {
    const response = await yoga.fetch(
      new Request('http://changeflow.internal/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify({ query, variables }),
      }),
      { ...context, toolName },
    );
    return (await response.json()) as OperationResult;
  };
}

/**
 * The HTTP surface: routing, request ids, logs, and authentication shared by every route.
 * Runtime-agnostic: the Worker (and any other entry) passes its bindings in.
 */
export function createApp(schema: GraphQLSchema) {
  // Config and the Yoga instance are built once per set of bindings (once per isolate in a Worker).
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

  async function route(request: Request, env: AppBindings, requestId: string): Promise<Response> {
    const url = new URL(request.url);
    let app: ReturnType<typeof setup>;
    try {
      app = setup(env);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      logger.log('error', 'invalid configuration', { requestId, variable: e.variable, error: e.message });
      return json({ error: { code: 'CONFIG_INVALID', message: e.message } }, 503);
    }
    switch (url.pathname) {
      case '/health': {
        const report = await checkHealth(env.DB, app.config);
        return json(report, report.status === 'ok' ? 200 : 503, { 'cache-control': 'no-store' });
      }
      case '/schema.graphql':
        sdl ??= printSDL(schema);
        return new Response(sdl, { headers: { 'content-type': 'text/plain; charset=utf-8' } });
      case '/graphql': {
        const auth = await authenticate(request, app.config, env.DB);
        return app.yoga.fetch(request, {
          db: env.DB,
          config: app.config,
          requestId,
          auth,
          logger,
          source: 'graphql',
        });
      }
      case '/mcp': {
        if (!mcp) {
          const catalog = buildCatalog(schema);
          mcp = { catalog, handle: createMcpEndpoint(catalog, app.config.version) };
        }
        const auth = await authenticate(request, app.config, env.DB);
        const context: ServerContext = {
          db: env.DB,
          config: app.config,
          requestId,
          auth,
          logger,
          source: 'mcp',
        };
        return mcp.handle(request, {
          auth,
          corsOrigins: app.config.corsOrigins,
          issuer: app.config.jwt.issuer,
          execute: executeThrough(app.yoga, context),
        });
      }
      case PROTECTED_RESOURCE_PATH:
      case `${PROTECTED_RESOURCE_PATH}/mcp`:
        return protectedResourceMetadata(request, app.config.jwt.issuer);
      default:
        return json({ error: { code: 'NOT_FOUND', message: `No route for ${url.pathname}` } }, 404);
    }
  }

  return {
    async fetch(request: Request, env: AppBindings): Promise<Response> {
      const started = Date.now();
      const requestId = requestIdFor(request);
      let response: Response;
      try {
        response = await route(request, env, requestId);
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
