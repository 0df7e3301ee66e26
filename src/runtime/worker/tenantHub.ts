import { DurableObject } from 'cloudflare:workers';
import { CloseCode, makeServer } from 'graphql-ws';
import { Repeater, SlidingBuffer } from 'graphql-yoga';
import type { Principal } from '../../auth/principal';
import { type Config, loadConfig } from '../../config';
import type { ExecutionEvent } from '../../engine/engine';
import type { AppBindings } from '../../http/app';
import type { AuthResult } from '../../http/authenticate';
import { createGraphQLServer, type GraphQLServer, type ServerContext } from '../../http/graphqlServer';
import { graphqlWsOptions, type SocketAuth } from '../../http/graphqlWs';
import {
  CallerSockets,
  guardEventStream,
  type SessionCredential,
  SocketSession,
  tooManyConnections,
} from '../../http/wsSession';
import { createLogger } from '../../log';
import type { SystemFigures } from '../../metrics/aggregator';
import { schema } from '../../schema';
import { type AuthedContext, createRequestContext } from '../../usecases/context';
import type { ChangeEvent } from '../../usecases/ports/events';
import type { LiveMetrics, LivePort } from '../../usecases/ports/live';
import { changeKpis } from '../../usecases/reports';
import type { MetricsRecorder } from './metricsRecorder';
import { type ExecutionEnv, workflowsExecutor } from './ports';
import { durableObjectLimiter, type RateLimiter } from './rateLimiter';
import { durableWriteLock } from './tenantLock';

export interface HubEnv extends AppBindings {
  METRICS: DurableObjectNamespace<MetricsRecorder>;
  /** Operations over a socket count against the same limits as HTTP requests. */
  RATE_LIMITER?: DurableObjectNamespace<RateLimiter>;
}

/** The header the Worker names the hub's tenant in (a hub serves one tenant). */
export const TENANT_HEADER = 'x-changeflow-tenant';
/** The header the Worker passes the checked credential in (any client value is replaced). */
const SESSION_HEADER = 'x-changeflow-session';

/** The request the Worker hands a hub: the tenant and credential it checked, in its own headers. */
export function forwardToHub(request: Request, credential: SessionCredential): Request {
  const headers = new Headers(request.headers);
  headers.set(TENANT_HEADER, credential.principal.tenantId);
  // URI-encoded: a principal's name may hold characters a header cannot.
  headers.set(SESSION_HEADER, encodeURIComponent(JSON.stringify(credential)));
  return new Request(request, { headers });
}

function forwardedCredential(request: Request): SessionCredential | null {
  const raw = request.headers.get(SESSION_HEADER);
  return raw ? (JSON.parse(decodeURIComponent(raw)) as SessionCredential) : null;
}
/** Coalesces bursts of change events into at most a few KPI updates per second. */
const RECOMPUTE_DEBOUNCE_MS = 250;
/** Cadence of system-figure updates while anyone is subscribed. */
const TICK_MS = 5_000;
/** Updates a slow subscriber may fall behind by before the oldest are dropped. */
const BUFFER = 16;

type Listener<T> = { push: (value: T) => void; accepts: (value: T) => boolean };
interface Socket {
  ws: WebSocket;
  alive: boolean;
  /** Ends the socket's subscriptions in graphql-ws and forgets it. */
  release: (code: number, reason: string) => void;
}

const logger = createLogger({ service: 'changeflow', component: 'hub' });

/**
 * One Durable Object per tenant owns that tenant's subscriptions: GraphQL over WebSocket
 * (graphql-transport-ws) and over SSE, executed through the same Yoga pipeline as /graphql.
 * Mutations publish change events here after their batch commits; the hub fans them out and
 * recomputes the KPI snapshot (debounced).
 */
export class TenantHub extends DurableObject<HubEnv> {
  private tenantId: string | null = null;
  private built: { config: Config; yoga: GraphQLServer } | null = null;
  private latest: LiveMetrics | null = null;
  private readonly metricListeners = new Set<Listener<LiveMetrics>>();
  private readonly changeListeners = new Set<Listener<ChangeEvent>>();
  private readonly executionListeners = new Set<Listener<ExecutionEvent>>();
  private readonly sockets = new Set<Socket>();
  private readonly callers = new CallerSockets();
  private recomputeTimer: ReturnType<typeof setTimeout> | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private pinger: ReturnType<typeof setInterval> | null = null;

  private setup() {
    this.built ??= (() => {
      const config = loadConfig(this.env);
      return { config, yoga: createGraphQLServer(schema, config) };
    })();
    return this.built;
  }

