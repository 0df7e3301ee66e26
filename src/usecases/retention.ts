import {
  pruneExecutionOutputsStatement,
  pruneIdempotencyStatement,
  pruneStepOutputsStatement,
  retentionPolicy,
  upsertRetentionPolicyStatement,
} from '../db/retention';
import { RETENTION_BOUNDS, type RetentionPolicy } from '../domain/retention';
import { AppError } from '../errors';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';

export const getRetentionPolicy = (ctx: AuthedContext): Promise<RetentionPolicy> =>
  retentionPolicy(ctx.db, ctx.principal.tenantId);

export type RetentionPolicyInput = Partial<
  Pick<RetentionPolicy, 'stepOutputDays' | 'idempotencyHours' | 'eraseFreeText' | 'legalHold'>
>;

function checkBounds(input: RetentionPolicyInput): void {
  const issues = (['stepOutputDays', 'idempotencyHours'] as const).flatMap((field) => {
    const v = input[field];
    const { min, max } = RETENTION_BOUNDS[field];
    return v === undefined || (Number.isInteger(v) && v >= min && v <= max)
      ? []
      : [{ field, message: `must be a whole number from ${min} to ${max}` }];
  });
  if (issues.length)
    throw new AppError('VALIDATION_FAILED', 'The retention policy is out of bounds', { issues });
}

/** Changes the fields given (admin), audited as `retention_policy.updated` with before and after. */
export async function setRetentionPolicy(
  ctx: AuthedContext,
  input: RetentionPolicyInput,
): Promise<RetentionPolicy> {
  checkBounds(input);
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined && v !== null));
  return commitWithAudit(ctx, async () => {
    const before = await retentionPolicy(ctx.db, ctx.principal.tenantId);
    const after = { ...before, ...given, updatedAt: ctx.now().toISOString(), updatedBy: ctx.principal.id };
    return {
      statements: [upsertRetentionPolicyStatement(ctx.db, ctx.principal.tenantId, after)],
      audit: [
        {
          action: 'retention_policy.updated',
          targetType: 'RetentionPolicy',
          targetId: ctx.principal.tenantId,
          before,
          after,
        },
      ],
      result: after,
    };
  });
}

/** Rows changed per statement and run; the cron runs every minute, so a backlog drains run by run. */
export const PRUNE_BATCH = 500;

export interface PruneReport {
  stepOutputs: number;
  executionOutputs: number;
  idempotencyRecords: number;
}

/**
 * One bounded round of pruning across tenants, each by its own policy, none under legal hold:
 * step and execution outputs past their period, idempotency records past theirs. Audit events are
 * never pruned. Resumable by construction: each statement takes the oldest rows still due.
 */
export async function pruneExpired(db: D1Database, now: Date, limit = PRUNE_BATCH): Promise<PruneReport> {
  const at = now.toISOString();
  const [steps, executions, keys] = await db.batch([
    pruneStepOutputsStatement(db, at, limit),
    pruneExecutionOutputsStatement(db, at, limit),
    pruneIdempotencyStatement(db, at, limit),
  ]);
  return {
    stepOutputs: steps?.meta.changes ?? 0,
    executionOutputs: executions?.meta.changes ?? 0,
    idempotencyRecords: keys?.meta.changes ?? 0,
  };
}
