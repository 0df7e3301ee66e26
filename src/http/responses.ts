import { ERRORS, type ErrorCode } from '../errors';
import { problemResponse } from './rest/problem';

/**
 * The error renderers, one per surface, fed by the registry in src/errors.ts: the status is always
 * the code's, and a code that is not registered does not compile. Inside Yoga, GraphQL errors are
 * AppErrors (their extensions carry the code and status); these render the same answers where a
 * route answers before or outside Yoga.
 */

/** What a route speaks, and so how its errors look (see routes.ts). */
export type Surface = 'graphql' | 'jsonrpc' | 'json' | 'problem' | 'legacy' | 'html' | 'text';

type Details = Record<string, unknown>;
type Headers = Record<string, string>;

const respond = (code: ErrorCode, body: unknown, headers: Headers) =>
  new Response(JSON.stringify(body), {
    status: ERRORS[code].status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

/**
 * Plain JSON, for every route that is neither GraphQL nor JSON-RPC (pages and text routes too: a
 * client that reads their errors reads JSON): `{ "error": { "code", "message", ...details } }`.
 */
export function jsonErrorResponse(
  code: ErrorCode,
  message: string,
  details: Details = {},
  headers: Headers = {},
): Response {
  return respond(code, { error: { code, message, ...details } }, headers);
}

/** GraphQL over HTTP, as Yoga answers an AppError: `{ "errors": [{ "message", "extensions": { "code", ...details } }] }`. */
export function graphqlErrorResponse(
  code: ErrorCode,
  message: string,
  details: Details = {},
  headers: Headers = {},
): Response {
  return respond(code, { errors: [{ message, extensions: { code, ...details } }] }, headers);
}

/** JSON-RPC error codes (the spec's, and MCP's own range) for the registry's codes at /mcp. */
const RPC_CODES: Partial<Record<ErrorCode, number>> = {
  UNAUTHENTICATED: -32001,
  RATE_LIMITED: -32029,
};
/** JSON-RPC 2.0's codes for a body that is not JSON, and for JSON that is not a request. */
export const RPC_PARSE_ERROR = -32700;
export const RPC_INVALID_REQUEST = -32600;

/**
 * JSON-RPC 2.0 (/mcp): `{ "jsonrpc": "2.0", "error": { "code": <number>, "message", "data": { "code",
 * ...details } }, "id": null }`. The number is JSON-RPC's (`rpcCode`, else the code's own, else
 * -32000, the server-error range); the registry's code is `data.code`.
 */
export function jsonRpcErrorResponse(
  code: ErrorCode,
  message: string,
  details: Details = {},
  headers: Headers = {},
  rpcCode: number = RPC_CODES[code] ?? -32000,
): Response {
  return respond(
    code,
    { jsonrpc: '2.0', error: { code: rpcCode, message, data: { code, ...details } }, id: null },
    headers,
  );
}

/** The error answer of a route of this surface. */
export function errorResponse(
  surface: Surface,
  code: ErrorCode,
  message: string,
  details: Details = {},
  headers: Headers = {},
): Response {
  if (surface === 'graphql') return graphqlErrorResponse(code, message, details, headers);
  if (surface === 'jsonrpc') return jsonRpcErrorResponse(code, message, details, headers);
  if (surface === 'problem') return problemResponse(code, message, details, headers);
  if (surface === 'legacy') {
    const error = { code, message, ...(Object.keys(details).length ? { details } : {}) };
    return respond(code, { error }, headers);
  }
  return jsonErrorResponse(code, message, details, headers);
}
