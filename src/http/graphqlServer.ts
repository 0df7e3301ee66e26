import { GraphQLError, type GraphQLSchema } from 'graphql';
import { createYoga } from 'graphql-yoga';
import type { Config } from '../config';
import { AppError, type ErrorCode } from '../errors';
import { createLogger, type Logger } from '../log';
import type { Observation } from '../metrics/observation';
import { createRequestContext } from '../usecases/context';
import type { FollowUpsPort } from '../usecases/outbox';
import type { AuditArchive } from '../usecases/ports/auditArchive';
import type { EventsPort } from '../usecases/ports/events';
import type { ExecutionsPort } from '../usecases/ports/executions';
import type { LivePort } from '../usecases/ports/live';
import type { WriteLock } from '../usecases/ports/writeLock';
import type { AuthResult } from './authenticate';
import type { IdempotencyClaim } from './idempotency';
import { useCsrfPrevention } from './plugins/use-csrf-prevention';
import { useErrorReporting } from './plugins/use-error-reporting';
import { isVariableCoercionError, useErrorStatus } from './plugins/use-error-status';
import { useGraphqlJsExecute } from './plugins/use-graphql-js-execute';
import { useIntrospectionPolicy } from './plugins/use-introspection-policy';
import { useMaxTokens } from './plugins/use-max-tokens';
import { useNotAcceptableError } from './plugins/use-not-acceptable-error';
import { useObservation } from './plugins/use-observation';
import { useQueryLimits } from './plugins/use-query-limits';
import { useRequestParseErrors } from './plugins/use-request-parse-errors';
import { useTracing } from './plugins/use-tracing';
import { useUnsupportedMediaTypeError } from './plugins/use-unsupported-media-type-error';
import { DEFAULT_QUERY_LIMITS } from './queryLimits';
import { useRest } from './rest/sofa';
import { noteUnexpected } from './unexpectedErrors';

const errorLogger = createLogger();

/** What the HTTP layer hands to every GraphQL request. */
export interface ServerContext {
  db: D1Database;
  config: Config;
  requestId: string;
  auth: AuthResult;
  logger: Logger;
  source?: 'graphql' | 'mcp' | 'rest';
  toolName?: string | null;
  /** Set when the request carries an Idempotency-Key (see idempotency.ts). */
  idempotency?: IdempotencyClaim;
  /** Live feeds and system figures (the tenant hub, or the runtime's equivalent). */
  live?: LivePort;
  /** Where committed changes are announced. */
  events?: EventsPort;
  /** The durable runner of workflow executions. */
  executions?: ExecutionsPort;
  /** Queues a tenant's writes (one-process runtimes). */
  writeLock?: WriteLock;
  /** Runs the follow-ups a write queued once it committed. */
  followUps?: FollowUpsPort;
  /** Where signed audit digests are written. */
  auditArchive?: AuditArchive;
  /** What the request did, for the metrics (error codes, tool calls). */
  observation?: Observation;
  /** Where unexpected errors go besides the log (AppPorts.reportError). */
  reportError?: (error: unknown, details: { requestId: string }) => void;
}

/**
 * graphql-js reports a variable value it cannot coerce (a string for an Int, an unknown enum
 * value, a missing or null required variable) without extensions.code; give it the same code as
 * every other invalid input, so that callers can branch on it.
 */
function withInputCode(error: GraphQLError): GraphQLError {
  if (error.extensions?.code || !isVariableCoercionError(error)) return error;
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: 'VALIDATION_FAILED' satisfies ErrorCode },
  });
}

export function createGraphQLServer(schema: GraphQLSchema, config: Config) {
  return createYoga<ServerContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    batching: false,
    // GraphiQL is served offline as a static asset (see liveRoutes.ts), not from a CDN.
    graphiql: false,
    // CORS is answered for every route in app.ts, from CORS_ORIGINS exactly (see cors.ts).
    cors: false,
    // Bodies are capped before Yoga sees them (bodyLimit.ts, for /graphql and /mcp alike); a
    // second, stream-wrapping cap here cost 7% of a read's CPU in the profile.
    maxRequestBodySize: false,
    // No operation takes a file (there is no Upload scalar): a multipart/form-data POST gets the
    // same UNSUPPORTED_MEDIA_TYPE as any other type no parser takes, and no request pays for the check.
    multipart: false,
    logging: false,
    plugins: [
      useGraphqlJsExecute(),
      useObservation(),
      useErrorReporting(),
      useTracing(),
      useCsrfPrevention(),
      useMaxTokens(DEFAULT_QUERY_LIMITS.maxTokens),
      useQueryLimits(),
      useIntrospectionPolicy(config.introspection),
      useErrorStatus(),
      useUnsupportedMediaTypeError(),
      useRequestParseErrors(),
      useNotAcceptableError(),
      // REST under /api/v1 (rest/): answers its paths before Yoga's own request parsing.
      useRest(schema),
    ],
    // Every operation needs a principal; the context is only built for an operation that parsed and validated.
    // createRequestContext picks what resolvers get from the server context (db, ports, source…).
    context: (server) => {
      const { auth } = server;
      if (!auth.principal) {
        throw (
          auth.error ??
          new AppError('UNAUTHENTICATED', 'Authentication required: send "Authorization: Bearer <token>"')
        );
      }
      return createRequestContext({
        ...server,
        principal: auth.principal,
        secretKeys: server.config.secretKeys,
        egress: server.config.egress,
        webhooksAllowHttp: server.config.environment === 'development',
        auditDigestSettings: server.config.auditDigests,
      });
    },
    maskedErrors: {
      // Our errors (and GraphQL's own parse/validation errors) are for the caller; anything else is a bug.
      maskError(error, message) {
        if (error instanceof GraphQLError) {
          const original = error.originalError;
          if (!original || original instanceof GraphQLError) return withInputCode(error);
        }
        const original = error instanceof GraphQLError ? error.originalError : error;
        errorLogger.log('error', 'unexpected error', {
          error: String((original as Error)?.stack ?? original),
        });
        const masked = new AppError('INTERNAL', message);
        noteUnexpected(masked, original);
        return masked;
      },
    },
  });
}

export type GraphQLServer = ReturnType<typeof createGraphQLServer>;
