import type { OutboxRow } from '../db/outbox';
import type { Principal } from '../domain/principal';
import { startApprovedRunbook } from './changes/afterDecision';
import type { AuthedContext } from './context';
import { type FollowUpRunner, runFollowUp } from './outbox';
import { wakeGatesOf } from './workflows/executions';
import { enginePrincipal, settleEndedRunbook } from './workflows/runbooks';

/** What each kind of follow-up does (outbox.ts runs them); each is safe to run again. */
export async function runFollowUpEffect(ctx: AuthedContext, row: OutboxRow): Promise<string> {
  const f = row.followUp;
  switch (f.kind) {
    case 'wake-gates':
      return `woke ${await wakeGatesOf(ctx, f.changeId)} execution(s)`;
    case 'change-approved':
      return startApprovedRunbook(ctx, f.changeId, row.id);
    case 'settle-runbook':
      return settleEndedRunbook(ctx, f.executionId);
  }
}

/** Who a row acts as: the principal of the write that queued it (name and email are not kept). */
export const rowActor = (row: OutboxRow): Principal =>
  row.actor ? { ...row.actor, name: null, email: null } : enginePrincipal(row.tenantId);

/**
 * Runs the rows a request's write just queued, in the request's own context (its caller is the
 * rows' actor); never throws. `retryAt`: where a failed row asks for its retry.
 */
export async function drainCommitted(
  ctx: AuthedContext,
  ids: readonly string[],
  retryAt?: FollowUpRunner['retryAt'],
): Promise<void> {
  const runner: FollowUpRunner = {
    db: ctx.db,
    now: ctx.now,
    run: (row) => runFollowUpEffect(ctx, row),
    ...(retryAt ? { retryAt } : {}),
  };
  for (const id of ids) await runFollowUp(runner, id);
}
