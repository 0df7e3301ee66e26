import { getEgressPolicy } from '../../db/egressPolicies';
import { newId } from '../../db/ids';
import {
  getDelivery,
  getWebhookEndpoint,
  insertDeliveryStatement,
  insertWebhookEndpointStatement,
  listDeliveries,
  listWebhookEndpoints,
  rotateWebhookSecretStatement,
  setWebhookEnabledStatement,
  type WebhookDeliveryRecord,
  type WebhookEndpointRecord,
} from '../../db/webhooks';
import { decodeCursor, PAGE_SIZE, type Page, toPage } from '../../domain/pagination';
import { systemPrincipal } from '../../domain/principal';
import {
  checkWebhookUrl,
  generateWebhookSecret,
  isWebhookEvent,
  MAX_WEBHOOK_DESCRIPTION_CHARS,
  MAX_WEBHOOK_ENDPOINTS,
  ROTATION_GRACE_MS,
  WEBHOOK_EVENTS,
} from '../../domain/webhooks';
import { AppError } from '../../errors';
import { type SecretKeys, sealSecret } from '../../secrets/envelope';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';

/**
 * A tenant's webhook endpoints (admin only, audited). The signing secret is returned once, when
 * it is made (creation, rotation), sealed at rest with the tenant secret store's envelope
 * encryption, and never read back: no field, audit entry or error carries it.
 */

/** The name a secret is sealed for (the envelope's additional data): it opens for this endpoint only. */
export const endpointSecretName = (endpointId: string) => `webhook-endpoint:${endpointId}`;

/** Who disables an endpoint after sustained failure. */
export const webhookDispatcher = (tenantId: string) =>
  systemPrincipal(tenantId, 'webhook-dispatcher', 'ChangeFlow webhook dispatcher');

const invalid = (field: string, message: string) =>
  new AppError('VALIDATION_FAILED', `${field}: ${message}`, { issues: [{ field, message }] });

function requireKeys(ctx: AuthedContext): SecretKeys {
  if (!ctx.secretKeys) {
    throw new AppError(
      'SECRETS_NOT_CONFIGURED',
      'Webhook endpoints need SECRETS_KEY to seal their signing secrets (see the README, Configuration)',
    );
  }
  return ctx.secretKeys;
}

/** What the audit trail records of an endpoint: never a secret. */
const audited = (e: WebhookEndpointRecord) => ({
  url: e.url,
  description: e.description,
  events: e.events,
  enabled: e.enabled,
  disabledReason: e.disabledReason,
  secretVersion: e.secretVersion,
});

const notFound = (id: string) =>
  new AppError('WEBHOOK_ENDPOINT_NOT_FOUND', `Webhook endpoint ${id} does not exist`, { endpointId: id });

/** The URL as the egress policy and the deployment allow it; throws the refusal otherwise. */
async function assertUrl(ctx: AuthedContext, url: string): Promise<void> {
  const { allowedHosts } = await getEgressPolicy(ctx.db, ctx.principal.tenantId);
  const verdict = checkWebhookUrl(
    url,
    { ...ctx.egress, allowedHosts },
    { httpsOnly: !ctx.webhooksAllowHttp },
  );
  if (!verdict.ok) {
    throw new AppError(verdict.code, verdict.message, {
      issues: [{ field: 'url', message: verdict.message }],
    });
  }
}

function checkEvents(events: readonly string[]): string[] {
  if (events.length === 0) throw invalid('events', 'name at least one event');
  const unknown = events.filter((e) => !isWebhookEvent(e));
  if (unknown.length) {
    throw invalid('events', `unknown event ${unknown.join(', ')}; one of ${WEBHOOK_EVENTS.join(', ')}`);
  }
  return [...new Set(events)];
}

export function webhookEndpoints(ctx: AuthedContext): Promise<WebhookEndpointRecord[]> {
  return listWebhookEndpoints(ctx.db, ctx.principal.tenantId);
}

export async function webhookEndpoint(ctx: AuthedContext, id: string): Promise<WebhookEndpointRecord> {
  return (await getWebhookEndpoint(ctx.db, ctx.principal.tenantId, id)) ?? Promise.reject(notFound(id));
}

