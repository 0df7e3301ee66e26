import { overlappingScheduled, serviceHistory } from '../db/changes';
import { AppError } from '../errors';
import { evaluateApprovals } from './approvalPolicy';
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

/** Re-assesses and stores the risk; a pending change whose votes now suffice becomes APPROVED. */
export async function assessChangeRisk(ctx: AuthedContext, id: string, expectedVersion?: number | null) {
  const { change, result } = await mutateChange(ctx, id, expectedVersion, async (current, now) => {
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
    let next = withRisk(current, risk);
    if (current.status === 'PENDING_APPROVAL') {
      const approvals = await ctx.loaders.approvalsByChange.load(id);
      const evaluation = evaluateApprovals({ riskLevel: risk.level, approvals });
      if (evaluation.outcome !== 'PENDING') next = { ...next, status: evaluation.outcome, approvedAt: now };
    }
    return { next, action: 'change.risk_assessed', result: risk };
  });
  return { change, risk: result };
}
