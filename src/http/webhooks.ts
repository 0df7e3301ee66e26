import { isUniqueViolation } from '../db/errors';
import { insertWebhookDeliveryStatement } from '../db/executions';
import { systemPrincipal } from '../domain/principal';
import type { WorkflowTrigger } from '../domain/workflowSteps';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhook } from '../engine/webhookSignature';
import { AppError, type ErrorCode } from '../errors';
import type { SecretKeys } from '../secrets/envelope';
import { type AuthedContext, createRequestContext } from '../usecases/context';
import { executeWorkflow } from '../usecases/workflows/executions';
import { openStepSecrets } from '../usecases/workflows/secrets';
import type { AppPorts } from './app';
import { jsonErrorResponse as refuse } from './responses';

/**
 * `POST /hooks/workflows/:id`: another system starts a workflow. The workflow must have a
 * `webhook` trigger naming the secret of the workflow's tenant (see setWorkflowSecret) that signs deliveries:
 * `X-ChangeFlow-Timestamp` (unix seconds) and `X-ChangeFlow-Signature: sha256=<hex HMAC-SHA256
 * of "<timestamp>.<body>">`. A delivery older than 5 minutes is refused, and each signature is
 * accepted once (the claim commits in the same batch as the execution). The JSON body becomes
 * the execution's `inputs.body`.
 */
export const WEBHOOK_PATH = /^\/hooks\/workflows\/([^/]+)$/;

const REASON_CODES: Record<string, ErrorCode> = {
  MISSING_HEADERS: 'WORKFLOW-009',
  MALFORMED: 'WORKFLOW-009',
  BAD_SIGNATURE: 'WORKFLOW-010',
  STALE: 'WORKFLOW-011',
};

/**
 * A delivery is its timestamp and body: a replay of them is refused whatever signature header
 * it carries (a header with several signatures, or a subset of them, is the same delivery).
 */
async function deliveryKey(timestamp: number, body: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(`${timestamp}.${body}`));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

const isReplay = (e: unknown) => isUniqueViolation(e, 'webhook_deliveries');

export async function receiveWebhook(
  request: Request,
  db: D1Database,
  workflowId: string,
  ports: AppPorts,
  keys: SecretKeys | null,
): Promise<Response> {
  // Only a POST gets here (the route table answers other methods with 405).
  const row = await db
    .prepare(`SELECT tenant_id, triggers FROM workflows WHERE id = ?1 AND status = 'ACTIVE'`)
    .bind(workflowId)
    .first<{ tenant_id: string; triggers: string }>();
  const trigger = row
    ? (JSON.parse(row.triggers) as WorkflowTrigger[]).find((t) => t.type === 'webhook')
    : undefined;
  // Unknown, inactive and webhook-less workflows look alike: nothing to learn by probing ids.
  if (!row || !trigger || trigger.type !== 'webhook') {
    return refuse('WORKFLOW-008', `No active workflow ${workflowId} takes webhooks`);
  }
  // The workflow's own tenant only; its allowedHosts do not apply (the secret is never sent).
  const secret = await openStepSecrets(db, keys, row.tenant_id, [trigger.secret])
    .then((opened) => opened.get(trigger.secret)?.value)
    .catch(() => undefined);
  if (!secret) {
    return refuse('WORKFLOW-013', `The webhook secret of workflow ${workflowId} is not configured`);
  }
  // Bytes, not text(): decoding would drop a leading byte-order mark the sender signed.
  const raw = new Uint8Array(await request.arrayBuffer());
  const body = new TextDecoder().decode(raw);
  const verdict = await verifyWebhook({
    secret,
    body: raw,
    timestampHeader: request.headers.get(TIMESTAMP_HEADER),
    signatureHeader: request.headers.get(SIGNATURE_HEADER),
    now: Date.now(),
  });
  if (!verdict.ok) return refuse(REASON_CODES[verdict.reason] ?? 'WORKFLOW-010', verdict.message);
  let payload: unknown = null;
  if (body.trim() !== '') {
    try {
      payload = JSON.parse(body);
    } catch {
      return refuse('VALIDATION_FAILED', 'The body must be JSON (or empty)');
    }
  }
  if (!ports.executions) {
    return refuse('EXECUTION-012', 'This runtime has no workflow engine');
  }
  const ctx = createRequestContext({
    db,
    requestId: `webhook:${workflowId}`,
    principal: systemPrincipal(row.tenant_id, 'webhook', `webhook of ${workflowId}`),
    source: 'system',
    events: ports.events ?? null,
    executions: ports.executions,
    writeLock: ports.writeLock ?? null,
  }) as AuthedContext;
  const key = await deliveryKey(verdict.timestamp, body);
  try {
    const execution = await executeWorkflow(
      ctx,
      workflowId,
      { trigger: 'WEBHOOK', triggerRef: String(verdict.timestamp), inputs: { body: payload } },
      (e) => [insertWebhookDeliveryStatement(db, workflowId, key, e.id, e.createdAt)],
    );
    return new Response(JSON.stringify({ executionId: execution.id, status: execution.status }), {
      status: 202,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  } catch (e) {
    if (isReplay(e)) return refuse('WORKFLOW-012', 'This delivery was already received (same signature)');
    if (e instanceof AppError) return refuse(e.code, e.message);
    throw e;
  }
}
