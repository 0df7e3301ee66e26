import { processRegularResult } from 'graphql-yoga';
import type { GraphQLServer, ServerContext } from '../http/graphqlServer';
import { type IdempotencyClaim, withIdempotency } from '../http/idempotency';
import { reportUnexpectedErrors } from '../http/plugins/use-error-reporting';
import { settleErrorStatuses } from '../http/plugins/use-error-status';
import { observeErrorCodes } from '../http/plugins/use-observation';
import type { ExecuteOperation, OperationResult } from './server';

/**
 * What Yoga's context holds as the request of a tool call: no body (the operation is handed over
 * as parameters), the media type a GraphQL client asks for. One for every call: it has nothing
 * that can be consumed.
 */
const TOOL_REQUEST = new Request('http://changeflow.internal/graphql', {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
});

/**
 * MCP tool calls run as GraphQL operations through Yoga's own operation pipeline, as /graphql's
 * do once their request is parsed: its onParams hooks, then its envelope (parse with the token
 * limit, validation with the query limits and the introspection policy and their cache, the
 * context factory that refuses a call without a principal, execution with the cost recheck,
 * tracing and error masking) and its error handling. What /graphql does around that for an HTTP
 * request (the adapter, reading and parsing a body, CSRF and media-type checks, REST routes)
 * has nothing to act on here and is not run; the result goes through our result hooks (error
 * codes for the metrics, unexpected errors to the tracker, statuses) and Yoga's JSON processor,
 * as an /graphql answer would. The same idempotency handling applies when the agent passes an
 * `idempotencyKey`.
 */
export function executeThroughYoga(
  yoga: GraphQLServer,
  context: ServerContext,
  db: D1Database,
): ExecuteOperation {
  return async (query, variables, toolName, idempotencyKey) => {
    const run = async (idempotency?: IdempotencyClaim): Promise<Response> => {
      // A context per call: Yoga adds the request and the parameters to it.
      const serverContext: ServerContext = { ...context, toolName, ...(idempotency ? { idempotency } : {}) };
      const result = await yoga.getResultForParams(
        { params: { query, variables }, request: TOOL_REQUEST },
        serverContext,
      );
      // (Only an onParams hook that answers nothing leaves no result: none of ours does.)
      if (result === undefined) throw new Error(`no GraphQL result for the tool ${toolName}`);
      observeErrorCodes(result, serverContext);
      reportUnexpectedErrors(result, serverContext);
      settleErrorStatuses(result);
      return processRegularResult(result, yoga.fetchAPI, 'application/graphql-response+json');
    };
    const { principal } = context.auth;
    const response =
      idempotencyKey && principal
        ? await withIdempotency({
            db,
            principal,
            key: idempotencyKey,
            requestId: context.requestId,
            body: JSON.stringify({ query, variables }),
            secretKeys: context.config.secretKeys,
            run,
          })
        : await run();
    return (await response.json()) as OperationResult;
  };
}
