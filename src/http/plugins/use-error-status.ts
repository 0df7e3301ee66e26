import type { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ERRORS, isErrorCode } from '../../errors';

/**
 * The HTTP status of a GraphQL answer, as GraphQL over HTTP (the graphql-over-http draft) has it:
 * a *request error* (the document does not parse or validate, the operation cannot be determined,
 * a variable value cannot be coerced) is answered 200 to a client that accepts only
 * `application/json` (the legacy media type) and 4xx to one that accepts
 * `application/graphql-response+json`; a request that is not well-formed (a body that is not JSON,
 * no `query`, malformed parameters) is 400 whatever the media type.
 *
 * Yoga decides with `extensions.http`: `status`, and `spec: true` for "200 to application/json".
 * Yoga 5 marks parse and validation errors so, but not the executor's operation-resolution and
 * variable-coercion errors (a plain 400), while it marks a body that is not JSON or has no query as
 * spec (200). This sets the mark from the error's kind instead, and keeps each status and code as
 * the registry (src/errors.ts) has them: Yoga's 405 for a mutation over GET is METHOD_NOT_ALLOWED.
 */

/** Codes of errors raised before execution begins (GraphQL request errors). */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'OPERATION_RESOLUTION_FAILURE',
  // Our validation rules: the limits (queryLimits.ts) and the introspection policy.
  'QUERY_LIMIT_EXCEEDED',
  'INTROSPECTION_DISABLED',
]);

/**
 * graphql-js's refusal of a variable value (a string for an Int, an unknown enum value, a missing
 * required variable): raised before execution, so it has no path.
 */
export const isVariableCoercionError = (error: GraphQLError) =>
  !error.path && error.message.startsWith('Variable "$');

type Http = { status?: number; spec?: boolean; headers?: Record<string, string> };

function settle(error: GraphQLError): void {
  const extensions = error.extensions as Record<string, unknown>;
  if (Object.isFrozen(extensions)) return;
  const http = (extensions.http ?? {}) as Http;
  let code = extensions.code;
  if (code === 'BAD_REQUEST' && http.status === 405) {
    code = 'METHOD_NOT_ALLOWED';
    extensions.code = code;
  }
  const status = http.status ?? (isErrorCode(code) ? ERRORS[code].status : undefined);
  if (status === undefined) return;
  const requestError =
    status < 500 &&
    status !== 405 &&
    ((typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) || isVariableCoercionError(error));
  if (requestError) extensions.http = { ...http, status, spec: true };
  else if (code === 'BAD_REQUEST' && http.spec) extensions.http = { ...http, spec: false };
}

/** Sets each error's status mark of a result (see above). */
export function settleErrorStatuses(result: unknown): void {
  if (Array.isArray(result) || typeof result !== 'object' || result === null || !('errors' in result)) return;
  for (const error of (result as { errors?: readonly unknown[] }).errors ?? []) settle(error as GraphQLError);
}

export const useErrorStatus = (): Plugin => ({
  onResultProcess({ result }) {
    settleErrorStatuses(result);
  },
});
