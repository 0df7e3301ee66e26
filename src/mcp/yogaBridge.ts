import type { GraphQLServer, ServerContext } from '../http/graphqlServer';
import { type IdempotencyClaim, withIdempotency } from '../http/idempotency';
import type { ExecuteOperation, OperationResult } from './server';

/**
 * MCP tool calls run as GraphQL operations through the same Yoga pipeline as /graphql (the same
 * plugins, limits and error masking), with the same idempotency handling when the agent passes an
 * `idempotencyKey`.
 */
export function executeThroughYoga(
  yoga: GraphQLServer,
  context: ServerContext,
  db: D1Database,
): ExecuteOperation {
  return async (query, variables, toolName, idempotencyKey) => {
    const body = JSON.stringify({ query, variables });
    const run = (idempotency?: IdempotencyClaim) =>
      yoga.fetch(
        new Request('http://changeflow.internal/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
          body,
        }),
        { ...context, toolName, ...(idempotency ? { idempotency } : {}) },
      );
    const { principal } = context.auth;
    const response =
      idempotencyKey && principal
        ? await withIdempotency({
            db,
            principal,
            key: idempotencyKey,
            requestId: context.requestId,
            body,
            secretKeys: context.config.secretKeys,
            run,
          })
        : await run();
    return (await response.json()) as OperationResult;
  };
}
