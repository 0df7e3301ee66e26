import { isWebhookRowId, type OutboxRow } from '../db/outbox';
import type { Principal } from '../domain/principal';
import { startApprovedRunbook } from './changes/afterDecision';
import type { AuthedContext } from './context';
import { type FollowUpRunner, runFollowUp } from './outbox';
import type { WebhookTransport } from './ports/webhookTransport';
import { deliverWebhook } from './webhooks/deliver';
import { wakeGatesOf } from './workflows/executions';
import { enginePrincipal, settleEndedRunbook } from './workflows/runbooks';

/**
 * What each kind of follow-up does (outbox.ts runs them); each is safe to run again.
 * `webhooks`: how this runtime sends webhook deliveries (absent: they wait for one that can).
 */
export async function runFollowUpEffect(
  ctx: AuthedContext,
  row: OutboxRow,
  webhooks: WebhookTransport | null = null,
): Promise<string> {
  const f = row.followUp;
  switch (f.kind) {
    case 'wake-gates':
      return `woke ${await wakeGatesOf(ctx, f.changeId)} execution(s)`;
    case 'change-approved':
      return startApprovedRunbook(ctx, f.changeId, row.id);
    case 'settle-runbook':
      return settleEndedRunbook(ctx, f.executionId);
    case 'webhook-delivery':
      return deliverWebhook(ctx, f.deliveryId, webhooks);
  }
}

/** Who a row acts as: the principal of the write that queued it (name and email are not kept). */
export const rowActor = (row: OutboxRow): Principal =>
  row.actor ? { ...row.actor, name: null, email: null } : enginePrincipal(row.tenantId);

/**
 * Runs the rows a request's write just queued, in the request's own context (its caller is the
 * rows' actor); never throws. `retryAt`: where a failed row asks for its retry.
 *
 * Webhook deliveries are not sent inside the request (a slow receiver would hold up every
 * write's answer): the tenant's drain is armed for now (the Durable Object alarm, the Node
 * timer), which sends them at once; where none is, the cron does.
 */
export async function drainCommitted(
  ctx: AuthedContext,
  ids: readonly string[],
  retryAt?: FollowUpRunner['retryAt'],
  webhooks: WebhookTransport | null = null,
): Promise<void> {
  const runner: FollowUpRunner = {
    db: ctx.db,
    now: ctx.now,
    run: (row) => runFollowUpEffect(ctx, row, webhooks),
    ...(retryAt ? { retryAt } : {}),
  };
  const deliveries = ids.filter(isWebhookRowId);
  for (const id of ids) if (!isWebhookRowId(id)) await runFollowUp(runner, id);
  if (deliveries.length && retryAt) {
    await retryAt(ctx.principal.tenantId, ctx.now()).catch(() => {
      // The cron drains them within the minute.
    });
  }
}
