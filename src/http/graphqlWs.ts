import { type ExecutionArgs, GraphQLError, getOperationAST } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import type { Config } from '../config';
import { socketError } from '../errors';
import { type AuthResult, authenticate } from './authenticate';
import type { GraphQLServer, ServerContext } from './graphqlServer';
import { type SocketSession, samePrincipal, sessionCredential } from './wsSession';

/** What graphql-ws keeps per socket: who connected. */
export interface SocketAuth {
  auth?: AuthResult | null;
}

const NO_AUTH: AuthResult = { principal: null, error: null };

/**
 * graphql-transport-ws over any socket (the Worker's tenant hub, the Node runtime): operations
 * run through the same Yoga pipeline as HTTP (its parse, validation, limits and scope checks).
 * Who the socket belongs to was settled at the upgrade (a header or a single-use ticket, see
 * liveRoutes.ts) and lives in its SocketSession; a credential in connection_init, when sent, must
 * name the same principal. Every operation re-checks the credential and counts against the
 * caller's rate limit (SocketSession.admit).
 */
export function graphqlWsOptions<E extends SocketAuth>(deps: {
  config: Config;
  db: D1Database;
  yoga: GraphQLServer;
  sessionOf: (extra: E) => SocketSession | undefined;
  contextFor: (auth: AuthResult, extra: E) => ServerContext;
}): ServerOptions<{ authorization?: unknown }, E> {
  return {
    onConnect: async (ctx) => {
      const session = deps.sessionOf(ctx.extra);
      if (!session) return false;
      const header = ctx.connectionParams?.authorization;
      if (header !== undefined) {
        const request = new Request('http://changeflow.internal/', {
          headers: typeof header === 'string' ? { authorization: header } : {},
        });
        const auth = await authenticate(request, deps.config, deps.db);
        // Another principal (or none): 4403, whatever the upgrade carried.
        if (!auth.principal || !samePrincipal(auth.principal, session.credential.principal)) return false;
        session.adopt(sessionCredential(request, auth.principal));
      }
      ctx.extra.auth = { principal: session.credential.principal };
      return true;
    },
    onSubscribe: async (ctx, id, payload) => {
      const session = deps.sessionOf(ctx.extra);
      if (!session) return [socketError('UNAUTHENTICATED', 'No session')];
      const enveloped = deps.yoga.getEnveloped(deps.contextFor(ctx.extra.auth ?? NO_AUTH, ctx.extra));
      let document: ExecutionArgs['document'];
      try {
        document = enveloped.parse(payload.query);
      } catch (e) {
        // Counted like any request, so that junk cannot be sent for free.
        return (
          (await session.admit(id, false)) ?? [e instanceof GraphQLError ? e : new GraphQLError(String(e))]
        );
      }
      const operation = getOperationAST(document, payload.operationName);
      const refused = await session.admit(id, operation?.operation === 'subscription');
      if (refused) return refused;
      // A subscription that does not start frees its place (onComplete is not called for it).
      try {
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) {
          session.subscriptions.delete(id);
          return errors;
        }
        return {
          schema: enveloped.schema,
          document,
          operationName: payload.operationName,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      } catch (e) {
        session.subscriptions.delete(id);
        throw e;
      }
    },
    onError: (ctx, id) => {
      deps.sessionOf(ctx.extra)?.subscriptions.delete(id);
    },
    onComplete: (ctx, id) => {
      deps.sessionOf(ctx.extra)?.subscriptions.delete(id);
    },
    execute: (args) => (args.rootValue as { execute: (a: ExecutionArgs) => never }).execute(args),
    subscribe: (args) => (args.rootValue as { subscribe: (a: ExecutionArgs) => never }).subscribe(args),
  };
}
