import type { Config } from '../config';
import { integrationForDelivery, integrationSecretName } from '../db/deployments';
import { isUniqueViolation } from '../db/errors';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../engine/webhookSignature';
import { AppError, type ErrorCode } from '../errors';
import { openSecret } from '../secrets/envelope';
import { type AuthedContext, createRequestContext } from '../usecases/context';
import {
  type DeploymentAnswer,
  type DeploymentEvent,
  type DeploymentPhase,
  integrationPrincipal,
  receiveDeployment,
} from '../usecases/deployments/receive';
import type { AppPorts } from './app';
import { jsonErrorResponse as refuse } from './responses';

/**
 * `POST /hooks/deployments/:integrationId`: a pipeline reports a deployment (docs/deployments.md).
 *
 * - A GITHUB integration takes GitHub's webhook as GitHub sends it: `X-Hub-Signature-256:
 *   sha256=<hex HMAC-SHA256 of the raw body>`, `X-GitHub-Event` (`deployment`,
 *   `deployment_status`; `ping` is answered 200) and `X-GitHub-Delivery`, claimed once.
 * - A GENERIC integration takes the documented JSON shape, signed like the workflow webhooks
 *   (src/engine/webhookSignature.ts: a timestamp header, 5 minutes of tolerance); the digest of
 *   timestamp and body is claimed once.
 *
 * The signature is checked before anything in the body is looked at. The answer says whether the
 * deployment may go on: 200 `{allowed: true, deploymentId, changeId, status}` or 409
 * `{allowed: false, deploymentId, changeId, code, reason}`, which a pipeline step gates on.
 */
export const DEPLOYMENT_HOOK_PATH = /^\/hooks\/deployments\/([^/]+)$/;

export const GITHUB_SIGNATURE_HEADER = 'X-Hub-Signature-256';
const GITHUB_SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

const encoder = new TextEncoder();

const fromHex = (hex: string) => {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
};

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', encoder.encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** GitHub's signature, compared by `crypto.subtle.verify` (constant time), never with string equality. */
async function verifyGitHub(secret: string, body: Uint8Array<ArrayBuffer>, header: string | null) {
  const m = GITHUB_SIGNATURE.exec(header?.trim() ?? '');
  if (!m) return 'missing' as const;
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  return (await crypto.subtle.verify('HMAC', key, fromHex(m[1] as string), body))
    ? ('ok' as const)
    : ('bad' as const);
}

class PayloadError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A required text field: a string (or, for ids, a number), trimmed, 1–max characters, one line. */
function text(
  obj: Record<string, unknown>,
  key: string,
  field: string,
  max: number,
  numberOk = false,
): string {
  const v = obj[key];
  const s = typeof v === 'number' && numberOk && Number.isSafeInteger(v) ? String(v) : v;
  if (typeof s !== 'string' || s.trim() === '')
    throw new PayloadError(field, 'is required (a non-empty string)');
  const t = s.trim();
  if (t.length > max) throw new PayloadError(field, `at most ${max} characters`);
  if (/\p{Cc}/u.test(t)) throw new PayloadError(field, 'must not contain control characters');
  return t;
}

function optionalText(obj: Record<string, unknown>, key: string, field: string, max: number): string | null {
  const v = obj[key];
  if (v === undefined || v === null || v === '') return null;
  return text(obj, key, field, max);
}

/** A link shown with the change: http(s) only, so no `javascript:` URL ever reaches a page. */
function optionalUrl(obj: Record<string, unknown>, key: string, field: string): string | null {
  const v = optionalText(obj, key, field, 2048);
  if (v === null) return null;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    throw new PayloadError(field, 'must be an absolute http(s) URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new PayloadError(field, 'must be an http(s) URL');
  return url.toString();
}

const CHANGE_ID = /^[A-Za-z0-9_-]{1,64}$/;

function changeIdOf(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !CHANGE_ID.test(value)) {
    throw new PayloadError(field, 'must be a change id (letters, digits, _ and -)');
  }
  return value;
}

const GITHUB_STATES: Record<string, DeploymentPhase> = {
  pending: 'PENDING',
  queued: 'PENDING',
  in_progress: 'IN_PROGRESS',
  success: 'SUCCEEDED',
  failure: 'FAILED',
  error: 'FAILED',
  inactive: 'INACTIVE',
};

