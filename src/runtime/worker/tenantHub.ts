import { DurableObject } from 'cloudflare:workers';
import { CloseCode, makeServer } from 'graphql-ws';
import { type Config, loadConfig } from '../../config';
import type { ExecutionEvent } from '../../engine/engine';
import type { AppBindings } from '../../http/app';
import type { AuthResult } from '../../http/authenticate';
import { createGraphQLServer, type GraphQLServer, type ServerContext } from '../../http/graphqlServer';
import { graphqlWsOptions, type SocketAuth } from '../../http/graphqlWs';
import { graphqlErrorResponse } from '../../http/responses';
import {
  CallerSockets,
  guardEventStream,
  type SessionCredential,
  SocketSession,
  tooManyConnections,
} from '../../http/wsSession';
import { createLiveFeeds, type LiveFeeds } from '../../live/feeds';
import { forTenant } from '../../live/principal';
import { createSocketSet, type SocketSet } from '../../live/sockets';
import { createLogger } from '../../log';
import { schema } from '../../schema';
import type { ChangeEvent } from '../../usecases/ports/events';
import type { MetricsRecorder } from './metricsRecorder';
import { durableFollowUps, durableWriteLock, type ExecutionEnv, workflowsExecutor } from './ports';
import { durableObjectLimiter, type RateLimiter } from './rateLimiter';

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

const logger = createLogger({ service: 'changeflow', component: 'hub' });

/**
 * One Durable Object per tenant owns that tenant's subscriptions: GraphQL over WebSocket
 * (graphql-transport-ws) and over SSE, executed through the same Yoga pipeline as /graphql.
 * Mutations publish change events here after their batch commits; the live core (src/live)
 * fans them out and recomputes the KPI snapshot. This class only wires the Worker to it.
 */
export class TenantHub extends DurableObject<HubEnv> {
  private tenantId: string | null = null;
  private built: { config: Config; yoga: GraphQLServer } | null = null;
  private readonly live: LiveFeeds;
  private readonly sockets: SocketSet;
  private readonly callers = new CallerSockets();

  constructor(ctx: DurableObjectState, env: HubEnv) {
    super(ctx, env);
    const recorder = () => env.METRICS.get(env.METRICS.idFromName('global'));
    this.live = createLiveFeeds({
      db: env.DB,
      systemFigures: async () => recorder().figures(),
      onSubscribers: (tenant, count) => {
        void recorder()
          .setSubscriptions(tenant, count)
          .catch(() => {});
      },
      logger,
    });
    this.sockets = createSocketSet({ pingMs: loadConfig(env).hubPingIntervalMs });
  }

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
      return graphqlErrorResponse('UNAUTHENTICATED', 'No session');
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
    this.live.publish(event);
  }

  /** Called by the workflow engine and the execution mutations as an execution moves. */
  publishExecution(event: ExecutionEvent): void {
    this.live.publishExecution(event);
  }

  ping(): { status: 'ok'; subscribers: number; sockets: number } {
    return { status: 'ok', subscribers: this.live.subscribers(), sockets: this.sockets.size };
  }

  private serverContext(auth: AuthResult, requestId: string): ServerContext {
    const { config } = this.setup();
    // The Worker gives the hub the engine's bindings too (tests of the hub alone may not).
    const { EXECUTOR, BREAKERS, TENANT_LOCKS } = this.env as HubEnv &
      Partial<Pick<ExecutionEnv, 'EXECUTOR' | 'BREAKERS' | 'TENANT_LOCKS'>>;
    return {
      db: this.env.DB,
      config,
      requestId,
      auth: forTenant(auth, this.tenantId),
      logger,
      source: 'graphql',
      live: this.live.port(this.tenantId ?? ''),
      // A mutation sent over the socket announces its events here, as one over HTTP does.
      events: { publish: (e) => this.publish(e), publishExecution: (e) => this.publishExecution(e) },
      ...(EXECUTOR && BREAKERS ? { executions: workflowsExecutor({ EXECUTOR, BREAKERS }) } : {}),
      ...(TENANT_LOCKS
        ? {
            writeLock: durableWriteLock(TENANT_LOCKS),
            followUps: durableFollowUps(
              TENANT_LOCKS,
              BREAKERS ? (this.env as unknown as ExecutionEnv) : undefined,
            ),
          }
        : {}),
    };
  }

  private acceptWebSocket(request: Request, credential: SessionCredential): Response {
    const offered = (request.headers.get('sec-websocket-protocol') ?? '').split(',').map((p) => p.trim());
    if (!offered.includes('graphql-transport-ws')) {
      return graphqlErrorResponse('BAD_REQUEST', 'Use the graphql-transport-ws subprotocol');
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
    const closed = server.opened(
      {
        protocol: 'graphql-transport-ws',
        send: (data) => ws.send(data),
        close: (code, reason) => ws.close(code, reason),
        onMessage: (cb) => {
          ws.addEventListener('message', (event) => {
            socket.heard();
            // cb resolves only when an operation completes; never block the next message on it.
            cb(String(event.data)).catch((e) =>
              ws.close(CloseCode.InternalServerError, String(e).slice(0, 100)),
            );
          });
        },
      },
      { auth: null },
    );
    const socket = this.sockets.add(ws, (code, reason) => {
      session.end();
      this.callers.release(callerKey);
      void closed(code, reason);
    });
    // The credential's end (expiry, revocation) closes the socket and ends its subscriptions.
    session.open((code, reason) => socket.close(code, reason));
    // Answered by closing too, or workerd cancels the request and the client sees 1006.
    ws.addEventListener('close', (event) => socket.close(event.code, event.reason));
    ws.addEventListener('error', () => socket.lost(1011, 'socket error'));
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { 'Sec-WebSocket-Protocol': 'graphql-transport-ws' },
    });
  }
}