export async function createWebhookEndpoint(
  ctx: AuthedContext,
  input: { url: string; events: readonly string[]; description?: string | null },
): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
  const url = input.url.trim();
  const events = checkEvents(input.events);
  const description = input.description?.trim() || null;
  if (description && description.length > MAX_WEBHOOK_DESCRIPTION_CHARS) {
    throw invalid('description', `at most ${MAX_WEBHOOK_DESCRIPTION_CHARS} characters`);
  }
  await assertUrl(ctx, url);
  const keys = requireKeys(ctx);
  const { tenantId } = ctx.principal;
  const id = newId('whe');
  const secret = generateWebhookSecret();
  const sealed = await sealSecret(keys, tenantId, endpointSecretName(id), secret);
  const endpoint = await commitWithAudit(ctx, async () => {
    const existing = await listWebhookEndpoints(ctx.db, tenantId);
    if (existing.length >= MAX_WEBHOOK_ENDPOINTS) {
      throw invalid('url', `a tenant has at most ${MAX_WEBHOOK_ENDPOINTS} webhook endpoints`);
    }
    const now = ctx.now().toISOString();
    const e: WebhookEndpointRecord = {
      id,
      tenantId,
      url,
      description,
      events,
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      secretVersion: 1,
      previousSecretExpiresAt: null,
      consecutiveFailures: 0,
      lastSuccessAt: null,
      createdAt: now,
      createdBy: ctx.principal.id,
      updatedAt: now,
      updatedBy: ctx.principal.id,
    };
    return {
      statements: [insertWebhookEndpointStatement(ctx.db, e, sealed)],
      audit: [
        {
          action: 'webhook_endpoint.created',
          targetType: 'WebhookEndpoint',
          targetId: id,
          before: null,
          after: audited(e),
        },
      ],
      result: e,
    };
  });
  return { endpoint, secret };
}

/**
 * A new secret; the one it replaces keeps signing beside it for ROTATION_GRACE_MS, so receivers
 * can switch without missing a delivery (both signatures are sent in `webhook-signature`).
 */
export async function rotateWebhookEndpointSecret(
  ctx: AuthedContext,
  id: string,
): Promise<{ endpoint: WebhookEndpointRecord; secret: string }> {
  const keys = requireKeys(ctx);
  const { tenantId } = ctx.principal;
  const secret = generateWebhookSecret();
  const sealed = await sealSecret(keys, tenantId, endpointSecretName(id), secret);
  const endpoint = await commitWithAudit(ctx, async () => {
    const current = await getWebhookEndpoint(ctx.db, tenantId, id);
    if (!current) throw notFound(id);
    const now = ctx.now();
    const graceUntil = new Date(now.getTime() + ROTATION_GRACE_MS).toISOString();
    const next: WebhookEndpointRecord = {
      ...current,
      secretVersion: current.secretVersion + 1,
      previousSecretExpiresAt: graceUntil,
      updatedAt: now.toISOString(),
      updatedBy: ctx.principal.id,
    };
    return {
      statements: [
        rotateWebhookSecretStatement(
          ctx.db,
          tenantId,
          id,
          sealed,
          graceUntil,
          ctx.principal.id,
          next.updatedAt,
        ),
      ],
      audit: [
        {
          action: 'webhook_endpoint.secret_rotated',
          targetType: 'WebhookEndpoint',
          targetId: id,
          before: { secretVersion: current.secretVersion },
          after: { secretVersion: next.secretVersion, previousSecretExpiresAt: graceUntil },
        },
      ],
      result: next,
    };
  });
  return { endpoint, secret };
}

/** Enables or disables an endpoint; `reason` is recorded when disabling. */
export function setWebhookEndpointEnabled(
  ctx: AuthedContext,
  id: string,
  enabled: boolean,
  reason: string | null = null,
): Promise<WebhookEndpointRecord> {
  const { tenantId } = ctx.principal;
  return commitWithAudit(ctx, async () => {
    const current = await getWebhookEndpoint(ctx.db, tenantId, id);
    if (!current) throw notFound(id);
    const now = ctx.now().toISOString();
    const next: WebhookEndpointRecord = {
      ...current,
      enabled,
      disabledReason: enabled ? null : (reason ?? 'disabled by an admin'),
      disabledAt: enabled ? null : now,
      consecutiveFailures: enabled ? 0 : current.consecutiveFailures,
      updatedAt: now,
      updatedBy: ctx.principal.id,
    };
    return {
      statements: [
        setWebhookEnabledStatement(ctx.db, tenantId, id, enabled, next.disabledReason, ctx.principal.id, now),
      ],
      audit: [
        {
          action: enabled ? 'webhook_endpoint.enabled' : 'webhook_endpoint.disabled',
          targetType: 'WebhookEndpoint',
          targetId: id,
          before: { enabled: current.enabled, disabledReason: current.disabledReason },
          after: { enabled, disabledReason: next.disabledReason },
        },
      ],
      result: next,
    };
  });
}

