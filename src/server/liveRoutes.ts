import { hasScope, type Principal } from '../auth/principal';
import type { Config } from '../config';
import type { AppBindings, AppPorts } from './app';
import { graphqlErrorResponse as jsonError } from './responses';

/**
 * The parts of /graphql that are not one request and one answer: subscriptions over WebSocket
 * or SSE go to the tenant's hub, and a browser gets the offline GraphiQL page. Null: Yoga answers.
 */
export async function liveRoute(
  request: Request,
  env: AppBindings,
  config: Config,
  principal: Principal | null,
  ports: AppPorts,
): Promise<Response | null> {
  if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
    if (!ports.subscriptions)
      return jsonError(501, 'BAD_REQUEST', 'Subscriptions are not served by this runtime');
    const tenant = new URL(request.url).searchParams.get('tenant');
    if (!tenant) {
      return jsonError(
        400,
        'BAD_REQUEST',
        'Name your tenant in the WebSocket URL, /graphql?tenant=<tenant>; the token goes in connection_init',
      );
    }
    return ports.subscriptions(request, tenant);
  }
  const accept = request.headers.get('accept') ?? '';
  if (accept.includes('text/event-stream') && principal && ports.subscriptions) {
    return ports.subscriptions(request, principal.tenantId);
  }
  // A browser navigation: GraphiQL, served as a static asset so that it works offline.
  if (request.method === 'GET' && accept.includes('text/html') && env.ASSETS && config.introspection) {
    return env.ASSETS.fetch(new Request(new URL('/graphiql/', request.url)));
  }
  return null;
}

/** Prometheus text; outside development only for change managers and admins (or such API keys). */
export async function metricsRoute(config: Config, principal: Principal | null, ports: AppPorts) {
  const text = (status: number, body: string) =>
    new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  if (!ports.prometheus) return text(501, 'Metrics are not recorded by this runtime\n');
  if (config.environment !== 'development') {
    if (!principal) return text(401, 'Send a token or API key with the change_manager or admin role\n');
    if (!hasScope(principal, 'changeManager'))
      return text(403, 'The change_manager or admin role is required\n');
  }
  return new Response(await ports.prometheus(), {
    headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' },
  });
}
