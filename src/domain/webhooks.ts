import { checkEgress, type EgressPolicy } from './egress';

/**
 * Outgoing event webhooks (docs/webhooks.md), the pure parts: which audit entries are which
 * events, what an endpoint URL must be, how a delivery is signed (Standard Webhooks,
 * https://www.standardwebhooks.com), and the limits. No I/O.
 */

export const WEBHOOK_EVENTS = [
  'change.created',
  'change.submitted',
  'change.approved',
  'change.rejected',
  'change.scheduled',
  'change.implementation_started',
  'change.completed',
  'change.failed',
  'change.rolled_back',
  'execution.ended',
  'emergency.override',
  'deployment.blocked',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export const isWebhookEvent = (s: string): s is WebhookEventType =>
  (WEBHOOK_EVENTS as readonly string[]).includes(s);

/** A URL longer than this is refused at registration. */
export const MAX_WEBHOOK_URL_CHARS = 2048;
export const MAX_WEBHOOK_DESCRIPTION_CHARS = 500;
/** Endpoints per tenant: each write fans out to every subscribed one. */
export const MAX_WEBHOOK_ENDPOINTS = 20;
/** A delivery is retried for this long after it was queued, then it fails. */
export const DELIVERY_WINDOW_MS = 24 * 60 * 60_000;
/** After a rotation the old secret keeps signing beside the new one for this long. */
export const ROTATION_GRACE_MS = 24 * 60 * 60_000;
/** How long one attempt waits for the answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Bytes of a response body kept in the delivery log. */
export const RESPONSE_EXCERPT_BYTES = 512;
/** The delivery log keeps a delivery this long after it ended. */
export const DELIVERY_LOG_KEEP_MS = 30 * 24 * 60 * 60_000;
/** Retries back off with full jitter from this, doubling per attempt, up to the cap. */
export const RETRY_BASE_MS = 10_000;
export const RETRY_CAP_MS = 60 * 60_000;

/** An event derived from one audit entry: its type and what its deliveries are ordered by. */
export interface DerivedEvent {
  type: WebhookEventType;
  /** The change (execution, deployment) it is about: deliveries of one subject go out in order. */
  subject: string;
  targetType: string;
}

/** What an audit entry says (src/usecases/commit.ts AuditEntry). */
export interface AuditFacts {
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
}

const statusOf = (v: unknown): string | null => {
  if (v && typeof v === 'object' && 'status' in v) {
    const s = (v as { status: unknown }).status;
    return typeof s === 'string' ? s : null;
  }
  return null;
};

/** A change entering this status is this event, whichever action moved it. */
const CHANGE_STATUS_EVENTS: Record<string, WebhookEventType> = {
  APPROVED: 'change.approved',
  REJECTED: 'change.rejected',
  SCHEDULED: 'change.scheduled',
  IMPLEMENTING: 'change.implementation_started',
  COMPLETED: 'change.completed',
  FAILED: 'change.failed',
  ROLLED_BACK: 'change.rolled_back',
};

/**
 * The events one audit entry is. A change's entries carry only the fields that changed, so a
 * status in `after` that differs from `before` is a move: a move to APPROVED is change.approved
 * whether a CAB vote, a pre-approved standard change or an emergency override made it (the
 * override is also emergency.override).
 */
export function eventsOfAuditEntry(entry: AuditFacts): DerivedEvent[] {
  const of = (type: WebhookEventType): DerivedEvent => ({
    type,
    subject: entry.targetId,
    targetType: entry.targetType,
  });
  if (entry.targetType === 'ChangeRequest') {
    const out: DerivedEvent[] = [];
    if (entry.action === 'change.created') out.push(of('change.created'));
    if (entry.action === 'change.emergency_override') out.push(of('emergency.override'));
    if (entry.action.startsWith('change.submitted')) out.push(of('change.submitted'));
    const to = statusOf(entry.after);
    const from = statusOf(entry.before);
    const moved = to !== null && to !== from ? CHANGE_STATUS_EVENTS[to] : undefined;
    if (moved) out.push(of(moved));
    return out;
  }
  if (
    entry.targetType === 'WorkflowExecution' &&
    (entry.action === 'execution.ended' || entry.action === 'execution.cancelled')
  ) {
    return [of('execution.ended')];
  }
  if (entry.action === 'deployment.blocked') return [of('deployment.blocked')];
  return [];
}

// ---------------------------------------------------------------------------------------------
// Endpoint URLs

export type UrlVerdict =
  | { ok: true; url: string }
  | { ok: false; code: 'VALIDATION_FAILED' | 'EGRESS_DENIED'; message: string };

/**
 * Whether deliveries may go to this URL: checked at registration and again before every
 * attempt (the tenant's allow-list or the deployment may have changed). The egress policy's
 * refusals apply (loopback, private, link-local, metadata, numeric tricks); beyond them: https
 * only outside development, no credentials in the URL (they would travel to whoever answers),
 * no fragment, and a bounded length.
 */
export function checkWebhookUrl(url: string, policy: EgressPolicy, opts: { httpsOnly: boolean }): UrlVerdict {
  const invalid = (message: string): UrlVerdict => ({ ok: false, code: 'VALIDATION_FAILED', message });
  if (url.length === 0 || url.length > MAX_WEBHOOK_URL_CHARS) {
    return invalid(`url must be 1-${MAX_WEBHOOK_URL_CHARS} characters`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return invalid('url must be an absolute https URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    return invalid(`url must use https, not ${parsed.protocol.slice(0, -1)}`);
  }
  if (opts.httpsOnly && parsed.protocol !== 'https:') {
    return invalid('url must use https (plain http is accepted in development only)');
  }
  if (parsed.username || parsed.password || /^[a-z]+:\/\/[^/?#]*@/i.test(url)) {
    return invalid(
      'url must not contain credentials (user:password@): a receiver verifies the signature instead',
    );
  }
  if (parsed.hash || url.includes('#')) return invalid('url must not contain a fragment (#…)');
  const verdict = checkEgress(url, policy);
  if (!verdict.ok) return { ok: false, code: 'EGRESS_DENIED', message: `url: ${verdict.message}` };
  return { ok: true, url };
}

// ---------------------------------------------------------------------------------------------
// Secrets and signatures (Standard Webhooks)

const toBase64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

export const SECRET_PREFIX = 'whsec_';

/** A new signing secret: `whsec_` and 32 random bytes in base64, as Standard Webhooks defines. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under the secret's key bytes. */
export async function signatureOf(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const raw = fromBase64(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret);
  const key = await crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${timestamp}.${body}`));
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The `webhook-signature` header: one signature per secret in force, space-separated. */
export async function signatureHeader(
  secrets: readonly string[],
  id: string,
  timestamp: number,
  body: string,
): Promise<string> {
  return (await Promise.all(secrets.map((s) => signatureOf(s, id, timestamp, body)))).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Payloads

/** The change fields a delivery carries: what a receiver routes on, never plans or free text. */
const CHANGE_FIELDS = [
  'id',
  'title',
  'type',
  'status',
  'priority',
  'impact',
  'urgency',
  'riskLevel',
  'requesterId',
  'affectedServices',
  'plannedStart',
  'plannedEnd',
  'templateId',
  'failureReason',
  'version',
  'createdAt',
  'updatedAt',
] as const;

const pick = (record: Record<string, unknown>, fields: readonly string[]) =>
  Object.fromEntries(fields.filter((f) => f in record).map((f) => [f, record[f] ?? null]));

export function changeSnapshot(change: Record<string, unknown>, previousStatus: string | null) {
  return { change: { ...pick(change, CHANGE_FIELDS), previousStatus } };
}

/** An execution as a delivery carries it: no inputs, no step outputs. */
export function executionSnapshot(execution: Record<string, unknown>, after: Record<string, unknown>) {
  return {
    execution: {
      ...pick(execution, ['id', 'workflowId', 'workflowVersion', 'changeId', 'trigger', 'triggerRef']),
      status: after.status ?? null,
      errorCode: after.errorCode ?? null,
      errorStepId: after.errorStepId ?? null,
    },
  };
}

/** The body of a delivery: `{type, timestamp, data}`. */
export function webhookBody(type: WebhookEventType, timestamp: string, data: unknown): string {
  return JSON.stringify({ type, timestamp, data });
}

/** At most `max` bytes of a text, cut on a character boundary. */
export function excerpt(bytes: Uint8Array, max = RESPONSE_EXCERPT_BYTES): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes.slice(0, max));
  // A cut in the middle of a character decodes to U+FFFD at the end: drop it.
  return bytes.length > max ? text.replace(/\uFFFD$/, '') : text;
}
