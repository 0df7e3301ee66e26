import { jsonErrorResponse } from './responses';

/**
 * CORS for every route, from CORS_ORIGINS exactly: an origin on the list gets
 * `Access-Control-Allow-Origin: <that origin>` (with `Vary: Origin`), any other none. `*` (allowed
 * in development only; config refuses it in production) answers `*`. No credentials: callers
 * authenticate with headers, never cookies.
 */

export const CORS_ALLOWED_METHODS = ['GET', 'POST', 'OPTIONS'] as const;

/** Request headers a browser client may send (beyond the CORS-safelisted ones). */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'accept',
  'x-api-key',
  'idempotency-key',
  'mcp-protocol-version',
  'mcp-session-id',
  'last-event-id',
  'x-request-id',
  'x-graphql-csrf',
] as const;

/** Response headers a browser client may read. */
export const CORS_EXPOSED_HEADERS = [
  'x-request-id',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
  'www-authenticate',
  'mcp-protocol-version',
  'mcp-session-id',
] as const;

/** How long a browser may cache a preflight answer (Chromium caps it at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 600;

/** The Access-Control-Allow-Origin value for this Origin header, or null when it is not allowed. */
export function allowOrigin(origin: string | null, allowed: readonly string[]): string | null {
  if (origin === null) return null;
  if (allowed.includes('*')) return '*';
  return allowed.includes(origin) ? origin : null;
}

function addVary(headers: Headers, ...names: string[]) {
  const present = (headers.get('vary') ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const lower = present.map((v) => v.toLowerCase());
  for (const name of names) if (!lower.includes(name.toLowerCase())) present.push(name);
  headers.set('vary', present.join(', '));
}

/** Whether this is a CORS preflight (an OPTIONS with Origin and Access-Control-Request-Method). */
export const isPreflight = (request: Request) =>
  request.method === 'OPTIONS' &&
  request.headers.has('origin') &&
  request.headers.has('access-control-request-method');

/**
 * Answers an OPTIONS: 204 with the allowed methods and headers for an allowed origin (or a
 * non-browser OPTIONS), 403 CORS_ORIGIN_NOT_ALLOWED without any Access-Control-Allow-* header
 * for an origin that is not on the list.
 */
export function preflightResponse(request: Request, allowed: readonly string[]): Response {
  const headers = new Headers({ allow: CORS_ALLOWED_METHODS.join(', ') });
  if (!allowed.includes('*')) addVary(headers, 'Origin');
  if (!isPreflight(request)) return new Response(null, { status: 204, headers });
  const origin = request.headers.get('origin');
  const allowOriginValue = allowOrigin(origin, allowed);
  if (!allowOriginValue) {
    const message = `Origin ${origin} is not allowed (CORS_ORIGINS lists the origins that may call this API)`;
    return jsonErrorResponse('CORS_ORIGIN_NOT_ALLOWED', message, {}, Object.fromEntries(headers));
  }
  headers.set('access-control-allow-origin', allowOriginValue);
  headers.set('access-control-allow-methods', CORS_ALLOWED_METHODS.join(', '));
  headers.set('access-control-allow-headers', CORS_ALLOWED_HEADERS.join(', '));
  headers.set('access-control-max-age', String(CORS_MAX_AGE_SECONDS));
  return new Response(null, { status: 204, headers });
}

/** Adds the CORS response headers for the request's Origin to a (mutable) set of headers. */
export function applyCors(headers: Headers, request: Request, allowed: readonly string[]): void {
  if (!allowed.includes('*')) addVary(headers, 'Origin');
  const value = allowOrigin(request.headers.get('origin'), allowed);
  if (!value) {
    // Whatever was set further in (Yoga's own CORS is off), a disallowed origin gets none.
    headers.delete('access-control-allow-origin');
    return;
  }
  headers.set('access-control-allow-origin', value);
  headers.set('access-control-expose-headers', CORS_EXPOSED_HEADERS.join(', '));
}
