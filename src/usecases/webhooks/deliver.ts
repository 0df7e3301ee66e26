import { getEgressPolicy } from '../../db/egressPolicies';
import {
  type AttemptOutcome,
  abandonDeliveryStatement,
  earlierPending,
  endpointFailedStatement,
  endpointSecrets,
  endpointSucceededStatement,
  getDelivery,
  getWebhookEndpoint,
  postponeDeliveryStatement,
  recordAttemptStatement,
  type WebhookDeliveryRecord,
} from '../../db/webhooks';
import {
  checkWebhookUrl,
  DELIVERY_WINDOW_MS,
  excerpt,
  RESPONSE_EXCERPT_BYTES,
  RETRY_BASE_MS,
  RETRY_CAP_MS,
  signatureHeader,
} from '../../domain/webhooks';
import { parseRetryAfter, retryDelayMs } from '../../engine/backoff';
import { breakerKey } from '../../engine/circuitBreaker';
import { openSecret } from '../../secrets/envelope';
import type { AuthedContext } from '../context';
import { RetryAt } from '../outbox';
import type { WebhookTransport } from '../ports/webhookTransport';
import { autoDisableWebhookEndpoint, endpointSecretName } from './endpoints';

/**
 * Sends one webhook delivery (the outbox's 'webhook-delivery' follow-up). Safe to run again: a
 * delivery that is no longer pending is left alone, and every attempt is recorded on its row.
 *
 * - Ordered per subject: while an earlier delivery of the same change to the same endpoint is
 *   pending, this one waits (RetryAt) behind it.
 * - The URL is checked against the egress policy before every attempt; redirects are not followed.
 * - Behind the tenant's circuit breaker for the host: while it is open nothing is sent and the
 *   delivery waits (not counted as an attempt).
 * - 2xx succeeds. 410 Gone fails at once and disables the endpoint. Anything else is retried with
 *   exponential backoff and full jitter (or the receiver's Retry-After) until DELIVERY_WINDOW_MS
 *   after the delivery was queued; then it fails, and when no delivery to the endpoint succeeded
 *   in all that time, the endpoint is disabled (audited, system actor).
 */
