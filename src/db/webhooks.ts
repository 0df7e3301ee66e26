import type { SealedSecret } from '../secrets/envelope';

/** Webhook endpoints and their delivery log (migration 0018). */

/** An endpoint as anyone may see it: never its secret, sealed or not. */
export interface WebhookEndpointRecord {
  id: string;
  tenantId: string;
  url: string;
  description: string | null;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  secretVersion: number;
  /** Until when the secret a rotation replaced still signs; null when none does. */
  previousSecretExpiresAt: string | null;
  consecutiveFailures: number;
  lastSuccessAt: string | null;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

/** The sealed secrets of an endpoint, for the one place that opens them (delivery). */
export interface EndpointSecrets {
  current: SealedSecret;
  previous: (SealedSecret & { expiresAt: string }) | null;
}

interface EndpointRow {
  id: string;
  tenant_id: string;
  url: string;
  description: string | null;
  events: string;
  enabled: number;
  disabled_reason: string | null;
  disabled_at: string | null;
  secret_version: number;
  previous_expires_at: string | null;
  consecutive_failures: number;
  last_success_at: string | null;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

const ENDPOINT_COLUMNS =
  'id, tenant_id, url, description, events, enabled, disabled_reason, disabled_at, secret_version, ' +
  'previous_expires_at, consecutive_failures, last_success_at, created_at, created_by, updated_at, updated_by';

const endpointFromRow = (r: EndpointRow): WebhookEndpointRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  url: r.url,
  description: r.description,
  events: JSON.parse(r.events) as string[],
  enabled: r.enabled === 1,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at,
  secretVersion: r.secret_version,
  previousSecretExpiresAt: r.previous_expires_at,
  consecutiveFailures: r.consecutive_failures,
  lastSuccessAt: r.last_success_at,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

export async function listWebhookEndpoints(
  db: D1Database,
  tenantId: string,
): Promise<WebhookEndpointRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = ?1 ORDER BY created_at, id`)
    .bind(tenantId)
    .all<EndpointRow>();
  return results.map(endpointFromRow);
}

export async function getWebhookEndpoint(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<WebhookEndpointRecord | null> {
  const row = await db
    .prepare(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<EndpointRow>();
  return row ? endpointFromRow(row) : null;
}

/** The tenant's enabled endpoints subscribed to any of `types`. */
export async function subscribedEndpoints(
  db: D1Database,
  tenantId: string,
  types: readonly string[],
): Promise<WebhookEndpointRecord[]> {
  if (types.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints
       WHERE tenant_id = ?1 AND enabled = 1
         AND EXISTS (SELECT 1 FROM json_each(events) e WHERE e.value IN (SELECT value FROM json_each(?2)))
       ORDER BY created_at, id`,
    )
    .bind(tenantId, JSON.stringify(types))
    .all<EndpointRow>();
  return results.map(endpointFromRow);
}

