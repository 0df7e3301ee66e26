import { hasScope, personOf } from '../auth/principal';
import { personBehind } from '../db/apiKeys';
import { overlappingScheduled, serviceHistory } from '../db/changes';
import { AppError } from '../errors';
import { mutateChange } from './changeWrites';
import type { AuthedContext } from './context';
import type { ChangeRecord, RiskAssessment } from './domain';
import { assessRisk } from './risk';

/** Computes the risk of a change as it stands now, from its own fields and the tenant's history. */
export async function computeRisk(
  ctx: AuthedContext,
  change: ChangeRecord,
  now: string,
): Promise<RiskAssessment> {
  const [history, conflicts] = await Promise.all([
    serviceHistory(ctx.db, change.tenantId, change.affectedServices, change.id),
    change.plannedStart && change.plannedEnd
      ? overlappingScheduled(
          ctx.db,
          change.tenantId,
          change.affectedServices,
          change.plannedStart,
          change.plannedEnd,
          change.id,
        )
      : Promise.resolve([]),
  ]);
  return assessRisk({
    type: change.type,
    impact: change.impact,
    urgency: change.urgency,
    affectedServices: change.affectedServices,
    backoutPlan: change.backoutPlan,
    testPlan: change.testPlan,
    serviceHistory: history,
    scheduleConflicts: conflicts.length,
    now,
  });
}

export const withRisk = (change: ChangeRecord, risk: RiskAssessment): ChangeRecord => ({
  ...change,
  riskScore: risk.score,
  riskLevel: risk.level,
  riskFactors: risk.factors,
});

const ASSESSABLE = new Set(['DRAFT', 'SUBMITTED', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED']);

/**
 * Re-assesses and stores the risk. Only the change's requester or a change manager may. On a
 * PENDING_APPROVAL change it updates the quorum the change needs but never decides it: the next
 * vote is judged against the new quorum, through the one path that decides (and wakes approval
 * gates and runbooks).
 */
export async function assessChangeRisk(ctx: AuthedContext, id: string, expectedVersion?: number | null) {
  const { change, result } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
    if (!hasScope(ctx.principal, 'changeManager')) {
      const requester = await personBehind(ctx.db, current.tenantId, current.requesterId);
      if (requester !== personOf(ctx.principal)) {
        throw new AppError(
          'FORBIDDEN',
          `Only the requester of change ${id} or a change manager may re-assess its risk`,
        );
      }
    }
    if (!ASSESSABLE.has(current.status)) {
      throw new AppError(
        'CHANGE_INVALID_TRANSITION',
        `Change ${id} is ${current.status}; its risk is final`,
        {
          currentStatus: current.status,
        },
      );
    }
    const risk = await computeRisk(ctx, current, now);
    return { next: withRisk(current, risk), action: 'change.risk_assessed', result: risk };
  });
  return { change, risk: result };
}
