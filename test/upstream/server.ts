// A loopback stand-in for the systems a workflow's http-request steps call. Runs in Node, started
// once per test run by test/globalSetup.ts before the workers pool; tests read its base URL with
// `inject('upstreamUrl')`. State (per-key call counts and logs) is shared by every test file in the
// run, so each test uses its own key, e.g. `crypto.randomUUID()`.
//
// Every answer is JSON. Paths:
//   ANY  /ok                          200 { ok, method, body: parsed JSON or null, headers }
//   ANY  /status/:code[?retryAfter=s] that status, { status }; Retry-After when asked
//   ANY  /slow/:ms                    200 { ok, waitedMs } after ms (client may abort)
//   ANY  /hang                        never answers; ends when the client aborts
//   ANY  /reset                       TCP reset (RST) without a response
//   ANY  /close                       closes the connection (FIN) without a response
//   ANY  /flaky/:key/:failures/:code[?retryAfter=s]
//                                     `code` for the first `failures` calls with key, then 200 { ok, calls }
//   ANY  /keyed/:key/<any path above> that behaviour, counted and logged under key
//   GET  /count/:key                  { calls }
//   GET  /log/:key                    { calls: [{ at, method, path, aborted }] }
//   ANY  /big/:bytes                  200, a JSON string that is exactly `bytes` bytes long
//   ANY  /echo                        200 { method, path, headers, body: raw text }
//   ANY  /redirect?to=<url>[&status=3xx]
//                                     that status (default 302) with Location: <url>
//   ANY  /capture/:key/<any path above>
//                                     that behaviour; the request's headers and raw body are kept under key
//   GET  /captured/:key               { requests: [{ at, headers, body }] }
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request received under a key. `aborted`: the client went away before the answer was complete. */
export interface UpstreamCall {
  at: number;
  method: string;
  path: string;
  aborted: boolean;
}

export interface Upstream {
  url: string;
  close(): Promise<void>;
}

const MAX_SLOW_MS = 120_000;
const MAX_BIG_BYTES = 64 * 1024 * 1024;
const SELECTED_HEADERS = ['content-type', 'authorization', 'x-test'] as const;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  if (res.writableEnded || res.destroyed) return;
  // 1xx cannot be a final answer and 204/304 carry no body: send those bare.
  const bare = status === 204 || status === 304;
  const text = bare ? '' : JSON.stringify(body);
  res.writeHead(status, {
    ...(bare
      ? {}
      : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) }),
    ...headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A status the server can answer with: a final status, 200-599. */
function statusOf(text: string | undefined): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n >= 200 && n <= 599 ? n : null;
}

function retryAfterHeader(url: URL): Record<string, string> {
  const value = url.searchParams.get('retryAfter');
  return value === null ? {} : { 'retry-after': value };
}