export async function deliverWebhook(
  ctx: AuthedContext,
  deliveryId: string,
  transport: WebhookTransport | null,
): Promise<string> {
  if (!transport) throw new Error('no webhook transport in this runtime');
  const { db } = ctx;
  const { tenantId } = ctx.principal;
  const d = await getDelivery(db, tenantId, deliveryId);
  if (!d) return 'delivery not found';
  if (d.status !== 'PENDING') return `already ${d.status.toLowerCase()}`;
  const now = ctx.now();
  const endpoint = await getWebhookEndpoint(db, tenantId, d.endpointId);
  if (!endpoint?.enabled) {
    const why = endpoint ? `endpoint disabled: ${endpoint.disabledReason ?? ''}`.trim() : 'endpoint deleted';
    await abandonDeliveryStatement(db, d.id, why, now.toISOString()).run();
    return `not sent: ${why}`;
  }
  const deadline = Date.parse(d.createdAt) + DELIVERY_WINDOW_MS;

  const earlier = await earlierPending(db, d);
  if (earlier) {
    const at = new Date(
      Math.max(now.getTime() + 1_000, Date.parse(earlier.nextAttemptAt ?? '') + 1_000 || 0),
    );
    await postponeDeliveryStatement(db, d.id, at.toISOString()).run();
    throw new RetryAt(at, `waiting for earlier delivery ${earlier.id} of ${d.subject}`);
  }

  const { allowedHosts } = await getEgressPolicy(db, tenantId);
  const verdict = checkWebhookUrl(
    endpoint.url,
    { ...transport.egress, allowedHosts },
    { httpsOnly: transport.httpsOnly },
  );
  if (!verdict.ok) {
    return finish(ctx, d, endpoint.lastSuccessAt, {
      status: 'FAILED',
      statusCode: null,
      error: `not sent: ${verdict.message}`,
      durationMs: null,
      excerpt: null,
      at: now.toISOString(),
      nextAttemptAt: null,
    });
  }

  const host = breakerKey(endpoint.url);
  const breakers = transport.breakers(tenantId);
  if (host) {
    const gate = await breakers.acquire(host);
    if (!gate.allowed) {
      if (now.getTime() >= deadline) {
        return finish(ctx, d, endpoint.lastSuccessAt, {
          status: 'FAILED',
          statusCode: null,
          error: `circuit breaker for ${host} is ${gate.state}; gave up after 24 hours`,
          durationMs: null,
          excerpt: null,
          at: now.toISOString(),
          nextAttemptAt: null,
        });
      }
      const at = new Date(now.getTime() + 5_000 + Math.floor(transport.random() * 25_000));
      await postponeDeliveryStatement(db, d.id, at.toISOString()).run();
      throw new RetryAt(at, `circuit breaker for ${host} is ${gate.state}; nothing was sent`);
    }
  }

  const secrets = await openSecrets(ctx, transport, d.endpointId, now);
  const sent = await send(transport, endpoint.url, d, secrets, now);
  if (host) await breakers.report(host, sent.breaker);
  const at = now.toISOString();
  const base = {
    statusCode: sent.statusCode,
    error: sent.error,
    durationMs: sent.ms,
    excerpt: sent.excerpt,
    at,
  };
  // The runtime refused the address the name resolved to (Node's pinned lookup): nothing was sent.
  if (sent.refused) {
    return finish(ctx, d, endpoint.lastSuccessAt, { ...base, status: 'FAILED', nextAttemptAt: null });
  }
  if (sent.statusCode !== null && sent.statusCode >= 200 && sent.statusCode < 300) {
    return finish(ctx, d, endpoint.lastSuccessAt, { ...base, status: 'SUCCEEDED', nextAttemptAt: null });
  }
  if (sent.statusCode === 410) {
    await finish(ctx, d, endpoint.lastSuccessAt, { ...base, status: 'FAILED', nextAttemptAt: null });
    await autoDisableWebhookEndpoint(ctx, endpoint.id, 'the receiver answered 410 Gone');
    return 'failed: 410 Gone; endpoint disabled';
  }
  const delay =
    sent.retryAfterMs !== null
      ? Math.min(sent.retryAfterMs, RETRY_CAP_MS)
      : retryDelayMs({
          attempt: d.attempts + 1,
          baseMs: RETRY_BASE_MS,
          capMs: RETRY_CAP_MS,
          random: transport.random,
        });
  const next = now.getTime() + Math.max(1_000, delay);
  if (next > deadline) {
    return finish(ctx, d, endpoint.lastSuccessAt, { ...base, status: 'FAILED', nextAttemptAt: null });
  }
  const nextAttemptAt = new Date(next).toISOString();
  await recordAttemptStatement(db, d.id, { ...base, status: 'PENDING', nextAttemptAt }).run();
  throw new RetryAt(new Date(next), `delivery ${d.id} attempt ${d.attempts + 1} failed: ${sent.error ?? ''}`);
}

/** Records the final attempt and what it means for the endpoint. */
async function finish(
  ctx: AuthedContext,
  d: WebhookDeliveryRecord,
  lastSuccessAt: string | null,
  outcome: AttemptOutcome,
): Promise<string> {
  const endpointStatement =
    outcome.status === 'SUCCEEDED'
      ? endpointSucceededStatement(ctx.db, d.endpointId, outcome.at)
      : endpointFailedStatement(ctx.db, d.endpointId);
  const [recorded] = await ctx.db.batch([recordAttemptStatement(ctx.db, d.id, outcome), endpointStatement]);
  if (outcome.status === 'SUCCEEDED') return `delivered (${outcome.statusCode})`;
  // Sustained failure: this delivery was retried for 24 hours and no delivery to the endpoint
  // succeeded since it was queued.
  const sustained = Date.parse(outcome.at) - Date.parse(d.createdAt) >= DELIVERY_WINDOW_MS - 60 * 60_000;
  if (recorded?.meta.changes && sustained && (lastSuccessAt === null || lastSuccessAt < d.createdAt)) {
    await autoDisableWebhookEndpoint(
      ctx,
      d.endpointId,
      'every delivery failed for 24 hours (no delivery succeeded since the failing one was queued)',
    );
    return `failed: ${outcome.error ?? outcome.statusCode}; endpoint disabled`;
  }
  return `failed: ${outcome.error ?? outcome.statusCode}`;
}

