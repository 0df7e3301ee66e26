import type { Config } from '../config';
import { AUDIT_KEYS_PATH } from '../domain/auditDigest';
import type { Logger } from '../log';
import { assetPages } from '../mcp/apps';
import { type createMcpEndpoint, mcpOriginRefusal } from '../mcp/http';
import {
  MCP_DOCUMENTATION_PATH,
  mcpConfigRefusal,
  mcpDocumentationPage,
  mcpResourceUrl,
  PROTECTED_RESOURCE_PATH,
  protectedResourceMetadata,
} from '../mcp/oauth';
import { parseSelection } from '../mcp/toolsets';
import { executeThroughYoga } from '../mcp/yogaBridge';
import type { Observation } from '../metrics/observation';
import { type RateLimiterPort, toolKey } from '../ratelimit/policy';
import type { Decision } from '../ratelimit/slidingWindow';
import type { AppBindings, AppPorts } from './app';
import type { AuthResult } from './authenticate';
import { MAX_BODY_BYTES } from './bodyLimit';
import { DEPLOYMENT_HOOK_PATH, receiveDeploymentHook } from './deploymentHooks';
import type { GraphQLServer, ServerContext } from './graphqlServer';
import { checkHealth } from './health';
import { withIdempotency } from './idempotency';
import { liveRoute, metricsRoute, wsTicketRoute } from './liveRoutes';
import { jsonErrorResponse, jsonRpcErrorResponse, type Surface } from './responses';
import { restRoute } from './rest/handler';
import { openApiRoute } from './rest/openapiRoute';
import { orchestratorRoute } from './rest/orchestrator';
import { ORCHESTRATOR_ROUTES } from './rest/orchestratorOpenApi';
import { receiveWebhook, WEBHOOK_PATH } from './webhooks';

/**
 * Every route of the HTTP surface, in one table: app.ts looks the path up here and applies what
 * the entry says (authentication, rate limits, the method, the body cap) before its handler runs,
 * and renders the route's errors in the shape of its surface. Adding a route is adding an entry.
 */

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler gets: the request (its body capped already) and everything app.ts resolved for it. */
export interface RouteContext {
  request: Request;
  env: AppBindings;
  config: Config;
  yoga: GraphQLServer;
  auth: AuthResult;
  requestId: string;
  ports: AppPorts;
  logger: Logger;
  observation: Observation;
  /** The rate limiter when limits are on, else null. */
  limiter: RateLimiterPort | null;
  /** Spends more of the caller's limit than the one unit the request spent (an MCP batch). */
  chargeCaller: ((units: number) => Promise<Decision>) | null;
  /** What Yoga hands every operation of this request. */
  serverContext: ServerContext;
  /** The printed schema (built once). */
  sdl: () => string;
  /** The MCP endpoint (its catalog built once). */
  mcp: () => ReturnType<typeof createMcpEndpoint>;
  /** The groups a pattern path matched, decoded by the handler that needs them. */
  params: string[];
}

export interface Route {
  /** An exact path, or a pattern whose groups become `params`. */
  path: string | RegExp;
  /** Any other method is answered 405 METHOD_NOT_ALLOWED, with Allow (OPTIONS is answered for every route). */
  methods: readonly Method[];
  /** Whether the request's credential is read (authenticate.ts); a route may still answer without one. */
  auth: boolean;
  /** Whether requests count against rate limits (not health checks: load balancers and monitors). */
  rateLimited: boolean;
  /** The body cap in bytes (bodyLimit.ts) for routes that read a body; null: the body is not read. */
  bodyLimit: number | null;
  /** What the route speaks: its errors are rendered accordingly (responses.ts). */
  surface: Surface;
  /**
   * The resource a bearer JWT must name in `aud` here instead of JWT_AUDIENCE (RFC 8707): the MCP
   * endpoint's URL. API keys are not affected.
   */
  tokenResource?: (request: Request, config: Config) => string | null;
  /** A refusal that comes before anything about the request is looked at, its method included. */
  guard?: (request: Request, config: Config) => Response | null;
  handle: (ctx: RouteContext) => Response | Promise<Response>;
}

const READ: readonly Method[] = ['GET', 'HEAD'];

/** A percent-encoded path segment, or null when it is not valid (`%`, `%zz`, a cut UTF-8 sequence). */
function decodePathSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** /graphql: subscriptions and pages (liveRoutes.ts), else Yoga, under an Idempotency-Key when one is sent. */
async function graphql(ctx: RouteContext): Promise<Response> {
  const { request, env, config, auth, ports, yoga, serverContext } = ctx;
  const live = await liveRoute(request, env, config, auth, ports);
  if (live) return live;
  const key = request.headers.get('idempotency-key');
  if (key === null || !auth.principal || request.method !== 'POST') return yoga.fetch(request, serverContext);
  const body = await request.text();
  return withIdempotency({
    db: env.DB,
    principal: auth.principal,
    key,
    requestId: ctx.requestId,
    body,
    secretKeys: config.secretKeys,
    run: (idempotency) =>
      yoga.fetch(new Request(request.url, { method: 'POST', headers: request.headers, body }), {
        ...serverContext,
        idempotency,
      }),
  });
}

