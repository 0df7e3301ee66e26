import type { GraphQLSchema } from 'graphql';
import { withIdempotency } from '../idempotency';
import type { RouteContext } from '../routes';
import { problemFromErrors, problemResponse } from './problem';
import { REST_BASE } from './restRoutes';
import { matchRest, type RestRoute, restRouteTable } from './routeTable';

const tables = new WeakMap<GraphQLSchema, RestRoute[]>();

/** The route table of the schema Yoga serves (built once per schema). */
export function routeTableOf(schema: GraphQLSchema): RestRoute[] {
  let table = tables.get(schema);
  if (!table) {
    table = restRouteTable(schema);
    tables.set(schema, table);
  }
  return table;
}

/**
 * /api/v1/*: a path and method of the generated table goes to Yoga (whose SOFA plugin runs the
 * field's operation) with `source: rest` for the audit trail, under its Idempotency-Key when a
 * write sends one; anything else is answered here, as problem+json: 404 for a path the table does
 * not have (SOFA's subscription webhooks among them: they would POST to any URL), 405 with Allow.
 */
export async function restRoute(ctx: RouteContext): Promise<Response> {
  const { request, yoga, auth, serverContext } = ctx;
  const path = new URL(request.url).pathname.slice(REST_BASE.length) || '/';
  const match = matchRest(routeTableOf(yoga.getEnveloped().schema), request.method, path);
  if (!match) return problemResponse('NOT_FOUND', `No REST route for ${REST_BASE}${path}`);
  if ('allow' in match) {
    const allow = match.allow.join(', ');
    return problemResponse(
      'METHOD_NOT_ALLOWED',
      `${request.method} is not served at ${REST_BASE}${path}; use ${match.allow.join(' or ')}`,
      {},
      { allow },
    );
  }
  const context = { ...serverContext, source: 'rest' as const };
  const key = request.headers.get('idempotency-key');
  if (match.route.kind === 'query') return yoga.fetch(withPageSize(request, match.route), context);
  if (key === null || !auth.principal) return yoga.fetch(request, context);
  const body = await request.text();
  let ran = false;
  const response = await withIdempotency({
    db: ctx.env.DB,
    principal: auth.principal,
    key,
    requestId: ctx.requestId,
    body: fingerprint(match.route, path, request.url, body),
    secretKeys: ctx.config.secretKeys,
    run: (idempotency) => {
      ran = true;
      return yoga.fetch(
        new Request(request.url, { method: request.method, headers: request.headers, body }),
        {
          ...context,
          idempotency,
        },
      );
    },
  });
  // A refusal of the key itself (reused, in progress, malformed) comes in GraphQL's shape.
  if (ran || response.ok) return response;
  const { errors } = (await response.json()) as { errors: unknown[] };
  return problemFromErrors(errors);
}

/** How many items a REST list answers when `first` is not given (the schema's default is 20). */
export const REST_PAGE_SIZE = 10;

/**
 * A list read without `first` asks for REST_PAGE_SIZE items: SOFA selects every field of an item
 * (its approvals, its risk factors), and 20 full changes cost more than the query limits allow.
 */
function withPageSize(request: Request, route: RestRoute): Request {
  const url = new URL(request.url);
  if (!route.args.includes('first') || url.searchParams.has('first')) return request;
  url.searchParams.set('first', String(REST_PAGE_SIZE));
  return new Request(url, request);
}

/**
 * What an Idempotency-Key remembers of a REST write: the request as the GraphQL operation it is
 * (the field, its arguments from the path, query string and body), so that idempotency.ts hashes
 * it as it does /graphql's, a secret argument (setWorkflowSecret's value) by its HMAC only.
 */
function fingerprint(route: RestRoute, path: string, url: string, body: string): string {
  const variables: Record<string, unknown> = Object.fromEntries(new URL(url).searchParams);
  const params = route.path.split('/').filter((s) => s.startsWith(':'));
  const values = route.pattern.exec(path)?.slice(1) ?? [];
  params.forEach((p, i) => {
    variables[p.slice(1)] = values[i];
  });
  let parsed: unknown = body;
  try {
    parsed = body ? JSON.parse(body) : {};
  } catch {
    // Not JSON: SOFA refuses it before any write, so this fingerprint is never stored.
  }
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(variables, parsed);
  else variables['(body)'] = parsed;
  const args = route.args.map((a) => `${a}: $${a}`).join(', ');
  return JSON.stringify({ query: `mutation { ${route.name}${args ? `(${args})` : ''} }`, variables });
}