/** GitHub's `deployment.payload` is JSON of the creator's choosing (an object, or a string of JSON). */
function githubChangeId(payload: unknown): string | null {
  let p = payload;
  if (typeof p === 'string') {
    try {
      p = JSON.parse(p);
    } catch {
      return null;
    }
  }
  return isObject(p) ? changeIdOf(p.changeId, 'deployment.payload.changeId') : null;
}

/** The deployment a GitHub `deployment` or `deployment_status` event reports. */
export function githubEvent(name: 'deployment' | 'deployment_status', body: unknown): DeploymentEvent {
  if (!isObject(body) || !isObject(body.deployment))
    throw new PayloadError('deployment', 'is required (an object)');
  const d = body.deployment;
  let phase: DeploymentPhase = 'PENDING';
  let url = optionalUrl(d, 'url', 'deployment.url');
  if (name === 'deployment_status') {
    const s = body.deployment_status;
    if (!isObject(s)) throw new PayloadError('deployment_status', 'is required (an object)');
    const state = text(s, 'state', 'deployment_status.state', 20);
    const mapped = GITHUB_STATES[state];
    if (!mapped) {
      throw new PayloadError(
        'deployment_status.state',
        `must be one of ${Object.keys(GITHUB_STATES).join(', ')}`,
      );
    }
    phase = mapped;
    url =
      optionalUrl(s, 'environment_url', 'deployment_status.environment_url') ??
      optionalUrl(s, 'target_url', 'deployment_status.target_url') ??
      optionalUrl(s, 'log_url', 'deployment_status.log_url') ??
      url;
  }
  return {
    externalId: text(d, 'id', 'deployment.id', 100, true),
    environment: text(d, 'environment', 'deployment.environment', 100),
    commit: text(d, 'sha', 'deployment.sha', 100),
    ref: text(d, 'ref', 'deployment.ref', 255),
    url,
    phase,
    changeId: githubChangeId(d.payload),
    window: null,
  };
}

const GENERIC_STATUSES: Record<string, DeploymentPhase> = {
  started: 'IN_PROGRESS',
  succeeded: 'SUCCEEDED',
  failed: 'FAILED',
};

/** The generic shape of docs/deployments.md. */
export function genericEvent(body: unknown): DeploymentEvent {
  if (!isObject(body)) throw new PayloadError('body', 'must be a JSON object');
  const status = text(body, 'status', 'status', 20);
  const phase = GENERIC_STATUSES[status];
  if (!phase) throw new PayloadError('status', 'must be started, succeeded or failed');
  let window: DeploymentEvent['window'] = null;
  if (body.window !== undefined && body.window !== null) {
    if (!isObject(body.window)) throw new PayloadError('window', 'must be {start, end}');
    window = {
      start: text(body.window, 'start', 'window.start', 40),
      end: text(body.window, 'end', 'window.end', 40),
    };
  }
  return {
    externalId: text(body, 'deploymentId', 'deploymentId', 100, true),
    environment: text(body, 'environment', 'environment', 100),
    commit: text(body, 'commit', 'commit', 100),
    ref: text(body, 'ref', 'ref', 255),
    url: optionalUrl(body, 'url', 'url'),
    phase,
    changeId: changeIdOf(body.changeId, 'changeId'),
    window,
  };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  });

const answer = (a: DeploymentAnswer) => json(a.allowed ? 200 : 409, a);

const GENERIC_REASONS: Record<string, ErrorCode> = {
  MISSING_HEADERS: 'DEPLOYMENT_SIGNATURE_MISSING',
  MALFORMED: 'DEPLOYMENT_SIGNATURE_MISSING',
  BAD_SIGNATURE: 'DEPLOYMENT_SIGNATURE_INVALID',
  STALE: 'DEPLOYMENT_TIMESTAMP_STALE',
};

