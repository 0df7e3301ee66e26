import type { GraphQLError } from 'graphql';
import { decodeJwt } from 'jose';
import type { Config } from '../config';
import { apiKeyById } from '../db/apiKeys';
import type { Principal } from '../domain/principal';
import { socketError } from '../errors';
import { type RateLimiterPort, requestKey } from '../ratelimit/policy';
import { graphqlErrorResponse } from './responses';

/**
 * Long-lived sessions (a WebSocket, an SSE stream) and their credential, shared by the Worker's
 * tenant hub and the Node runtime so that both behave the same: the credential is checked again
 * before every operation, a JWT ends the session at its `exp` (a timer), an API key is looked up
 * again every few seconds (revoked or expired: the session ends), and every operation counts
 * against the caller's rate limit as an HTTP request does.
 */

/** Who a session belongs to and until when its credential is valid. */
export interface SessionCredential {
  principal: Principal;
  /** A JWT's `exp` in ms since the epoch; null for API keys (they are looked up again instead). */
  expiresAt: number | null;
}

/** Why a session ended: graphql-ws closes the socket with `code`; an SSE stream gets `message`. */
export interface SessionEnd {
  code: 4401;
  message: string;
}

const EXPIRED: SessionEnd = { code: 4401, message: 'The token expired; sign in again and reconnect' };
const BEARER = /^Bearer[ ]+(\S+)$/i;
/** setTimeout's limit; a later expiry is re-armed when this fires. */
const MAX_TIMER_MS = 2_147_483_647;

/** The credential a request authenticated with, for a principal `authenticate` already accepted. */
export function sessionCredential(request: Request, principal: Principal): SessionCredential {
  if (principal.kind === 'api_key') return { principal, expiresAt: null };
  const token = BEARER.exec((request.headers.get('authorization') ?? '').trim())?.[1];
  const exp = token ? decodeJwt(token).exp : undefined;
  return { principal, expiresAt: typeof exp === 'number' ? exp * 1000 : null };
}

/** The same principal: a connection_init credential must name the one the upgrade carried. */
export const samePrincipal = (a: Principal, b: Principal) =>
  a.kind === b.kind && a.id === b.id && a.tenantId === b.tenantId;

/** The key a caller's sockets are counted under (and its requests limited under). */
export const callerKey = (principal: Principal) => requestKey(principal, '').key;

/** Null while the credential is still good; else why not. One indexed D1 read for an API key. */
export async function credentialProblem(
  credential: SessionCredential,
  db: D1Database,
  now = Date.now(),
): Promise<SessionEnd | null> {
  const { principal, expiresAt } = credential;
  if (expiresAt !== null && now >= expiresAt) return EXPIRED;
  if (principal.kind !== 'api_key') return null;
  const key = await apiKeyById(db, principal.tenantId, principal.id);
  if (!key) return { code: 4401, message: 'The API key no longer exists' };
  if (key.revokedAt) return { code: 4401, message: `API key ${key.prefix}… was revoked` };
  if (key.expiresAt && Date.parse(key.expiresAt) <= now) {
    return { code: 4401, message: `API key ${key.prefix}… expired at ${key.expiresAt}` };
  }
  return null;
}

/**
 * Ends a session when its credential does: at a JWT's `exp` (a timer, so that a silent socket is
 * closed too) and, for an API key, at the first look-up (every `recheckMs`) that finds it revoked
 * or expired. Returns the function that stops watching.
 */
export function watchCredential(
  credential: SessionCredential,
  deps: { db: D1Database; recheckMs: number; onEnd: (end: SessionEnd) => void },
): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let interval: ReturnType<typeof setInterval> | null = null;
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (interval) clearInterval(interval);
  };
  const end = (why: SessionEnd) => {
    if (stopped) return;
    stop();
    deps.onEnd(why);
  };
  const check = () =>
    credentialProblem(credential, deps.db).then(
      (problem) => problem && end(problem),
      () => {}, // a failed look-up is retried at the next tick, never taken for a revocation
    );
  const armExpiry = () => {
    if (credential.expiresAt === null) return;
    const wait = credential.expiresAt - Date.now();
    timer = setTimeout(
      () => (wait > MAX_TIMER_MS ? armExpiry() : end(EXPIRED)),
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
  };
  armExpiry();
  if (credential.principal.kind === 'api_key') interval = setInterval(() => void check(), deps.recheckMs);
  return stop;
}

/** Counts each caller's open sockets, so that one caller cannot hold more than the limit. */
export class CallerSockets {
  private readonly open = new Map<string, number>();

