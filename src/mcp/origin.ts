import type { Config } from '../config';

/**
 * Which browser origins may call /mcp. The MCP transport rules require a server to validate
 * `Origin` against DNS rebinding: a page on evil.example whose name is made to resolve to this
 * server sends `Host: evil.example` and `Origin: http://evil.example` alike, so the request's own
 * Host proves nothing. Allowed are exactly the configured public origins: PUBLIC_URL's and the
 * exact entries of CORS_ORIGINS (its `*` never counts here), and, in development only, any port
 * on loopback (`http://localhost:*`, `http://127.0.0.1:*`, `http://[::1]:*`). A request without
 * Origin is not a browser's cross-origin request and passes.
 */
export type OriginPolicy = Pick<Config, 'environment' | 'publicOrigin' | 'corsOrigins'>;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  // An origin is scheme://host[:port] and nothing else; `http://localhost.evil.example` is not loopback.
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && url.origin === origin;
}

export function originAllowed(origin: string | null, policy: OriginPolicy): boolean {
  if (origin === null) return true;
  if (policy.publicOrigin !== null && origin === policy.publicOrigin) return true;
  if (policy.corsOrigins.some((allowed) => allowed !== '*' && allowed === origin)) return true;
  return policy.environment === 'development' && isLoopbackOrigin(origin);
}