function mcp(ctx: RouteContext): Promise<Response> | Response {
  const { auth, config, limiter, observation } = ctx;
  const { principal } = auth;
  const chosen = parseSelection(ctx.params[0] ?? null, ctx.request.headers);
  if ('error' in chosen) return jsonRpcErrorResponse(chosen.code, chosen.error);
  return ctx.mcp()(ctx.request, {
    auth,
    selection: chosen.selection,
    // The guard (mcpConfigRefusal) answered already when there is no resource URL.
    resource: mcpResourceUrl(ctx.request, config) as string,
    chargeCaller: ctx.chargeCaller,
    execute: executeThroughYoga(ctx.yoga, { ...ctx.serverContext, source: 'mcp' }, ctx.env.DB),
    observeToolCall: (tool, outcome) => observation.toolCalls.push({ tool, outcome }),
    appPages: ctx.ports.appPages ?? (ctx.env.ASSETS ? assetPages(ctx.env.ASSETS) : null),
    limitTool:
      limiter && principal
        ? (budget) => {
            const { tier, key } = toolKey(principal, budget.name, budget.readOnly);
            return limiter(key, config.rateLimits[tier]);
          }
        : null,
  });
}

async function health(ctx: RouteContext): Promise<Response> {
  const { report, failures } = await checkHealth(ctx.env.DB, ctx.config, ctx.ports.hubHealth);
  // The reasons stay in the log: /health answers anyone.
  if (report.status !== 'ok')
    ctx.logger.log('error', 'health check failed', { requestId: ctx.requestId, failures });
  return new Response(JSON.stringify(report), {
    status: report.status === 'ok' ? 200 : 503,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });
}