export async function startUpstream(): Promise<Upstream> {
  const calls = new Map<string, UpstreamCall[]>();
  const flakyCounts = new Map<string, number>();
  const captured = new Map<string, { at: number; headers: IncomingMessage['headers']; body: string }[]>();
  const timers = new Set<NodeJS.Timeout>();

  function record(key: string, req: IncomingMessage, res: ServerResponse, path: string): UpstreamCall {
    const call: UpstreamCall = { at: Date.now(), method: req.method ?? 'GET', path, aborted: false };
    const list = calls.get(key) ?? [];
    list.push(call);
    calls.set(key, list);
    res.on('close', () => {
      if (!res.writableFinished) call.aborted = true;
    });
    return call;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    let segments = url.pathname
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    const method = req.method ?? 'GET';

    // /keyed/:key/<rest>: count and log under key, then behave as <rest>.
    if (segments[0] === 'keyed' && segments[1] !== undefined) {
      record(segments[1], req, res, url.pathname);
      segments = segments.slice(2);
    }
    // /capture/:key/<rest>: keep the request (headers and raw body) under key, then behave as <rest>.
    let rawBody: string | null = null;
    if (segments[0] === 'capture' && segments[1] !== undefined) {
      rawBody = await readBody(req);
      const list = captured.get(segments[1]) ?? [];
      list.push({ at: Date.now(), headers: req.headers, body: rawBody });
      captured.set(segments[1], list);
      segments = segments.slice(2);
    }
    const [head, a, b, c] = segments;

    switch (head) {
      case 'captured':
        if (a === undefined) return send(res, 400, { error: 'use /captured/:key' });
        return send(res, 200, { requests: captured.get(a) ?? [] });
      case 'ok': {
        const body = parseJson(rawBody ?? (await readBody(req)));
        const headers = Object.fromEntries(SELECTED_HEADERS.map((h) => [h, req.headers[h] ?? null]));
        return send(res, 200, { ok: true, method, body, headers });
      }
      case 'status': {
        const status = statusOf(a);
        if (status === null) return send(res, 400, { error: 'status must be 200-599' });
        return send(res, status, { status }, retryAfterHeader(url));
      }
      case 'slow': {
        const ms = Number(a);
        if (!Number.isInteger(ms) || ms < 0 || ms > MAX_SLOW_MS) {
          return send(res, 400, { error: `ms must be 0-${MAX_SLOW_MS}` });
        }
        const timer = setTimeout(() => {
          timers.delete(timer);
          send(res, 200, { ok: true, waitedMs: ms });
        }, ms);
        timers.add(timer);
        // The client may abort: forget the answer rather than write to a closed socket.
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
      case 'hang':
        // Read (and drop) the body so that the client's upload completes, then never answer.
        req.resume();
        return;
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'close':
        req.socket.destroy();
        return;
      case 'flaky': {
        const failures = Number(b);
        const status = statusOf(c);
        if (a === undefined || !Number.isInteger(failures) || failures < 0 || status === null) {
          return send(res, 400, { error: 'use /flaky/:key/:failures/:code' });
        }
        record(a, req, res, url.pathname);
        const n = (flakyCounts.get(a) ?? 0) + 1;
        flakyCounts.set(a, n);
        if (n <= failures) return send(res, status, { status, calls: n }, retryAfterHeader(url));
        return send(res, 200, { ok: true, calls: n });
      }
      case 'count':
        if (a === undefined) return send(res, 400, { error: 'use /count/:key' });
        return send(res, 200, { calls: calls.get(a)?.length ?? 0 });
      case 'log':
        if (a === undefined) return send(res, 400, { error: 'use /log/:key' });
        return send(res, 200, { calls: calls.get(a) ?? [] });
      case 'big': {
        const bytes = Number(a);
        if (!Number.isInteger(bytes) || bytes < 2 || bytes > MAX_BIG_BYTES) {
          return send(res, 400, { error: `bytes must be 2-${MAX_BIG_BYTES}` });
        }
        // A JSON string: two quotes around bytes-2 ASCII letters, so the body is exactly `bytes` long.
        return send(res, 200, 'x'.repeat(bytes - 2));
      }
      case 'redirect': {
        const to = url.searchParams.get('to');
        const status = Number(url.searchParams.get('status') ?? 302);
        if (to === null || ![301, 302, 303, 307, 308].includes(status)) {
          return send(res, 400, { error: 'use /redirect?to=<url>[&status=301|302|303|307|308]' });
        }
        return send(res, status, { redirectTo: to }, { location: to });
      }
      case 'echo': {
        const body = rawBody ?? (await readBody(req));
        return send(res, 200, { method, path: `${url.pathname}${url.search}`, headers: req.headers, body });
      }
      default:
        return send(res, 404, { error: `no such upstream path: ${url.pathname}` });
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      // A client that aborts mid-body makes readBody fail: nothing left to answer.
      if (!res.headersSent && !res.destroyed) send(res, 500, { error: String(e) });
    });
  });
  // Errors on a socket the client reset must not crash the test run.
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        // /hang and /slow requests still open would keep close() waiting forever.
        server.closeAllConnections();
      }),
  };
}