export async function endpointSecrets(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<EndpointSecrets | null> {
  const r = await db
    .prepare(
      `SELECT key_id, wrapped_key, ciphertext, previous_key_id, previous_wrapped_key, previous_ciphertext,
              previous_expires_at
       FROM webhook_endpoints WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(tenantId, id)
    .first<{
      key_id: string;
      wrapped_key: string;
      ciphertext: string;
      previous_key_id: string | null;
      previous_wrapped_key: string | null;
      previous_ciphertext: string | null;
      previous_expires_at: string | null;
    }>();
  if (!r) return null;
  return {
    current: { keyId: r.key_id, wrappedKey: r.wrapped_key, ciphertext: r.ciphertext },
    previous:
      r.previous_key_id && r.previous_wrapped_key && r.previous_ciphertext && r.previous_expires_at
        ? {
            keyId: r.previous_key_id,
            wrappedKey: r.previous_wrapped_key,
            ciphertext: r.previous_ciphertext,
            expiresAt: r.previous_expires_at,
          }
        : null,
  };
}

export function insertWebhookEndpointStatement(
  db: D1Database,
  e: WebhookEndpointRecord,
  sealed: SealedSecret,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO webhook_endpoints (id, tenant_id, url, description, events, enabled, key_id, wrapped_key, ciphertext,
         secret_version, created_at, created_by, updated_at, updated_by)
       VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)`,
    )
    .bind(
      e.id,
      e.tenantId,
      e.url,
      e.description,
      JSON.stringify(e.events),
      sealed.keyId,
      sealed.wrappedKey,
      sealed.ciphertext,
      e.secretVersion,
      e.createdAt,
      e.createdBy,
      e.updatedAt,
      e.updatedBy,
    );
}

/**
 * A rotation: the new secret replaces the current one, which keeps signing until `graceUntil`
 * (a secret still in its grace period is dropped: only the one just replaced keeps signing).
 */
export function rotateWebhookSecretStatement(
  db: D1Database,
  tenantId: string,
  id: string,
  sealed: SealedSecret,
  graceUntil: string,
  by: string,
  now: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE webhook_endpoints SET
         previous_key_id = key_id, previous_wrapped_key = wrapped_key, previous_ciphertext = ciphertext,
         previous_expires_at = ?3,
         key_id = ?4, wrapped_key = ?5, ciphertext = ?6, secret_version = secret_version + 1,
         updated_at = ?7, updated_by = ?8
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(tenantId, id, graceUntil, sealed.keyId, sealed.wrappedKey, sealed.ciphertext, now, by);
}

/** Enables or disables an endpoint (enabling forgets the failures that disabled it). */
export function setWebhookEnabledStatement(
  db: D1Database,
  tenantId: string,
  id: string,
  enabled: boolean,
  reason: string | null,
  by: string,
  now: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE webhook_endpoints SET enabled = ?3, disabled_reason = ?4, disabled_at = ?5,
         consecutive_failures = CASE WHEN ?3 = 1 THEN 0 ELSE consecutive_failures END,
         updated_at = ?6, updated_by = ?7
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(tenantId, id, enabled ? 1 : 0, enabled ? null : reason, enabled ? null : now, now, by);
}

/** A delivery succeeded: the endpoint's failure streak ends. */
export function endpointSucceededStatement(db: D1Database, id: string, now: string): D1PreparedStatement {
  return db
    .prepare('UPDATE webhook_endpoints SET consecutive_failures = 0, last_success_at = ?2 WHERE id = ?1')
    .bind(id, now);
}

/** A delivery gave up: one more in the endpoint's failure streak. */
export function endpointFailedStatement(db: D1Database, id: string): D1PreparedStatement {
  return db
    .prepare('UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = ?1')
    .bind(id);
}

// ---------------------------------------------------------------------------------------------
// Deliveries

export type DeliveryStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED';

export interface WebhookDeliveryRecord {
  id: string;
  tenantId: string;
  endpointId: string;
  webhookId: string;
  eventType: string;
  subject: string;
  seq: number;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  lastDurationMs: number | null;
  responseExcerpt: string | null;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  redeliveryOf: string | null;
  createdAt: string;
  endedAt: string | null;
}

interface DeliveryRow {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  webhook_id: string;
  event_type: string;
  subject: string;
  seq: number;
  payload: string;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_duration_ms: number | null;
  response_excerpt: string | null;
  last_attempt_at: string | null;
  next_attempt_at: string | null;
  redelivery_of: string | null;
  created_at: string;
  ended_at: string | null;
}

const DELIVERY_COLUMNS =
  'id, tenant_id, endpoint_id, webhook_id, event_type, subject, seq, payload, status, attempts, last_status_code, ' +
  'last_error, last_duration_ms, response_excerpt, last_attempt_at, next_attempt_at, redelivery_of, created_at, ended_at';

const deliveryFromRow = (r: DeliveryRow): WebhookDeliveryRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  endpointId: r.endpoint_id,
  webhookId: r.webhook_id,
  eventType: r.event_type,
  subject: r.subject,
  seq: r.seq,
  payload: r.payload,
  status: r.status,
  attempts: r.attempts,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  lastDurationMs: r.last_duration_ms,
  responseExcerpt: r.response_excerpt,
  lastAttemptAt: r.last_attempt_at,
  nextAttemptAt: r.next_attempt_at,
  redeliveryOf: r.redelivery_of,
  createdAt: r.created_at,
  endedAt: r.ended_at,
});

export function insertDeliveryStatement(db: D1Database, d: WebhookDeliveryRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO endpoint_deliveries (id, tenant_id, endpoint_id, webhook_id, event_type, subject, seq, payload,
         status, attempts, next_attempt_at, redelivery_of, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'PENDING', 0, ?9, ?10, ?11)`,
    )
    .bind(
      d.id,
      d.tenantId,
      d.endpointId,
      d.webhookId,
      d.eventType,
      d.subject,
      d.seq,
      d.payload,
      d.nextAttemptAt,
      d.redeliveryOf,
      d.createdAt,
    );
}

export async function getDelivery(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<WebhookDeliveryRecord | null> {
  const row = await db
    .prepare(`SELECT ${DELIVERY_COLUMNS} FROM endpoint_deliveries WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<DeliveryRow>();
  return row ? deliveryFromRow(row) : null;
}