  override async fetch(request: Request): Promise<Response> {
    this.tenantId ??= request.headers.get(TENANT_HEADER);
    const credential = forwardedCredential(request);
    // Only the Worker reaches a hub, always with a checked credential of this hub's tenant.
    if (!credential || credential.principal.tenantId !== this.tenantId) {
      return new Response('No session', { status: 401 });
    }
    if (request.headers.get('upgrade')?.toLowerCase() === 'websocket') {
      return this.acceptWebSocket(request, credential);
    }
    const { config, yoga } = this.setup();
    const requestId = request.headers.get('x-request-id') ?? crypto.randomUUID();
    const response = await yoga.fetch(
      request,
      this.serverContext({ principal: credential.principal }, requestId),
    );
    // An SSE stream ends when its credential does (JWT expiry, API key revoked).
    return guardEventStream(response, credential, { db: this.env.DB, recheckMs: config.sessions.recheckMs });
  }

  /** Called by the Worker after a mutation's batch committed. */
  publish(event: ChangeEvent): void {
    for (const l of this.changeListeners) if (l.accepts(event)) l.push(event);
    if (this.metricListeners.size > 0 && !this.recomputeTimer) {
      this.recomputeTimer = setTimeout(() => {
        this.recomputeTimer = null;
        void this.broadcastSnapshot();
      }, RECOMPUTE_DEBOUNCE_MS);
    }
  }

  /** Called by the workflow engine and the execution mutations as an execution moves. */
  publishExecution(event: ExecutionEvent): void {
    for (const l of this.executionListeners) if (l.accepts(event)) l.push(event);
  }

  ping(): { status: 'ok'; subscribers: number; sockets: number } {
    return { status: 'ok', subscribers: this.subscriberCount(), sockets: this.sockets.size };
  }

  private subscriberCount() {
    return this.metricListeners.size + this.changeListeners.size + this.executionListeners.size;
  }

  private serverContext(auth: AuthResult, requestId: string): ServerContext {
    const { config } = this.setup();
    // A token for another tenant may not read this tenant's feeds.
    const scoped: AuthResult =
      auth.principal && auth.principal.tenantId !== this.tenantId ? { principal: null, error: null } : auth;
    // The Worker gives the hub the engine's bindings too (tests of the hub alone may not).
    const { EXECUTOR, BREAKERS, TENANT_LOCKS } = this.env as HubEnv &
      Partial<Pick<ExecutionEnv, 'EXECUTOR' | 'BREAKERS' | 'TENANT_LOCKS'>>;
    return {
      db: this.env.DB,
      config,
      requestId,
      auth: scoped,
      logger,
      source: 'graphql',
      live: this.livePort(),
      // A mutation sent over the socket announces its events here, as one over HTTP does.
      events: { publish: (e) => this.publish(e), publishExecution: (e) => this.publishExecution(e) },
      ...(EXECUTOR && BREAKERS ? { executions: workflowsExecutor({ EXECUTOR, BREAKERS }) } : {}),
      ...(TENANT_LOCKS ? { writeLock: durableWriteLock(TENANT_LOCKS) } : {}),
    };
  }

  private livePort(): LivePort {
    return {
      systemFigures: () => this.systemFigures(),
      metrics: () => this.feed(this.metricListeners, () => true, this.latest ?? this.snapshot()),
      changeEvents: (filter) =>
        this.feed(this.changeListeners, (e) => {
          if (filter?.changeId && e.changeId !== filter.changeId) return false;
          return !filter?.statuses?.length || filter.statuses.includes(e.status);
        }),
      executionEvents: (filter) =>
        this.feed(
          this.executionListeners,
          (e) =>
            (!filter?.executionId || e.executionId === filter.executionId) &&
            (!filter?.workflowId || e.workflowId === filter.workflowId),
        ),
    };
  }

  /** A subscriber's stream: registered while iterated, removed the moment the client leaves. */
  private feed<T>(listeners: Set<Listener<T>>, accepts: (v: T) => boolean, first?: Promise<T> | T) {
    return new Repeater<T>(async (push, stop) => {
      const listener: Listener<T> = { push: (v) => void push(v), accepts };
      listeners.add(listener);
      this.subscribersChanged();
      try {
        if (first !== undefined) void push(await first);
        await stop;
      } finally {
        // Also when the first snapshot failed: a listener must never outlive its subscriber.
        listeners.delete(listener);
        this.subscribersChanged();
      }
    }, new SlidingBuffer(BUFFER));
  }