/** Disables an endpoint as the webhook dispatcher (system actor), with the reason in the audit trail. */
export async function autoDisableWebhookEndpoint(
  ctx: AuthedContext,
  id: string,
  reason: string,
): Promise<void> {
  const system: AuthedContext = Object.assign(Object.create(ctx) as AuthedContext, {
    principal: webhookDispatcher(ctx.principal.tenantId),
    source: 'system' as const,
    toolName: null,
    idempotency: null,
  });
  const current = await getWebhookEndpoint(ctx.db, ctx.principal.tenantId, id);
  if (!current?.enabled) return;
  await setWebhookEndpointEnabled(system, id, false, reason);
}

const isCursor = (v: unknown): v is { createdAt: string; id: string } =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as { createdAt?: unknown }).createdAt === 'string' &&
  typeof (v as { id?: unknown }).id === 'string';

/** An endpoint's delivery log, newest first, as a cursor page. */
export async function webhookDeliveries(
  ctx: AuthedContext,
  endpointId: string,
  page: { first?: number | null; after?: string | null },
): Promise<Page<WebhookDeliveryRecord>> {
  const { tenantId } = ctx.principal;
  if (!(await getWebhookEndpoint(ctx.db, tenantId, endpointId))) throw notFound(endpointId);
  const first = page.first ?? PAGE_SIZE.default;
  const cursor = page.after ? decodeCursor(page.after, isCursor) : null;
  const rows = await listDeliveries(ctx.db, tenantId, endpointId, first + 1, cursor);
  return toPage(rows, first, (d) => ({ createdAt: d.createdAt, id: d.id }));
}

/**
 * Sends an event again: a new delivery with the same `webhook-id` (receivers deduplicate on it),
 * queued in the outbox like the first. The endpoint must be enabled.
 */
export async function redeliverWebhook(
  ctx: AuthedContext,
  deliveryId: string,
): Promise<WebhookDeliveryRecord> {
  const { tenantId } = ctx.principal;
  return commitWithAudit(ctx, async () => {
    const original = await getDelivery(ctx.db, tenantId, deliveryId);
    if (!original) {
      throw new AppError('WEBHOOK_DELIVERY_NOT_FOUND', `Webhook delivery ${deliveryId} does not exist`, {
        deliveryId,
      });
    }
    const endpoint = await getWebhookEndpoint(ctx.db, tenantId, original.endpointId);
    if (!endpoint) throw notFound(original.endpointId);
    if (!endpoint.enabled)
      throw invalid('deliveryId', `endpoint ${endpoint.id} is disabled; enable it first`);
    const now = ctx.now().toISOString();
    const d: WebhookDeliveryRecord = {
      ...original,
      id: newId('whd'),
      status: 'PENDING',
      attempts: 0,
      lastStatusCode: null,
      lastError: null,
      lastDurationMs: null,
      responseExcerpt: null,
      lastAttemptAt: null,
      nextAttemptAt: now,
      redeliveryOf: original.id,
      createdAt: now,
      endedAt: null,
    };
    return {
      statements: [insertDeliveryStatement(ctx.db, d)],
      // Sent right after the commit, like every delivery (outbox.ts).
      followUps: [{ kind: 'webhook-delivery', deliveryId: d.id }],
      audit: [
        {
          action: 'webhook_delivery.redelivered',
          targetType: 'WebhookDelivery',
          targetId: d.id,
          before: null,
          after: {
            redeliveryOf: original.id,
            endpointId: endpoint.id,
            eventType: d.eventType,
            webhookId: d.webhookId,
          },
        },
      ],
      result: d,
    };
  });
}