/** An endpoint's deliveries, newest first, from after the cursor (a delivery id). */
export async function listDeliveries(
  db: D1Database,
  tenantId: string,
  endpointId: string,
  first: number,
  after: { createdAt: string; id: string } | null,
): Promise<WebhookDeliveryRecord[]> {
  // The cursor is a row value, an index bound: a deep page seeks to it (docs/performance.md).
  const { results } = await db
    .prepare(
      `SELECT ${DELIVERY_COLUMNS} FROM endpoint_deliveries
       WHERE tenant_id = ?1 AND endpoint_id = ?2 ${after ? 'AND (created_at, id) < (?4, ?5)' : ''}
       ORDER BY created_at DESC, id DESC LIMIT ?3`,
    )
    .bind(tenantId, endpointId, first, ...(after ? [after.createdAt, after.id] : []))
    .all<DeliveryRow>();
  return results.map(deliveryFromRow);
}

/** The earliest delivery of the same subject to the same endpoint still pending before this one. */
export async function earlierPending(
  db: D1Database,
  d: Pick<WebhookDeliveryRecord, 'endpointId' | 'subject' | 'seq' | 'id' | 'createdAt'>,
): Promise<{ id: string; nextAttemptAt: string | null } | null> {
  return db
    .prepare(
      `SELECT id, next_attempt_at AS nextAttemptAt FROM endpoint_deliveries
       WHERE endpoint_id = ?1 AND subject = ?2 AND status = 'PENDING' AND id != ?4
         AND (seq < ?3 OR (seq = ?3 AND (created_at < ?5 OR (created_at = ?5 AND id < ?4))))
       ORDER BY seq, created_at LIMIT 1`,
    )
    .bind(d.endpointId, d.subject, d.seq, d.id, d.createdAt)
    .first<{ id: string; nextAttemptAt: string | null }>();
}

/** What one attempt recorded. */
export interface AttemptOutcome {
  status: DeliveryStatus;
  statusCode: number | null;
  error: string | null;
  durationMs: number | null;
  excerpt: string | null;
  at: string;
  nextAttemptAt: string | null;
}

/** Records an attempt; only while the delivery is still pending (a second drainer changes nothing). */
export function recordAttemptStatement(db: D1Database, id: string, o: AttemptOutcome): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE endpoint_deliveries SET attempts = attempts + 1, status = ?2, last_status_code = ?3, last_error = ?4,
         last_duration_ms = ?5, response_excerpt = ?6, last_attempt_at = ?7, next_attempt_at = ?8,
         ended_at = CASE WHEN ?2 = 'PENDING' THEN NULL ELSE ?7 END
       WHERE id = ?1 AND status = 'PENDING'`,
    )
    .bind(
      id,
      o.status,
      o.statusCode,
      o.error?.slice(0, 1000) ?? null,
      o.durationMs,
      o.excerpt,
      o.at,
      o.nextAttemptAt,
    );
}

/** Ends a pending delivery without an attempt (its endpoint was disabled or deleted). */
export function abandonDeliveryStatement(
  db: D1Database,
  id: string,
  error: string,
  at: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE endpoint_deliveries SET status = 'FAILED', last_error = ?2, ended_at = ?3, next_attempt_at = NULL
       WHERE id = ?1 AND status = 'PENDING'`,
    )
    .bind(id, error, at);
}

/** Moves a pending delivery's next attempt (held back behind an earlier one, or an open breaker). */
export function postponeDeliveryStatement(db: D1Database, id: string, at: string): D1PreparedStatement {
  return db
    .prepare(`UPDATE endpoint_deliveries SET next_attempt_at = ?2 WHERE id = ?1 AND status = 'PENDING'`)
    .bind(id, at);
}

/** Forgets deliveries that ended before `before`, at most `limit` of them (the cron, every minute). */
export function pruneEndedDeliveriesStatement(
  db: D1Database,
  before: string,
  limit: number,
): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM endpoint_deliveries WHERE id IN (
         SELECT id FROM endpoint_deliveries WHERE ended_at IS NOT NULL AND ended_at < ?1 LIMIT ?2)`,
    )
    .bind(before, limit);
}
