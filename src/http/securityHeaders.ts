import type { Environment } from '../config';

/**
 * Security headers for every response. JSON and other API responses get a CSP that allows
 * nothing (`default-src 'none'; frame-ancestors 'none'`). HTML pages (GraphiQL in development)
 * get a CSP that allows what the page needs and nothing else: its inline scripts by hash (computed
 * from the page itself), inline styles, its editor workers as blob: URLs, and requests to this
 * origin; the offline GraphiQL page loads nothing from elsewhere. A response that already carries
 * a CSP (a page that sets its own) keeps it.
 */

export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function htmlCsp(inlineScriptHashes: readonly string[]): string {
  const hashes = inlineScriptHashes.map((h) => ` '${h}'`).join('');
  return [
    "default-src 'none'",
    `script-src 'self'${hashes}`,
    // The editor injects style attributes and <style> elements at run time.
    "style-src 'self' 'unsafe-inline'",
    "font-src 'self' data:",
    "img-src 'self' data:",
    // 'self' covers the GraphQL requests and SSE.
    "connect-src 'self'",
    'worker-src blob:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** One year, subdomains included; only sent outside development (localhost is plain http). */
export const HSTS = 'max-age=31536000; includeSubDomains';

const INLINE_SCRIPT = /<script(\s[^>]*)?>([\s\S]*?)<\/script>/gi;

/** The CSP source for each inline `<script>` of a page (those without `src`). */
export async function inlineScriptHashes(html: string): Promise<string[]> {
  const hashes: string[] = [];
  for (const [, attributes = '', body = ''] of html.matchAll(INLINE_SCRIPT)) {
    if (/\ssrc\s*=/i.test(attributes) || body === '') continue;
    // Browsers hash the script text after HTML's newline normalisation.
    const text = body.replace(/\r\n?/g, '\n');
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
    hashes.push(`sha256-${btoa(String.fromCharCode(...new Uint8Array(digest)))}`);
  }
  return [...new Set(hashes)];
}

/**
 * Hashes of pages that carry an ETag (static assets: the offline GraphiQL page is 9 MB, whose
 * scripts take a while to hash), so that each version is read and hashed once per isolate.
 */
const hashesByEtag = new Map<string, string[]>();
const MAX_CACHED_PAGES = 16;

async function htmlCspFor(response: Response): Promise<{ csp: string; body: BodyInit | null }> {
  const etag = response.headers.get('etag');
  const cached = etag ? hashesByEtag.get(etag) : undefined;
  if (cached) return { csp: htmlCsp(cached), body: response.body };
  const html = await response.text();
  const hashes = await inlineScriptHashes(html);
  if (etag) {
    if (hashesByEtag.size >= MAX_CACHED_PAGES) hashesByEtag.clear();
    hashesByEtag.set(etag, hashes);
  }
  return { csp: htmlCsp(hashes), body: html };
}

const isHtml = (response: Response) =>
  response.headers.get('content-type')?.toLowerCase().startsWith('text/html') ?? false;

/**
 * The response with the security headers set: in place where its headers are mutable, else on a
 * copy (responses from fetch or a cache). Not for WebSocket upgrades (app.ts passes them by).
 * Environment null (invalid configuration): treated as production.
 */
export async function withSecurityHeaders(
  response: Response,
  environment: Environment | null,
): Promise<Response> {
  if (isHtml(response) && !response.headers.has('content-security-policy')) {
    const { csp, body } = await htmlCspFor(response);
    const page = new Response(body, response);
    secure(page.headers, csp, environment);
    return page;
  }
  // Most responses (Yoga's, ours) have mutable headers: set them in place rather than copy the
  // response on every request. Those from fetch() or a cache are immutable: copy those.
  try {
    secure(response.headers, API_CSP, environment);
    return response;
  } catch {
    const copy = new Response(response.body, response);
    secure(copy.headers, API_CSP, environment);
    return copy;
  }
}

function secure(headers: Headers, csp: string, environment: Environment | null): void {
  headers.set('x-content-type-options', 'nosniff');
  headers.set('referrer-policy', 'no-referrer');
  headers.set('x-frame-options', 'DENY');
  if (!headers.has('content-security-policy')) headers.set('content-security-policy', csp);
  if (environment !== 'development') headers.set('strict-transport-security', HSTS);
  else headers.delete('strict-transport-security');
}
