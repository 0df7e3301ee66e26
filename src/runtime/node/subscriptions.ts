import type { ServerOptions } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { Config } from '../../config';
import type { AuthResult } from '../../http/authenticate';
import type { GraphQLServer, ServerContext } from '../../http/graphqlServer';
import { graphqlWsOptions, type SocketAuth } from '../../http/graphqlWs';
import { guardEventStream, type SessionCredential, type SocketSession } from '../../http/wsSession';
import { forTenant } from '../../live/principal';
import type { Logger } from '../../log';
import type { EventsPort } from '../../usecases/ports/events';
import type { LiveHub } from './liveHub';
import { nativeResponse } from './nativeResponse';

/**
 * Subscriptions, executed through the same Yoga pipeline as every other operation (its parse,
 * validation, limits and scope checks), with a tenant's live feeds in the context: over SSE
 * (Yoga answers text/event-stream itself) and over graphql-transport-ws. The Node counterpart
 * of what the tenant hub does in a Worker.
 */
export interface SubscriptionDeps {
  db: D1Database;
  config: Config;
  yoga: GraphQLServer;
  hub: LiveHub;
  events: EventsPort;
  logger: Logger;
}

function serverContext(deps: SubscriptionDeps, auth: AuthResult, tenantId: string, requestId: string) {
  const context: ServerContext = {
    db: deps.db,
    config: deps.config,
    requestId,
    auth: forTenant(auth, tenantId),
    logger: deps.logger,
    source: 'graphql',
    live: deps.hub.livePort(tenantId),
    // A mutation sent over the socket announces its change like any other.
    events: deps.events,
  };
  return context;
}

const requestIdOf = (headers: Headers) => headers.get('x-request-id') ?? crypto.randomUUID();

/** An SSE subscription (or any operation sent with Accept: text/event-stream), ended with its credential. */
export async function serveEventStream(
  deps: SubscriptionDeps,
  request: Request,
  credential: SessionCredential,
) {
  const { principal } = credential;
  const context = serverContext(deps, { principal }, principal.tenantId, requestIdOf(request.headers));
  const response = await deps.yoga.fetch(request, context);
  const guarded = guardEventStream(response, credential, {
    db: deps.db,
    recheckMs: deps.config.sessions.recheckMs,
  });
  return nativeResponse(guarded);
}

/** graphql-ws over `ws` for the Node runtime: the shared wiring, this process's context. */
export function nodeGraphqlWsOptions(
  deps: SubscriptionDeps,
  sessionOf: (extra: Extra) => SocketSession | undefined,
): ServerOptions<{ authorization?: unknown }, Extra & SocketAuth> {
  return graphqlWsOptions<Extra & SocketAuth>({
    config: deps.config,
    db: deps.db,
    yoga: deps.yoga,
    sessionOf,
    contextFor: (auth, extra) =>
      serverContext(deps, auth, sessionOf(extra)?.credential.principal.tenantId ?? '', crypto.randomUUID()),
  });
}
