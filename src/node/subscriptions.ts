import { type ExecutionArgs, GraphQLError } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import type { Extra } from 'graphql-ws/use/ws';
import type { Config } from '../config';
import type { EventsPort } from '../resolvers/events';
import { type AuthResult, authenticate } from '../server/authenticate';
import type { GraphQLServer, ServerContext } from '../server/graphqlServer';
import type { Logger } from '../server/logger';
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

/** What graphql-ws keeps per socket besides the ws Extra. */
export interface SocketState {
  auth: AuthResult;
}

const NO_AUTH: AuthResult = { principal: null, error: null };

function serverContext(deps: SubscriptionDeps, auth: AuthResult, tenantId: string, requestId: string) {
  // A token for another tenant may not read this tenant's feeds.
  const scoped = auth.principal && auth.principal.tenantId !== tenantId ? NO_AUTH : auth;
  const context: ServerContext = {
    db: deps.db,
    config: deps.config,
    requestId,
    auth: scoped,
    logger: deps.logger,
    source: 'graphql',
    live: deps.hub.livePort(tenantId),
    // A mutation sent over the socket announces its change like any other.
    events: deps.events,
  };
  return context;
}

const requestIdOf = (headers: Headers) => headers.get('x-request-id') ?? crypto.randomUUID();

/** An SSE subscription (or any operation sent with Accept: text/event-stream) of one tenant. */
export async function serveEventStream(deps: SubscriptionDeps, request: Request, tenantId: string) {
  const auth = await authenticate(request, deps.config, deps.db);
  const context = serverContext(deps, auth, tenantId, requestIdOf(request.headers));
  return nativeResponse(await deps.yoga.fetch(request, context));
}

/**
 * graphql-ws server options. The token travels in connection_init (browsers cannot set headers
 * on a WebSocket) and must belong to the tenant the socket was opened for.
 */
export function graphqlWsOptions(
  deps: SubscriptionDeps,
  tenantOf: (extra: Extra) => string | undefined,
): ServerOptions<{ authorization?: unknown }, Extra & Partial<SocketState>> {
  return {
    onConnect: async (ctx) => {
      const header = ctx.connectionParams?.authorization;
      const auth = await authenticate(
        new Request('http://node.internal/', {
          headers: typeof header === 'string' ? { authorization: header } : {},
        }),
        deps.config,
        deps.db,
      );
      const tenant = tenantOf(ctx.extra);
      if (!tenant || !auth.principal || auth.principal.tenantId !== tenant) return false;
      ctx.extra.auth = auth;
      return true;
    },
    onSubscribe: async (ctx, _id, payload) => {
      const tenant = tenantOf(ctx.extra) ?? '';
      const requestId = crypto.randomUUID();
      const enveloped = deps.yoga.getEnveloped(
        serverContext(deps, ctx.extra.auth ?? NO_AUTH, tenant, requestId),
      );
      let document: ExecutionArgs['document'];
      try {
        document = enveloped.parse(payload.query);
      } catch (e) {
        return [e instanceof GraphQLError ? e : new GraphQLError(String(e))];
      }
      const errors = enveloped.validate(enveloped.schema, document);
      if (errors.length > 0) return errors;
      return {
        schema: enveloped.schema,
        document,
        operationName: payload.operationName,
        variableValues: payload.variables,
        contextValue: await enveloped.contextFactory(),
        rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
      };
    },
    execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
    subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
  };
}
