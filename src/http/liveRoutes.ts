import type { Config } from '../config';
import { backlog } from '../db/backlog';
import { renderBacklog } from '../metrics/prometheus';
import type { AppBindings, AppPorts } from './app';
import type { AuthResult } from './authenticate';
import { graphqlHelpPage } from './graphqlHelpPage';
import { graphqlErrorResponse, jsonErrorResponse } from './responses';
import { type SessionCredential, sessionCredential } from './wsSession';
import { issueTicket, redeemTicket } from './wsTickets';

/**
 * The parts of /graphql that are not one request and one answer: subscriptions over WebSocket
 * or SSE go to the tenant's hub, and a browser gets the offline GraphiQL page (or, without static
 * assets, a page saying how to call the endpoint). Null: Yoga answers.
 */
export async function liveRoute(
  request: Request,
  env: AppBindings,
  config: Config,
  auth: AuthResult,
  ports: AppPorts,
): Promise<Response | null> {
  const { principal } = auth;
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
    if (!ports.subscriptions)
      return graphqlErrorResponse('NOT_IMPLEMENTED', 'Subscriptions are not served by this runtime');
    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    if (!offered.includes('graphql-transport-ws')) {
      return graphqlErrorResponse('BAD_REQUEST', 'Use the graphql-transport-ws subprotocol');
    }
    const credential = await upgradeCredential(request, env.DB, auth);
    if ('refusal' in credential) return credential.refusal;
    // The tenant is the credential's; a `?tenant=` in the URL is accepted only when it agrees.
    const named = new URL(request.url).searchParams.get('tenant');
    if (named !== null && named !== credential.principal.tenantId) {
      return graphqlErrorResponse(
        'FORBIDDEN',
        'The credential belongs to another tenant than ?tenant= names',
      );
    }
    return ports.subscriptions(request, credential);
  }
  const accept = request.headers.get('accept') ?? '';
  if (accept.includes('text/event-stream') && principal && ports.subscriptions) {
    return ports.subscriptions(request, sessionCredential(request, principal));
  }
  // A browser navigation: GraphiQL, served as a static asset so that it works offline.
  if (request.method === 'GET' && accept.includes('text/html') && env.ASSETS && config.introspection) {
    return env.ASSETS.fetch(new Request(new URL('/graphiql/', request.url)));
  }
  // No static assets (the Node runtime): a short page that says what to do instead of a JSON error.
  if (request.method === 'GET' && accept.includes('text/html') && !env.ASSETS)
    return graphqlHelpPage(request.url);
  return null;
}

/**
 * Who opens a WebSocket: the request's own credential (Authorization or X-API-Key, for clients
 * that can set headers), or a single-use ticket in `?ticket=` (browsers). Anything else is
 * refused here, before any hub is addressed.
 */
async function upgradeCredential(
  request: Request,
  db: D1Database,
  auth: AuthResult,
): Promise<SessionCredential | { refusal: Response }> {
  if (auth.principal) return sessionCredential(request, auth.principal);
  const refuse = (message: string) => ({ refusal: graphqlErrorResponse('UNAUTHENTICATED', message) });
  if (auth.error) return refuse(auth.error.message);
  const ticket = new URL(request.url).searchParams.get('ticket');
  if (ticket === null) {
    return refuse(
      'A WebSocket needs a credential: an Authorization header, or ?ticket= from POST /graphql/ws-ticket',
    );
  }
  return (await redeemTicket(db, ticket)) ?? refuse('The ticket is unknown, expired or already used');
}

/** `POST /graphql/ws-ticket`: a single-use ticket that opens one WebSocket as the caller. */
export async function wsTicketRoute(request: Request, db: D1Database, auth: AuthResult) {
  // Only a POST gets here (the route table answers other methods with 405).
  if (!auth.principal) {
    return jsonErrorResponse(
      'UNAUTHENTICATED',
      auth.error?.message ?? 'Send a token or API key for a ticket',
    );
  }
  const issued = await issueTicket(db, sessionCredential(request, auth.principal));
  return new Response(JSON.stringify(issued), {
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });
}

/**
 * Prometheus text. The figures are service-wide (every tenant's traffic and backlog), so outside
 * development they answer the operator's METRICS_TOKEN only, never a tenant's token or API key.
 */
export async function metricsRoute(config: Config, request: Request, ports: AppPorts, db: D1Database) {
  // Prometheus reads only the success body; errors are plain JSON like every other route's.
  if (!ports.prometheus)
    return jsonErrorResponse('NOT_IMPLEMENTED', 'Metrics are not recorded by this runtime');
  if (config.environment !== 'development') {
    if (config.metricsToken === null) {
      return jsonErrorResponse(
        'METRICS_NOT_CONFIGURED',
        'Set METRICS_TOKEN to read /metrics outside development',
      );
    }
    const sent = /^Bearer (\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1] ?? null;
    if (sent === null || !(await sameSecret(sent, config.metricsToken))) {
      return jsonErrorResponse(
        'UNAUTHENTICATED',
        "/metrics is service-wide: send the deployment's METRICS_TOKEN as a bearer token (a tenant's token or API key is not one)",
        {},
        { 'www-authenticate': 'Bearer realm="metrics"' },
      );
    }
  }
  const [recorded, owed] = await Promise.all([ports.prometheus(), backlog(db, new Date())]);
  return new Response(recorded + renderBacklog(owed), {
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
  });
}

/** Whether two secrets are equal, in time that does not depend on where they differ. */
async function sameSecret(a: string, b: string): Promise<boolean> {
  const digest = async (v: string) =>
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(v)));
  const [x, y] = await Promise.all([digest(a), digest(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= (x[i] as number) ^ (y[i] as number);
  return diff === 0;
}