export async function receiveDeploymentHook(
  request: Request,
  db: D1Database,
  integrationId: string,
  ports: AppPorts,
  config: Config,
  requestId: string,
): Promise<Response> {
  const integration = await integrationForDelivery(db, integrationId);
  // Unknown and disabled look alike: nothing to learn by probing ids.
  if (integration?.status !== 'ACTIVE') {
    return refuse('DEPLOYMENT_INTEGRATION_NOT_FOUND', `No active deployment integration ${integrationId}`);
  }
  if (!config.secretKeys) {
    return refuse(
      'DEPLOYMENT_SECRET_UNAVAILABLE',
      'This server has no SECRETS_KEY to open integration secrets',
    );
  }
  let secret: string;
  try {
    secret = await openSecret(
      config.secretKeys,
      integration.tenantId,
      integrationSecretName(integration.id),
      integration.sealed,
    );
  } catch {
    return refuse(
      'DEPLOYMENT_SECRET_UNAVAILABLE',
      `The secret of integration ${integrationId} does not open; rotate it`,
    );
  }
  // Bytes, not text(): the signature covers the body exactly as sent.
  const raw = new Uint8Array(await request.arrayBuffer());
  let deliveryKey: string;
  let event: DeploymentEvent;
  try {
    if (integration.kind === 'GITHUB') {
      const verdict = await verifyGitHub(secret, raw, request.headers.get(GITHUB_SIGNATURE_HEADER));
      if (verdict === 'missing') {
        return refuse(
          'DEPLOYMENT_SIGNATURE_MISSING',
          `Send ${GITHUB_SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body> (set a secret on the GitHub webhook)`,
        );
      }
      if (verdict === 'bad') {
        return refuse(
          'DEPLOYMENT_SIGNATURE_INVALID',
          `${GITHUB_SIGNATURE_HEADER} does not match the body and the integration's secret`,
        );
      }
      const name = request.headers.get('X-GitHub-Event')?.trim() ?? '';
      if (name === 'ping') return json(200, { ok: true, integrationId: integration.id });
      if (name !== 'deployment' && name !== 'deployment_status') {
        return json(202, {
          ignored: true,
          reason: `X-GitHub-Event "${name}" is not handled: subscribe to deployments and deployment statuses only`,
        });
      }
      const delivery = request.headers.get('X-GitHub-Delivery')?.trim() ?? '';
      if (!/^[A-Za-z0-9-]{1,100}$/.test(delivery)) {
        throw new PayloadError('X-GitHub-Delivery', 'is required (the delivery GUID GitHub sends)');
      }
      deliveryKey = `github:${delivery}`;
      event = githubEvent(name, parseJson(raw));
    } else {
      const verdict = await verifyWebhook({
        secret,
        body: raw,
        timestampHeader: request.headers.get(TIMESTAMP_HEADER),
        signatureHeader: request.headers.get(SIGNATURE_HEADER),
        now: Date.now(),
      });
      if (!verdict.ok)
        return refuse(GENERIC_REASONS[verdict.reason] ?? 'DEPLOYMENT_SIGNATURE_INVALID', verdict.message);
      const body = new TextDecoder().decode(raw);
      deliveryKey = `generic:${await sha256Hex(`${verdict.timestamp}.${body}`)}`;
      event = genericEvent(parseJson(raw));
    }
  } catch (e) {
    if (e instanceof PayloadError) {
      return refuse('DEPLOYMENT_PAYLOAD_INVALID', e.message, {
        issues: [{ field: e.field, message: e.message }],
      });
    }
    throw e;
  }
  const receivedAt = new Date();
  const ctx = createRequestContext({
    db,
    requestId,
    principal: integrationPrincipal(integration),
    source: 'system',
    events: ports.events ?? null,
    executions: ports.executions ?? null,
    writeLock: ports.writeLock ?? null,
    followUps: ports.followUps ?? null,
    secretKeys: config.secretKeys,
    egress: config.egress,
  }) as AuthedContext;
  // One instant for the whole delivery: the window it is scheduled for starts when it arrived.
  ctx.now = () => receivedAt;
  try {
    return answer(await receiveDeployment(ctx, integration, event, deliveryKey));
  } catch (e) {
    if (isUniqueViolation(e, 'deployment_deliveries')) {
      return refuse('DEPLOYMENT_REPLAYED', 'This delivery was already received; nothing was done');
    }
    if (e instanceof AppError) return refuse(e.code, e.message);
    throw e;
  }
}

function parseJson(raw: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    throw new PayloadError('body', 'must be JSON (UTF-8)');
  }
}