function schemaSdl(ctx: RouteContext): Response {
  // The SDL is the schema: published only where introspection is.
  if (!ctx.config.introspection) {
    return jsonErrorResponse('INTROSPECTION_DISABLED', 'The schema is not published here');
  }
  return new Response(ctx.sdl(), { headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

function webhook(ctx: RouteContext): Promise<Response> | Response {
  const workflowId = decodePathSegment(ctx.params[0] as string);
  if (workflowId === null) {
    return jsonErrorResponse(
      'BAD_REQUEST',
      'The workflow id in a webhook path is not valid percent-encoding',
    );
  }
  return receiveWebhook(ctx.request, ctx.env.DB, workflowId, ctx.ports, ctx.config.secretKeys);
}

function deploymentHook(ctx: RouteContext): Promise<Response> | Response {
  const integrationId = decodePathSegment(ctx.params[0] as string);
  if (integrationId === null) {
    return jsonErrorResponse('BAD_REQUEST', 'The integration id in the path is not valid percent-encoding');
  }
  return receiveDeploymentHook(ctx.request, ctx.env.DB, integrationId, ctx.ports, ctx.config, ctx.requestId);
}

/**
 * The public keys audit digests are verified with (the newest signs; retired ones stay, so that the
 * digests they signed keep verifying). Public by design: an auditor fetches it once and verifies
 * offline (npm run audit:verify).
 */
const auditKeys = (ctx: RouteContext) =>
  new Response(JSON.stringify(ctx.config.auditDigests.keySet), {
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'public, max-age=300' },
  });

const resourceMetadata = (ctx: RouteContext) => protectedResourceMetadata(ctx.request, ctx.config);

export const ROUTES: readonly Route[] = [
  {
    path: '/graphql',
    methods: ['GET', 'POST'],
    auth: true,
    rateLimited: true,
    bodyLimit: MAX_BODY_BYTES,
    surface: 'graphql',
    handle: graphql,
  },
  {
    path: '/graphql/ws-ticket',
    methods: ['POST'],
    auth: true,
    rateLimited: true,
    bodyLimit: null,
    surface: 'json',
    handle: (ctx) => wsTicketRoute(ctx.request, ctx.env.DB, ctx.auth),
  },
  {
    path: '/mcp',
    methods: ['POST'],
    auth: true,
    rateLimited: true,
    bodyLimit: MAX_BODY_BYTES,
    surface: 'jsonrpc',
    guard: (request, config) => mcpOriginRefusal(request, config) ?? mcpConfigRefusal(config),
    tokenResource: mcpResourceUrl,
    handle: mcp,
  },
  {
    // The same endpoint with its toolsets in the path: /mcp/workflows, /mcp/changes+readonly.
    path: /^\/mcp\/([a-z+]{1,100})$/,
    methods: ['POST'],
    auth: true,
    rateLimited: true,
    bodyLimit: MAX_BODY_BYTES,
    surface: 'jsonrpc',
    guard: (request, config) => mcpOriginRefusal(request, config) ?? mcpConfigRefusal(config),
    // One resource, whichever toolsets: a token for /mcp serves /mcp/workflows too.
    tokenResource: mcpResourceUrl,
    handle: mcp,
  },
  {
    // REST generated from the schema (rest/): each path and method of its table, through Yoga.
    path: /^\/api\/v1(?:\/.*)?$/,
    methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    auth: true,
    rateLimited: true,
    bodyLimit: MAX_BODY_BYTES,
    surface: 'problem',
    handle: restRoute,
  },
  // The workflow orchestrator's routes, as it documented them (rest/orchestrator.ts).
  ...ORCHESTRATOR_ROUTES.map(
    ({ path, operations, resource }): Route => ({
      // `{id}` is the first group; `/cancel` the second, which tells a cancel from a read.
      path: new RegExp(`^${path.replace('{id}', '([^/]+)').replace(/\/cancel$/, '/(cancel)')}$`),
      methods: Object.keys(operations) as Route['methods'],
      auth: true,
      rateLimited: true,
      bodyLimit: MAX_BODY_BYTES,
      surface: 'legacy',
      handle: orchestratorRoute(resource),
    }),
  ),
  {
    path: WEBHOOK_PATH,
    methods: ['POST'],
    // Deliveries are signed instead (webhooks.ts).
    auth: false,
    rateLimited: true,
    bodyLimit: MAX_BODY_BYTES,
    surface: 'json',
    handle: webhook,
  },
  {
    path: DEPLOYMENT_HOOK_PATH,
    methods: ['POST'],
    // Deliveries are signed with the integration's secret instead (deploymentHooks.ts).
    auth: false,
    rateLimited: true,
    bodyLimit: MAX_BODY_BYTES,
    surface: 'json',
    handle: deploymentHook,
  },
  {
    path: '/health',
    methods: READ,
    auth: false,
    rateLimited: false,
    bodyLimit: null,
    surface: 'json',
    handle: health,
  },
  {
    path: '/metrics',
    methods: READ,
    // Service-wide figures answer the operator's METRICS_TOKEN, never a tenant's credential.
    auth: false,
    rateLimited: true,
    bodyLimit: null,
    surface: 'text',
    handle: (ctx) => metricsRoute(ctx.config, ctx.request, ctx.ports, ctx.env.DB),
  },
  {
    path: '/openapi.json',
    methods: READ,
    auth: false,
    rateLimited: true,
    bodyLimit: null,
    surface: 'json',
    handle: openApiRoute,
  },
  {
    path: '/schema.graphql',
    methods: READ,
    auth: false,
    rateLimited: true,
    bodyLimit: null,
    surface: 'text',
    handle: schemaSdl,
  },
  {
    path: PROTECTED_RESOURCE_PATH,
    methods: READ,
    auth: false,
    rateLimited: true,
    bodyLimit: null,
    surface: 'json',
    handle: resourceMetadata,
  },
  {
    path: `${PROTECTED_RESOURCE_PATH}/mcp`,
    methods: READ,
    auth: false,
    rateLimited: true,
    bodyLimit: null,
    surface: 'json',
    handle: resourceMetadata,
  },
  {
    path: AUDIT_KEYS_PATH,
    methods: READ,
    auth: false,
    rateLimited: true,
    bodyLimit: null,
    surface: 'json',
    handle: auditKeys,
  },
  {
    path: MCP_DOCUMENTATION_PATH,
    methods: READ,
    auth: false,
    rateLimited: true,
    bodyLimit: null,
    surface: 'text',
    handle: (ctx) => mcpDocumentationPage(ctx.request, ctx.config),
  },
];

const EXACT = new Map(ROUTES.flatMap((r) => (typeof r.path === 'string' ? [[r.path, r] as const] : [])));
const PATTERNS = ROUTES.filter((r): r is Route & { path: RegExp } => r.path instanceof RegExp);

/** The route for a path and the groups its pattern matched, or null (404). */
export function matchRoute(pathname: string): { route: Route; params: string[] } | null {
  const exact = EXACT.get(pathname);
  if (exact) return { route: exact, params: [] };
  for (const route of PATTERNS) {
    const match = route.path.exec(pathname);
    if (match) return { route, params: match.slice(1) };
  }
  return null;
}
