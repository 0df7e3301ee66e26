import { randomUUID } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerOptions } from 'graphql-ws';
import { type Extra, useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config';
import type { SocketAuth } from '../../http/graphqlWs';
import { graphqlErrorResponse } from '../../http/responses';
import {
  CallerSockets,
  type SessionCredential,
  SocketSession,
  tooManyConnections,
} from '../../http/wsSession';
import type { RateLimiterPort } from '../../ratelimit/policy';
import type { FetchHandler } from './http';

/** Set by the gateway on an upgrade request it routes through the app (any client value is replaced). */
const UPGRADE_ID_HEADER = 'x-changeflow-upgrade-id';
/** WebSocket-level pings; a client that misses one is dropped. */
const KEEP_ALIVE_MS = 15_000;
/** graphql-ws messages are small JSON; the app caps HTTP bodies at 100 KiB for the same reason. */
const MAX_MESSAGE_BYTES = 100 * 1024;

interface PendingUpgrade {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  accepted: boolean;
}

/** An answer that refuses an upgrade, written on the raw socket (there is no ServerResponse). */
async function refuse(socket: Duplex, response: Response) {
  const streamed = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
  if (streamed) await response.body?.cancel();
  const body = streamed ? Buffer.alloc(0) : Buffer.from(await response.arrayBuffer());
  const lines = [`HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? ''}`];
  response.headers.forEach((value, name) => {
    if (!['content-length', 'connection', 'transfer-encoding'].includes(name))
      lines.push(`${name}: ${value}`);
  });
  lines.push(`content-length: ${body.byteLength}`, 'connection: close', '', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n')), body]));
}

/**
 * GraphQL over WebSocket (graphql-transport-ws, the `ws` package) on the HTTP server's port.
 * An upgrade request goes through the app like any other request (routing, the tenant named in
 * the URL, rate limits, logs and metrics); when the app hands it to the subscriptions port,
 * `accept` completes the handshake. Anything else the app answers is written back as HTTP.
 */
export class WebSocketGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly pending = new Map<string, PendingUpgrade>();
  private readonly sessions = new WeakMap<IncomingMessage, SocketSession>();
  private readonly callers = new CallerSockets();
  private readonly server: { dispose: () => void | Promise<void> };

  constructor(
    options: ServerOptions<{ authorization?: unknown }, Extra & SocketAuth>,
    private readonly deps: { db: D1Database; config: Config; limiter: RateLimiterPort | null },
  ) {
    this.server = useServer(
      { ...options, isProd: deps.config.environment === 'production' },
      this.wss,
      KEEP_ALIVE_MS,
    );
  }

  /** The session a socket was opened with (its credential checked by the app at the upgrade). */
  sessionOf = (extra: Extra): SocketSession | undefined => this.sessions.get(extra.request);

  /** node:http's 'upgrade' event. */
  async handleUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    request: Request,
    fetch: FetchHandler,
  ) {
    socket.on('error', () => socket.destroy());
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') {
      return refuse(socket, graphqlErrorResponse('BAD_REQUEST', 'Only WebSocket upgrades are served here'));
    }
    const id = randomUUID();
    const entry: PendingUpgrade = { req, socket, head, accepted: false };
    this.pending.set(id, entry);
    try {
      const headers = new Headers(request.headers);
      headers.set(UPGRADE_ID_HEADER, id);
      const response = await fetch(new Request(request.url, { headers, signal: request.signal }));
      if (!entry.accepted && !socket.destroyed) await refuse(socket, response);
    } catch {
      socket.destroy();
    } finally {
      this.pending.delete(id);
    }
  }

  /** The WebSocket half of the subscriptions port: completes a handshake the app let through. */
  accept(request: Request, credential: SessionCredential): Response {
    const id = request.headers.get(UPGRADE_ID_HEADER);
    const entry = id ? this.pending.get(id) : undefined;
    if (!entry) {
      return graphqlErrorResponse('NOT_IMPLEMENTED', 'WebSocket upgrades are served by the Node HTTP server');
    }
    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    if (!offered.includes('graphql-transport-ws')) {
      return graphqlErrorResponse('BAD_REQUEST', 'Use the graphql-transport-ws subprotocol');
    }
    const session = new SocketSession(credential, this.deps);
    const key = session.key;
    const limit = this.deps.config.sessions.maxSocketsPerCaller;
    if (!this.callers.take(key, limit)) return tooManyConnections(limit);
    entry.accepted = true;
    this.sessions.set(entry.req, session);
    this.wss.handleUpgrade(entry.req, entry.socket, entry.head, (ws) => {
      // The credential's end (expiry, revocation) closes the socket and ends its subscriptions.
      session.open((code, reason) => ws.close(code, reason));
      ws.once('close', () => {
        session.end();
        this.callers.release(key);
      });
      this.wss.emit('connection', ws, entry.req);
    });
    // ws has written the 101 on the socket; this answer only tells the app (logs, metrics) it was
    // accepted. undici cannot construct a 101 Response, so it says 200.
    return new Response(null, { status: 200 });
  }

  /** Closes every socket with 1001 (going away) and stops accepting. */
  async close(): Promise<void> {
    await this.server.dispose();
  }
}
