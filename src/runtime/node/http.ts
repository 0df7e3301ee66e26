import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { MAX_BODY_BYTES } from '../../http/bodyLimit';

/**
 * The bridge between node:http and the Fetch API the app is written against: an IncomingMessage
 * becomes a Request, a Response is written to the ServerResponse. A body whose Content-Length is
 * within the app's cap is read here first and handed on as bytes (a stream body costs undici a
 * web stream per request); any other body (chunked, or declared over the cap) streams, so that
 * the app's body limit applies while reading. SSE flows as it is produced.
 */

export type FetchHandler = (request: Request) => Promise<Response>;

/** Responses written as they are produced rather than read whole first. */
const STREAMED = /^(text\/event-stream|multipart\/mixed)/i;

/** A Host header that is a plain name or address with an optional port: joined as it is. */
const PLAIN_HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** A path the URL parser reads as a path whatever it is joined to (not `//host`, `/\\host`). */
const PLAIN_PATH = /^\/(?![/\\])/;

/**
 * The common case joined without a parse here (the Request parses it, once): what requestUrl
 * makes of it when the Host header parses, since neither part can change how the other is read;
 * null for anything else. (A host it lets through may still fail to parse, 999.0.0.1 or port
 * 99999: the Request then refuses it and requestUrl decides.)
 */
function plainUrl(req: IncomingMessage): string | null {
  const path = req.url ?? '/';
  const host = req.headers.host;
  return host && PLAIN_HOST.test(host) && PLAIN_PATH.test(path) ? `http://${host}${path}` : null;
}

/** The request's URL: its Host header when it makes a valid one, else the server's own address. */
export function requestUrl(req: IncomingMessage, fallbackOrigin: string): string {
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

/**
 * The body's length when it is to be read before the app sees it: declared by a Content-Length
 * within the app's cap (node:http has checked its syntax and refused it beside Transfer-Encoding).
 */
export function bufferedLength(req: IncomingMessage): number | null {
  if (req.method === 'GET' || req.method === 'HEAD') return null;
  const declared = req.headers['content-length'];
  if (declared === undefined || req.headers['transfer-encoding'] !== undefined) return null;
  const length = Number(declared);
  return Number.isSafeInteger(length) && length >= 0 && length <= MAX_BODY_BYTES ? length : null;
}

/**
 * The Fetch Request for a node:http request; aborted when the client goes away. `body`: the
 * bytes already read (see bufferedLength); without it a request body streams.
 */
export function toRequest(
  req: IncomingMessage,
  options: BridgeOptions & { signal?: AbortSignal },
  body?: Buffer,
): Request {
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
    ...(!hasBody
      ? {}
      : body
        ? { body }
        : { body: Readable.toWeb(req) as unknown as ReadableStream, duplex: 'half' }),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const plain = plainUrl(req);
  if (plain !== null) {
    try {
      return new Request(plain, init as RequestInit);
    } catch {
      // A URL that does not parse (the Request reads its URL before anything else): as any other.
    }
  }
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
    const serve = async (body?: Buffer) => {
      try {
        const request = toRequest(req, { ...options, signal: aborted.signal }, body);
        await sendResponse(res, await handler(request));
      } catch (e) {
        // The app answers its own errors; this is the bridge failing (or the client gone).
        if (res.headersSent) res.destroy(e as Error);
        else res.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(INTERNAL_ERROR);
      }
    };
    if (bufferedLength(req) === null) {
      void serve();
      return;
    }
    // node:http delivers no more than Content-Length; a client that leaves before the end of its
    // body (the request is then destroyed, 'end' never comes) has nobody left to answer.
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.byteLength;
    });
    req.on('error', () => {});
    req.on('end', () => {
      void serve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
  };
}
