import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Config } from '../config';
import { AppError } from '../errors';
import { createRequestContext } from '../resolvers/context';
import type { AuthResult } from './authenticate';
import { createLogger, type Logger } from './logger';

const errorLogger = createLogger();

/** What the HTTP layer hands to every GraphQL request. */
export interface ServerContext {
  db: D1Database;
  config: Config;
  requestId: string;
  auth: AuthResult;
  logger: Logger;
  source?: 'graphql' | 'mcp';
  toolName?: string | null;
}

/** Adds X-Request-Id to GraphQL responses too (Yoga builds them itself). */
const useRequestIdHeader = (): Plugin<ServerContext> => ({
  onResponse({ response, serverContext }) {
    const { requestId } = serverContext as Partial<ServerContext>;
    if (requestId) response.headers.set('X-Request-Id', requestId);
  },
});

export function createGraphQLServer(schema: GraphQLSchema, config: Config) {
  return createYoga<ServerContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    batching: false,
    graphiql: config.environment === 'development' ? { title: 'ChangeFlow GraphiQL' } : false,
    cors: { origin: config.corsOrigins, credentials: false, methods: ['GET', 'POST', 'OPTIONS'] },
    logging: false,
    plugins: [useRequestIdHeader()],
    // Every operation needs a principal; the context is only built for an operation that parsed and validated.
    context: ({ db, requestId, auth, source, toolName }) => {
      if (!auth.principal) {
        throw (
          auth.error ??
          new AppError('UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <token>"')
        );
      }
      return createRequestContext({ db, requestId, principal: auth.principal, source, toolName });
    },
    maskedErrors: {
      // Our errors (and GraphQL's own parse/validation errors) are for the caller; anything else is a bug.
      maskError(error, message) {
        if (error instanceof GraphQLError) {
          const original = error.originalError;
          if (!original || original instanceof GraphQLError) return error;
        }
        const original = error instanceof GraphQLError ? error.originalError : error;
        errorLogger.log('error', 'unexpected error', {
          error: String((original as Error)?.stack ?? original),
        });
        return new AppError('INTERNAL', message);
      },
    },
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;
