import type { WebhookDeliveryRecord, WebhookEndpointRecord } from '../db/webhooks';
import type { Page } from '../domain/pagination';
import {
  MAX_WEBHOOK_DESCRIPTION_CHARS,
  MAX_WEBHOOK_ENDPOINTS,
  MAX_WEBHOOK_URL_CHARS,
  WEBHOOK_EVENTS,
} from '../domain/webhooks';
import {
  createWebhookEndpoint,
  redeliverWebhook,
  rotateWebhookEndpointSecret,
  setWebhookEndpointEnabled,
  webhookDeliveries,
  webhookEndpoints,
} from '../usecases/webhooks/endpoints';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';
import { definePage, pageArgs } from './page';

/**
 * Outgoing event webhooks (docs/webhooks.md). Admin configuration only: none of these is an MCP
 * tool (a signing secret typed through an agent would pass through its context), and no field,
 * audit entry or error ever carries a secret after the answer that made it.
 */

const WebhookEndpointRef = builder.objectRef<WebhookEndpointRecord>('WebhookEndpoint').implement({
  description:
    'Where the tenant’s events are POSTed, signed as Standard Webhooks define (webhook-id, webhook-timestamp, webhook-signature).',
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    description: t.exposeString('description', { nullable: true }),
    events: t.exposeStringList('events', {
      description: `Subscribed event types: ${WEBHOOK_EVENTS.join(', ')}.`,
    }),
    enabled: t.exposeBoolean('enabled'),
    disabledReason: t.exposeString('disabledReason', {
      nullable: true,
      description: 'Why it is disabled: by an admin, a 410 Gone, or 24 hours of failed deliveries.',
    }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    secretVersion: t.exposeInt('secretVersion', { description: 'Counts rotations of the signing secret.' }),
    previousSecretExpiresAt: t.expose('previousSecretExpiresAt', {
      type: 'DateTime',
      nullable: true,
      description: 'Until then deliveries are also signed with the secret the last rotation replaced.',
    }),
    consecutiveFailures: t.exposeInt('consecutiveFailures', {
      description: 'Deliveries that failed for good since the last success.',
    }),
    lastSuccessAt: t.expose('lastSuccessAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeID('createdBy'),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const WithSecretRef = builder
  .objectRef<{ endpoint: WebhookEndpointRecord; secret: string }>('WebhookEndpointSecret')
  .implement({
    description: 'An endpoint and its new signing secret, shown only in this answer.',
    fields: (t) => ({
      endpoint: t.field({ type: WebhookEndpointRef, resolve: (r) => r.endpoint }),
      secret: t.exposeString('secret', {
        description:
          '`whsec_` and base64: verify deliveries with it (e.g. the standardwebhooks package). Shown once.',
      }),
    }),
  });

const DeliveryStatusEnum = builder.enumType('WebhookDeliveryStatus', {
  values: ['PENDING', 'SUCCEEDED', 'FAILED'] as const,
});

const WebhookDeliveryRef = builder.objectRef<WebhookDeliveryRecord>('WebhookDelivery').implement({
  description: 'One event sent (or being sent) to one endpoint, and how its attempts went.',
  fields: (t) => ({
    id: t.exposeID('id'),
    endpointId: t.exposeID('endpointId'),
    webhookId: t.exposeString('webhookId', {
      description: 'The webhook-id header: the same on every attempt and on a redelivery.',
    }),
    eventType: t.exposeString('eventType'),
    subject: t.exposeString('subject', {
      description: 'The change, execution or deployment the event is about.',
    }),
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    lastResponseCode: t.exposeInt('lastStatusCode', { nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    durationMs: t.exposeInt('lastDurationMs', {
      nullable: true,
      description: 'How long the last attempt took.',
    }),
    responseExcerpt: t.exposeString('responseExcerpt', {
      nullable: true,
      description: 'At most 512 bytes of the last response body.',
    }),
    lastAttemptAt: t.expose('lastAttemptAt', { type: 'DateTime', nullable: true }),
    nextAttemptAt: t.expose('nextAttemptAt', { type: 'DateTime', nullable: true }),
    redeliveryOf: t.exposeID('redeliveryOf', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    endedAt: t.expose('endedAt', { type: 'DateTime', nullable: true }),
  }),
});

const DeliveryPageRef = definePage<WebhookDeliveryRecord, Page<WebhookDeliveryRecord>>(
  'WebhookDeliveryPage',
  WebhookDeliveryRef,
);

builder.queryFields((t) => ({
  webhookEndpoints: t.withAuth({ admin: true }).field({
    type: [WebhookEndpointRef],
    description: 'The tenant’s webhook endpoints (admin; never their secrets).',
    args: { first: firstArg(t, MAX_WEBHOOK_ENDPOINTS, MAX_WEBHOOK_ENDPOINTS) },
    resolve: async (_r, args, ctx) => firstOf(await webhookEndpoints(ctx), args.first),
  }),
  webhookDeliveries: t.withAuth({ admin: true }).field({
    type: DeliveryPageRef,
    description: 'An endpoint’s delivery log, newest first (admin).',
    args: { endpointId: t.arg.id(), ...pageArgs(t) },
    resolve: (_r, { endpointId, first, after }, ctx) =>
      webhookDeliveries(ctx, String(endpointId), { first, after }),
  }),
}));

builder.mutationFields((t) => ({
  createWebhookEndpoint: t.withAuth({ admin: true }).field({
    type: WithSecretRef,
    description:
      'Registers an endpoint for the named events (admin; audited). The URL must pass the egress policy ' +
      '(https; no loopback, private, link-local or metadata address; no credentials). The signing secret is shown only in this answer.',
    returnsSecret: { createdId: (r) => r.endpoint.id },
    args: {
      url: t.arg.string({ validate: { minLength: 1, maxLength: MAX_WEBHOOK_URL_CHARS } }),
      events: t.arg.stringList({ validate: { minLength: 1, maxLength: WEBHOOK_EVENTS.length } }),
      description: t.arg.string({ required: false, validate: { maxLength: MAX_WEBHOOK_DESCRIPTION_CHARS } }),
    },
    resolve: (_r, args, ctx) => createWebhookEndpoint(ctx, args),
  }),
  rotateWebhookEndpointSecret: t.withAuth({ admin: true }).field({
    type: WithSecretRef,
    description:
      'Makes a new signing secret, shown only in this answer; the old one keeps signing beside it for 24 hours (admin; audited).',
    returnsSecret: { createdId: (r) => r.endpoint.id },
    args: { id: t.arg.id() },
    resolve: (_r, { id }, ctx) => rotateWebhookEndpointSecret(ctx, String(id)),
  }),
  disableWebhookEndpoint: t.withAuth({ admin: true }).field({
    type: WebhookEndpointRef,
    description: 'Stops deliveries to an endpoint; pending ones end as FAILED (admin; audited).',
    args: { id: t.arg.id() },
    resolve: (_r, { id }, ctx) => setWebhookEndpointEnabled(ctx, String(id), false),
  }),
  enableWebhookEndpoint: t.withAuth({ admin: true }).field({
    type: WebhookEndpointRef,
    description: 'Resumes deliveries to an endpoint for events from now on (admin; audited).',
    args: { id: t.arg.id() },
    resolve: (_r, { id }, ctx) => setWebhookEndpointEnabled(ctx, String(id), true),
  }),
  redeliverWebhook: t.withAuth({ admin: true }).field({
    type: WebhookDeliveryRef,
    description: 'Sends a delivery’s event again, with the same webhook-id (admin; audited).',
    args: { deliveryId: t.arg.id() },
    resolve: (_r, { deliveryId }, ctx) => redeliverWebhook(ctx, String(deliveryId)),
  }),
}));