  /** Takes a place for the caller; false when it already holds `limit` sockets. */
  take(key: string, limit: number): boolean {
    const n = this.open.get(key) ?? 0;
    if (n >= limit) return false;
    this.open.set(key, n + 1);
    return true;
  }

  release(key: string) {
    const n = (this.open.get(key) ?? 1) - 1;
    if (n <= 0) this.open.delete(key);
    else this.open.set(key, n);
  }
}

export const tooManyConnections = (limit: number) =>
  graphqlErrorResponse(
    'TOO_MANY_CONNECTIONS',
    `At most ${limit} WebSockets per caller are open at a time; close one first`,
    { limit },
  );

/**
 * One socket's session: its credential, the subscriptions it runs and how it is closed. Created
 * when the upgrade is accepted; `open` starts watching the credential, `end` stops.
 */
export class SocketSession {
  /** Ids of the subscription operations running on this socket. */
  readonly subscriptions = new Set<string>();
  private stopWatching: (() => void) | null = null;
  private closeSocket: ((code: number, reason: string) => void) | null = null;

  constructor(
    public credential: SessionCredential,
    private readonly deps: { db: D1Database; config: Config; limiter: RateLimiterPort | null },
  ) {}

  get key() {
    return callerKey(this.credential.principal);
  }

  open(close: (code: number, reason: string) => void) {
    this.closeSocket = close;
    this.watch();
  }

  /** connection_init named the same principal with a fresher credential: it is the one watched. */
  adopt(credential: SessionCredential) {
    this.credential = credential;
    if (this.closeSocket) this.watch();
  }

  end() {
    this.stopWatching?.();
    this.stopWatching = null;
  }

  close(why: SessionEnd) {
    this.end();
    this.closeSocket?.(why.code, why.message);
  }

  /**
   * Before each operation: the credential is still good (else the socket closes with 4401 and
   * the operation never runs), the caller is within its rate limit, and a subscription fits.
   * Errors to answer the operation with, or null to run it.
   */
  async admit(id: string, isSubscription: boolean): Promise<readonly GraphQLError[] | null> {
    const problem = await credentialProblem(this.credential, this.deps.db);
    if (problem) {
      this.close(problem);
      return [socketError('UNAUTHENTICATED', problem.message)];
    }
    const { config, limiter } = this.deps;
    if (limiter && config.rateLimitEnabled) {
      const { tier, key } = requestKey(this.credential.principal, '');
      const d = await limiter(key, config.rateLimits[tier]);
      if (!d.allowed) {
        return [
          socketError(
            'RATE_LIMITED',
            `Rate limit exceeded (${d.limit} requests per minute); retry after ${d.retryAfterSeconds} s`,
            { retryAfterSeconds: d.retryAfterSeconds },
          ),
        ];
      }
    }
    if (isSubscription) {
      const max = config.sessions.maxSubscriptionsPerSocket;
      if (this.subscriptions.size >= max) {
        return [
          socketError(
            'TOO_MANY_SUBSCRIPTIONS',
            `At most ${max} subscriptions run on one WebSocket; complete one first`,
            {
              limit: max,
            },
          ),
        ];
      }
      this.subscriptions.add(id);
    }
    return null;
  }

  private watch() {
    this.stopWatching?.();
    this.stopWatching = watchCredential(this.credential, {
      db: this.deps.db,
      recheckMs: this.deps.config.sessions.recheckMs,
      onEnd: (why) => this.close(why),
    });
  }
}

const encoder = new TextEncoder();

/**
 * An SSE response that ends when its credential does: the client gets a last `next` event with
 * an UNAUTHENTICATED error, then `complete`, and the subscription behind it is cancelled.
 * Anything that is not an event stream passes unchanged.
 */
export function guardEventStream(
  response: Response,
  credential: SessionCredential,
  deps: { db: D1Database; recheckMs: number },
): Response {
  const upstream = response.body;
  if (!upstream || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    return response;
  }
  const reader = upstream.getReader();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      stop = watchCredential(credential, {
        ...deps,
        onEnd: (why) => {
          const error = socketError('UNAUTHENTICATED', why.message).toJSON();
          try {
            controller.enqueue(
              encoder.encode(
                `event: next\ndata: ${JSON.stringify({ errors: [error] })}\n\nevent: complete\ndata:\n\n`,
              ),
            );
            controller.close();
          } catch {
            // the client already left
          }
          void reader.cancel(why.message).catch(() => {});
        },
      });
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          stop();
          controller.close();
        } else controller.enqueue(value);
      } catch {
        // cancelled at the credential's end (the controller is closed already) or failed upstream
        stop();
        try {
          controller.close();
        } catch {
          // already closed
        }
      }
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, headers: response.headers });
}