/** The secrets in force: the current one, and the one a rotation replaced while its grace lasts. */
async function openSecrets(
  ctx: AuthedContext,
  transport: WebhookTransport,
  endpointId: string,
  now: Date,
): Promise<string[]> {
  if (!transport.secretKeys)
    throw new Error('SECRETS_KEY is not configured: webhook secrets cannot be opened');
  const { tenantId } = ctx.principal;
  const sealed = await endpointSecrets(ctx.db, tenantId, endpointId);
  if (!sealed) throw new Error(`endpoint ${endpointId} has no secret`);
  const name = endpointSecretName(endpointId);
  const out = [await openSecret(transport.secretKeys, tenantId, name, sealed.current)];
  if (sealed.previous && Date.parse(sealed.previous.expiresAt) > now.getTime()) {
    out.push(await openSecret(transport.secretKeys, tenantId, name, sealed.previous));
  }
  return out;
}

interface Sent {
  statusCode: number | null;
  error: string | null;
  ms: number;
  excerpt: string | null;
  retryAfterMs: number | null;
  breaker: 'success' | 'failure' | 'neutral';
  /** The runtime's egress guard refused the connection (EGRESS_DENIED): final, not the host's fault. */
  refused?: boolean;
}

/** Reads at most `max` bytes of a body, then lets the rest go. */
async function readHead(response: Response, max: number): Promise<Uint8Array> {
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    bytes.set(c, offset);
    offset += c.byteLength;
  }
  return bytes;
}

async function send(
  transport: WebhookTransport,
  url: string,
  d: WebhookDeliveryRecord,
  secrets: string[],
  now: Date,
): Promise<Sent> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'ChangeFlow-Webhooks/1',
    'webhook-id': d.webhookId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': await signatureHeader(secrets, d.webhookId, timestamp, d.payload),
  };
  const started = Date.now();
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, transport.timeoutMs);
  try {
    const response = await transport.fetch(url, {
      method: 'POST',
      headers,
      body: d.payload,
      signal: controller.signal,
      redirect: 'manual',
    });
    const body = await readHead(response, RESPONSE_EXCERPT_BYTES);
    const status = response.status;
    const ok = status >= 200 && status < 300;
    const unhealthy = status === 408 || status === 429 || status >= 500;
    return {
      statusCode: status,
      error: ok
        ? null
        : status >= 300 && status < 400
          ? `answered ${status} (redirects are not followed)`
          : `answered ${status}`,
      ms: Date.now() - started,
      excerpt: excerpt(body),
      retryAfterMs: ok ? null : parseRetryAfter(response.headers.get('retry-after'), Date.now()),
      breaker: ok ? 'success' : unhealthy ? 'failure' : 'neutral',
    };
  } catch (e) {
    const err = e as { code?: unknown; cause?: { code?: unknown }; message?: string };
    if (err?.code === 'EGRESS_DENIED' || err?.cause?.code === 'EGRESS_DENIED') {
      return {
        statusCode: null,
        error: `not sent: ${err.message ?? 'egress refused'}`,
        ms: Date.now() - started,
        excerpt: null,
        retryAfterMs: null,
        breaker: 'neutral',
        refused: true,
      };
    }
    return {
      statusCode: null,
      error: timedOut
        ? `no response within ${transport.timeoutMs} ms`
        : `request failed: ${(e as Error)?.message ?? e}`,
      ms: Date.now() - started,
      excerpt: null,
      retryAfterMs: null,
      breaker: 'failure',
    };
  } finally {
    clearTimeout(timer);
  }
}
