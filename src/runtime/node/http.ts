import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/**
 * The bridge between node:http and the Fetch API the app is written against: an IncomingMessage
 * becomes a Request, a Response is written to the ServerResponse. Bodies stream both ways, so the
 * app's body limit applies while reading and SSE flows as it is produced.
 */

export type FetchHandler = (request: Request) => Promise<Response>;

/** Responses written as they are produced rather than read whole first. */
const STREAMED = /^(text\/event-stream|multipart\/mixed)/i;

/** The request's URL: its Host header when it makes a valid one, else the server's own address. */
function requestUrl(req: IncomingMessage, fallbackOrigin: string): string {
  const path = req.url ?? '/';
  try {
    if (req.headers.host) return new URL(path, `http://${req.headers.host}`).href;
  } catch {
    // a Host header that is not a host: fall through
  }
  return new URL(path, fallbackOrigin).href;
}

export interface BridgeOptions {
  /** Used when the Host header makes no URL. */
  fallbackOrigin: string;
  /**
   * The one header a reverse proxy in front sets to the client's address (see TRUST_PROXY_HEADERS),
   * or null without a proxy. The app keys its per-address limits on CF-Connecting-IP, which is
   * set here from that header alone (any other address header a client sends is ignored), or
   * from the connection's peer address, as Cloudflare sets it.
   */
  trustProxy: TrustProxy | null;
}

/** The headers a --trust-proxy setting can name. */
export const TRUST_PROXY_HEADERS = ['cf', 'x-real-ip', 'x-forwarded-for'] as const;
export type TrustProxy = (typeof TRUST_PROXY_HEADERS)[number];

/**
 * The client's address as the trusted proxy reported it; the peer address without one (or when
 * the proxy sent none). X-Forwarded-For: the right-most entry, the one the nearest proxy added
 * (entries to its left come from the client and may be forged).
 */
export function clientAddress(headers: Headers, peer: string, trust: TrustProxy | null): string {
  const reported =
    trust === 'cf'
      ? headers.get('cf-connecting-ip')
      : trust === 'x-real-ip'
        ? headers.get('x-real-ip')
        : trust === 'x-forwarded-for'
          ? (headers.get('x-forwarded-for')?.split(',').at(-1) ?? null)
          : null;
  const address = reported?.trim();
  return address ? address : peer;
}

/** The Fetch Request for a node:http request; aborted when the client goes away. */
export function toRequest(req: IncomingMessage, options: BridgeOptions & { signal?: AbortSignal }): Request {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const peer = req.socket.remoteAddress ?? 'unknown';
  headers.set('cf-connecting-ip', clientAddress(headers, peer, options.trustProxy));
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init = {
    method,
    headers,
    ...(hasBody ? { body: Readable.toWeb(req) as unknown as ReadableStream, duplex: 'half' } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return new Request(requestUrl(req, options.fallbackOrigin), init as RequestInit);
}

/** Resolves when the socket can take more, or when the client is gone. */
const writable = (res: ServerResponse) =>
  new Promise<void>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

/** Writes a Fetch Response to node:http: whole (with Content-Length), or streamed for SSE. */
export async function sendResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers['set-cookie'] = cookies;
  const body = response.body;
  if (!body) {
    res.writeHead(response.status, headers).end();
    return;
  }
  if (!STREAMED.test(response.headers.get('content-type') ?? '')) {
    const bytes = Buffer.from(await response.arrayBuffer());
    delete headers['transfer-encoding'];
    headers['content-length'] = String(bytes.byteLength);
    res.writeHead(response.status, headers).end(bytes);
    return;
  }
  res.writeHead(response.status, headers);
  res.flushHeaders();
  const reader = body.getReader();
  // The client left: cancelling the body ends the subscription behind it.
  const cancel = () => void reader.cancel().catch(() => {});
  res.on('close', cancel);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || res.destroyed) break;
      if (!res.write(value)) await writable(res);
    }
  } finally {
    res.off('close', cancel);
    res.end();
  }
}

const INTERNAL_ERROR = JSON.stringify({ error: { code: 'INTERNAL', message: 'Unexpected error' } });

/** A node:http request listener that serves `handler` (`options` are read on each request). */
export function requestListener(handler: FetchHandler, options: BridgeOptions) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const aborted = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    void (async () => {
      try {
        const request = toRequest(req, { ...options, signal: aborted.signal });
        await sendResponse(res, await handler(request));
      } catch (e) {
        // The app answers its own errors; this is the bridge failing (or the client gone).
        if (res.headersSent) res.destroy(e as Error);
        else res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(INTERNAL_ERROR);
      }
    })();
  };
}
