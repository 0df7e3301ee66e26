/**
 * DNS-rebinding protection for a server that listens on loopback only (the Node runtime on
 * 127.0.0.1, its default). A page on evil.example whose name is made to resolve to 127.0.0.1 reaches
 * such a server with `Host: evil.example`: the browser believes it talks to evil.example, so its
 * same-origin rules protect nothing. A loopback server therefore answers only requests that name a
 * loopback host (`localhost`, `*.localhost`, `127.x.x.x`, `[::1]`) or the host of PUBLIC_URL (a
 * reverse proxy on the same machine that passes its public Host through).
 */

const LOOPBACK_NAME = /^(localhost|.+\.localhost)$/;
const LOOPBACK_V4 = /^127(\.\d{1,3}){3}$/;

/** Whether a listen address (`--host`) is loopback only. `0.0.0.0`, `::` and names are not. */
export function isLoopbackListenAddress(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || LOOPBACK_V4.test(h);
}

/** `hostname` as URL parses it (lower case, IPv6 in brackets). */
function isLoopbackHostname(hostname: string): boolean {
  return LOOPBACK_NAME.test(hostname) || LOOPBACK_V4.test(hostname) || hostname === '[::1]';
}

/** Whether a loopback-only server may answer a request for this URL (its host is the Host header). */
export function hostAllowedOnLoopback(requestUrl: string | URL, publicOrigin: string | null): boolean {
  const { hostname, host } = typeof requestUrl === 'string' ? new URL(requestUrl) : requestUrl;
  if (isLoopbackHostname(hostname)) return true;
  return publicOrigin !== null && new URL(publicOrigin).host === host;
}
