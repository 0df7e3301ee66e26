import { type ExecutionArgs, GraphQLError } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import type { Config } from '../config';
import { type AuthResult, authenticate } from './authenticate';
import type { GraphQLServer, ServerContext } from './graphqlServer';

/** What graphql-ws keeps per socket: who connected. */
export interface SocketAuth {
  auth?: AuthResult | null;
}

const NO_AUTH: AuthResult = { principal: null, error: null };

/**
 * graphql-transport-ws over any socket (the Worker's tenant hub, the Node runtime): operations
 * run through the same Yoga pipeline as HTTP (its parse, validation, limits and scope checks).
 * The token travels in connection_init (browsers cannot set headers on a WebSocket) and must
 * belong to the tenant the socket was opened for.
 */
export function graphqlWsOptions<E extends SocketAuth>(deps: {
  config: Config;
  db: D1Database;
  yoga: GraphQLServer;
  tenantOf: (extra: E) => string | null | undefined;
  contextFor: (auth: AuthResult, extra: E) => ServerContext;
}): ServerOptions<{ authorization?: unknown }, E> {
  return {
    onConnect: async (ctx) => {
      const header = ctx.connectionParams?.authorization;
      const auth = await authenticate(
        new Request('http://changeflow.internal/', {
          headers: typeof header === 'string' ? { authorization: header } : {},
        }),
        deps.config,
        deps.db,
      );
      const tenant = deps.tenantOf(ctx.extra);
      if (!tenant || !auth.principal || auth.principal.tenantId !== tenant) return false;
      ctx.extra.auth = auth;
      return true;
    },
    onSubscribe: async (ctx, _id, payload) => {
      const enveloped = deps.yoga.getEnveloped(deps.contextFor(ctx.extra.auth ?? NO_AUTH, ctx.extra));
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