  private subscribersChanged() {
    const count = this.subscriberCount();
    if (this.metricListeners.size > 0 && !this.ticker) {
      this.ticker = setInterval(() => void this.broadcastSnapshot(), TICK_MS);
    } else if (this.metricListeners.size === 0 && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
    }
    const recorder = this.env.METRICS.get(this.env.METRICS.idFromName('global'));
    void recorder.setSubscriptions(this.tenantId ?? 'unknown', count).catch(() => {});
  }

  private async systemFigures(): Promise<SystemFigures> {
    return this.env.METRICS.get(this.env.METRICS.idFromName('global')).figures();
  }

  private async snapshot(): Promise<LiveMetrics> {
    const principal: Principal = {
      id: 'changeflow-hub',
      tenantId: this.tenantId ?? '',
      roles: ['viewer'],
      kind: 'user',
      name: null,
      email: null,
    };
    const ctx = createRequestContext({ db: this.env.DB, requestId: 'hub', principal }) as AuthedContext;
    const [kpis, system] = await Promise.all([changeKpis(ctx), this.systemFigures()]);
    this.latest = { kpis, system, generatedAt: kpis.generatedAt };
    return this.latest;
  }

  private async broadcastSnapshot() {
    try {
      const snapshot = await this.snapshot();
      for (const l of this.metricListeners) l.push(snapshot);
    } catch (e) {
      logger.log('error', 'metrics snapshot failed', { tenant: this.tenantId, error: String(e) });
    }
  }

  private acceptWebSocket(request: Request, credential: SessionCredential): Response {
    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    if (!offered.includes('graphql-transport-ws')) {
      return new Response('Use the graphql-transport-ws subprotocol', { status: 400 });
    }
    const { config, yoga } = this.setup();
    const session = new SocketSession(credential, {
      db: this.env.DB,
      config,
      limiter: this.env.RATE_LIMITER ? durableObjectLimiter(this.env.RATE_LIMITER) : null,
    });
    // A caller's sockets all live in its tenant's hub: the count is exact here.
    const callerKey = session.key;
    const limit = config.sessions.maxSocketsPerCaller;
    if (!this.callers.take(callerKey, limit)) return tooManyConnections(limit);
    const requestId = request.headers.get('x-request-id') ?? crypto.randomUUID();
    const server = makeServer<{ authorization?: unknown }, SocketAuth>({
      schema,
      ...graphqlWsOptions<SocketAuth>({
        config,
        db: this.env.DB,
        yoga,
        sessionOf: () => session,
        contextFor: (auth) => this.serverContext(auth, requestId),
      }),
    });

    const [client, ws] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    ws.accept();
    const socket: Socket = { ws, alive: true, release: () => {} };
    this.sockets.add(socket);
    this.ensurePinger();
    const closed = server.opened(
      {
        protocol: 'graphql-transport-ws',
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        onMessage: (cb) => {
          ws.addEventListener('message', (event) => {
            socket.alive = true;
            // cb resolves only when an operation completes; never block the next message on it.
            cb(String(event.data)).catch((e) =>
              ws.close(CloseCode.InternalServerError, String(e).slice(0, 100)),
            );
          });
        },
      },
      { auth: null },
    );
    const cleanup = (code: number, reason: string) => {
      if (!this.sockets.delete(socket)) return;
      session.end();
      this.callers.release(callerKey);
      void closed(code, reason);
    };
    socket.release = cleanup;
    // The credential's end (expiry, revocation) closes the socket and ends its subscriptions.
    session.open((code, reason) => {
      cleanup(code, reason);
      try {
        ws.close(code, reason);
      } catch {
        // already closed
      }
    });
    ws.addEventListener('close', (event) => {
      cleanup(event.code, event.reason);
      // Answer the close, or workerd cancels the request and the client sees 1006.
      try {
        ws.close(event.code, event.reason);
      } catch {
        // already closed
      }
    });
    ws.addEventListener('error', () => cleanup(1011, 'socket error'));
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { 'Sec-WebSocket-Protocol': 'graphql-transport-ws' },
    });
  }

  /** Pings every socket; one that did not answer since the last ping is closed and freed. */
  private ensurePinger() {
    if (this.pinger) return;
    this.pinger = setInterval(() => {
      for (const socket of [...this.sockets]) {
        if (!socket.alive) {
          socket.release(4408, 'No pong received');
          try {
            socket.ws.close(4408, 'No pong received');
          } catch {
            // already closed
          }
          continue;
        }
        socket.alive = false;
        try {
          socket.ws.send('{"type":"ping"}');
        } catch {
          socket.release(1011, 'send failed');
        }
      }
      if (this.sockets.size === 0 && this.pinger) {
        clearInterval(this.pinger);
        this.pinger = null;
      }
    }, this.setup().config.hubPingIntervalMs);
  }
}
