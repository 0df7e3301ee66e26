import { getChange, updateChangeStatements } from '../../db/changes';
import { personOf } from '../../domain/principal';
import type { ChangeRecord } from '../../domain/types';
import { AppError } from '../../errors';
import { type AuditEntry, commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';
import { changeEvent } from '../ports/events';
import { decisionFollowUps } from './afterDecision';

/** Fields whose change is worth an audit line; timestamps and version follow from them. */
const QUIET_FIELDS = new Set<keyof ChangeRecord>(['version', 'updatedAt']);

/** The audit before/after of an update: only the fields that changed. */
export function changeDiff(prev: ChangeRecord, next: ChangeRecord) {
  const before: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  for (const key of Object.keys(next) as (keyof ChangeRecord)[]) {
    if (QUIET_FIELDS.has(key)) continue;
    if (JSON.stringify(prev[key]) !== JSON.stringify(next[key])) {
      before[key] = prev[key];
      after[key] = next[key];
    }
  }
  return { before, after };
}

export interface ChangeUpdate<T> {
  next: ChangeRecord;
  /** The audit action, e.g. `change.submitted`. */
  action: string;
  statements?: D1PreparedStatement[];
  /** Audit entries beyond the change's own diff (an approval vote, a routing step). */
  audit?: AuditEntry[];
  result?: T;
}

export function notFound(id: string): AppError {
  return new AppError('CHANGE_NOT_FOUND', `Change ${id} does not exist`, { changeId: id });
}

/**
 * Reads the change fresh, lets `decide` compute the next state, and commits the row (with the
 * version check) and its audit events in one batch. A stale `expectedVersion` is a conflict.
 * A move to APPROVED or REJECTED, whoever makes it, queues what follows a decision in the batch.
 */
export async function mutateChange<T = undefined>(
  ctx: AuthedContext,
  id: string,
  expectedVersion: number | null | undefined,
  decide: (current: ChangeRecord, now: string) => Promise<ChangeUpdate<T>> | ChangeUpdate<T>,
): Promise<{ change: ChangeRecord; result: T }> {
  const committed = await commitWithAudit(
    ctx,
    async () => {
      const current = await getChange(ctx.db, ctx.principal.tenantId, id);
      if (!current) throw notFound(id);
      if (expectedVersion != null && expectedVersion !== current.version) {
        throw new AppError(
          'CHANGE_VERSION_CONFLICT',
          `Change ${id} is at version ${current.version}, not ${expectedVersion}; read it again and retry`,
          { changeId: id, currentVersion: current.version, expectedVersion },
        );
      }
      const now = ctx.now().toISOString();
      const update = await decide(current, now);
      const next: ChangeRecord = { ...update.next, version: current.version + 1, updatedAt: now };
      const diff = changeDiff(current, next);
      return {
        statements: [...updateChangeStatements(ctx.db, current, next), ...(update.statements ?? [])],
        audit: [
          ...(update.audit ?? []),
          { action: update.action, targetType: 'ChangeRequest', targetId: id, ...diff },
        ],
        followUps: decisionFollowUps(current, next),
        result: {
          change: next,
          result: update.result as T,
          previousStatus: current.status,
          action: update.action,
        },
      };
    },
    // Only after the batch committed: subscribers never see a change that did not happen.
    ({ change, previousStatus, action }) =>
      ctx.events?.publish(
        changeEvent(action, change, previousStatus, { id: ctx.principal.id, source: ctx.source }),
      ),
  );
  return { change: committed.change, result: committed.result };
}

/** Requesters act on their own changes; change managers and admins on any. */
export function assertOwnerOrManager(ctx: AuthedContext, change: ChangeRecord, what: string): void {
  const manager = ctx.principal.roles.some((r) => r === 'change_manager' || r === 'admin');
  const own = change.requesterId === ctx.principal.id || change.requesterId === personOf(ctx.principal);
  if (!manager && !own) {
    throw new AppError('FORBIDDEN', `Only the requester or a change manager may ${what} change ${change.id}`);
  }
}
