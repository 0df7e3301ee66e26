import type { Plugin } from 'graphql-yoga';
import { AppError } from '../../errors';

/**
 * CSRF prevention for /graphql, after Yoga's and Apollo's: a browser sends a GET, or a POST whose
 * content type is form-encoded, multipart or text/plain, cross-site without asking (no CORS
 * preflight), so such a request must carry a header that no cross-site page can set without a
 * preflight. Our credentials are such headers (Authorization, X-API-Key); a caller without one
 * can send `X-GraphQL-CSRF: 1`. JSON POSTs need nothing more: their content type already forces a
 * preflight, which CORS_ORIGINS answers.
 */
export const CSRF_HEADERS = ['authorization', 'x-api-key', 'x-graphql-csrf'] as const;

/** Request content types a cross-site form or `fetch` can send without a preflight. */
const SIMPLE_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'text/plain',
]);

/** Whether a browser could have sent this request cross-site without a preflight. */
export function couldBeSimpleRequest(request: Request): boolean {
  if (request.method === 'GET' || request.method === 'HEAD') return true;
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return !type || SIMPLE_CONTENT_TYPES.has(type);
}

export function useCsrfPrevention(headers: readonly string[] = CSRF_HEADERS): Plugin {
  return {
    // After GraphiQL (a browser GET for HTML is answered before parsing), before any parser.
    onRequestParse({ request }) {
      if (!couldBeSimpleRequest(request)) return;
      if (headers.some((h) => request.headers.has(h))) return;
      throw new AppError(
        'CSRF_HEADER_REQUIRED',
        `Refused as a possible cross-site request: a ${request.method}${request.method === 'POST' ? ' that is not application/json' : ''} needs one of the headers ${headers.join(', ')} (X-GraphQL-CSRF may have any value)`,
        { headers: [...headers] },
      );
    },
  };
}
