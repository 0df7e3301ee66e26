import { env } from 'cloudflare:test';
import { inject } from 'vitest';
import { webhookRowId } from '../../src/db/outbox';
import { getDelivery, type WebhookDeliveryRecord } from '../../src/db/webhooks';
import { type ExecutionEnv, followUpRunner } from '../../src/runtime/worker/ports';
import { runFollowUp } from '../../src/usecases/outbox';
import { cast, gql, gqlOk } from '../helpers/changes';

/** Webhook tests: endpoints on the loopback upstream (test/upstream/server.ts), one capture key each. */

export const upstream = (path: string) => `${inject('upstreamUrl')}${path}`;

let counter = 0;
export async function freshCast() {
  counter += 1;
  return cast(`whk-${Date.now().toString(36)}-${counter}`);
}

export const ENDPOINT_FIELDS = `id url description events enabled disabledReason disabledAt secretVersion
  previousSecretExpiresAt consecutiveFailures lastSuccessAt createdAt createdBy updatedAt`;
export const CREATE_ENDPOINT = `mutation($url: String!, $events: [String!]!, $description: String) {
  createWebhookEndpoint(url: $url, events: $events, description: $description) { secret endpoint { ${ENDPOINT_FIELDS} } } }`;
export const ROTATE = `mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { secret endpoint { ${ENDPOINT_FIELDS} } } }`;
export const DISABLE = `mutation($id: ID!) { disableWebhookEndpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
export const ENABLE = `mutation($id: ID!) { enableWebhookEndpoint(id: $id) { ${ENDPOINT_FIELDS} } }`;
export const LIST = `{ webhookEndpoints { ${ENDPOINT_FIELDS} } }`;
const DELIVERY_FIELDS = `id endpointId webhookId eventType subject status attempts lastResponseCode lastError durationMs
  responseExcerpt lastAttemptAt nextAttemptAt redeliveryOf createdAt endedAt`;
export const DELIVERIES = `query($endpointId: ID!, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {
    nodes { ${DELIVERY_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
export const REDELIVER = `mutation($deliveryId: ID!) { redeliverWebhook(deliveryId: $deliveryId) { ${DELIVERY_FIELDS} } }`;

export interface Endpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  secretVersion: number;
  previousSecretExpiresAt: string | null;
  consecutiveFailures: number;
}

export interface Delivery {
  id: string;
  endpointId: string;
  webhookId: string;
  eventType: string;
  subject: string;
  status: 'PENDING' | 'SUCCEEDED' | 'FAILED';
  attempts: number;
  lastResponseCode: number | null;
  lastError: string | null;
  durationMs: number | null;
  responseExcerpt: string | null;
  nextAttemptAt: string | null;
  redeliveryOf: string | null;
}

export async function createEndpoint(tok: string, url: string, events: string[]) {
  const r = await gqlOk<{ createWebhookEndpoint: { secret: string; endpoint: Endpoint } }>(
    CREATE_ENDPOINT,
    { url, events, description: 'test receiver' },
    tok,
  );
  return r.createWebhookEndpoint;
}

export async function deliveries(tok: string, endpointId: string): Promise<Delivery[]> {
  const r = await gqlOk<{ webhookDeliveries: { nodes: Delivery[] } }>(
    DELIVERIES,
    { endpointId, first: 100 },
    tok,
  );
  return r.webhookDeliveries.nodes;
}

export interface Captured {
  at: number;
  headers: Record<string, string>;
  body: string;
}

export async function captured(key: string): Promise<Captured[]> {
  const r = await fetch(upstream(`/captured/${key}`));
  return ((await r.json()) as { requests: Captured[] }).requests;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done` holds (or fails the test with what was seen last). */
export async function until<T>(
  read: () => Promise<T>,
  done: (v: T) => boolean,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met; last: ${JSON.stringify(last)}`);
    await sleep(50);
    last = await read();
  }
  return last;
}

export const deliveryRow = (tenant: string, id: string) =>
  getDelivery(env.DB, tenant, id) as Promise<WebhookDeliveryRecord>;

/**
 * Makes a pending delivery due now (as if its backoff had passed) and runs it, as the alarm would.
 * `createdHoursAgo`: as if it had been queued that long ago.
 */
export async function runNow(deliveryId: string, opts: { createdHoursAgo?: number } = {}) {
  if (opts.createdHoursAgo !== undefined) {
    const created = new Date(Date.now() - opts.createdHoursAgo * 3_600_000).toISOString();
    await env.DB.prepare('UPDATE endpoint_deliveries SET created_at = ?2 WHERE id = ?1')
      .bind(deliveryId, created)
      .run();
  }
  const rowId = webhookRowId(deliveryId);
  // The alarm may hold the row right now (a lease): then this waits for it to let go.
  for (let i = 0; i < 100; i++) {
    const now = new Date().toISOString();
    await env.DB.batch([
      env.DB.prepare(
        `UPDATE endpoint_deliveries SET next_attempt_at = ?2 WHERE id = ?1 AND status = 'PENDING'`,
      ).bind(deliveryId, now),
      env.DB.prepare('UPDATE outbox SET next_attempt_at = ?2 WHERE id = ?1').bind(rowId, now),
    ]);
    const outcome = await runFollowUp(followUpRunner(env as unknown as ExecutionEnv), rowId);
    if (outcome !== 'skipped') return outcome;
    const row = await env.DB.prepare('SELECT done_at FROM outbox WHERE id = ?1')
      .bind(rowId)
      .first<{ done_at: string | null }>();
    if (row?.done_at) return 'skipped';
    await sleep(100);
  }
  throw new Error(`delivery ${deliveryId} could not be run`);
}

export { gql, gqlOk };
