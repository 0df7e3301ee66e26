import { personBehind } from '../../db/apiKeys';
import { overlappingScheduled, serviceHistory } from '../../db/changes';
import { getTemplateVersion } from '../../db/standardChangeTemplates';
import { hasScope, personOf } from '../../domain/principal';
import { assessRisk } from '../../domain/risk';
import { type ChangeRecord, RISK_LEVELS, type RiskAssessment, type RiskLevel } from '../../domain/types';
import { AppError } from '../../errors';
import type { AuthedContext } from '../context';
import { mutateChange } from './writes';

/** The lowest score of each level (see riskLevelFor), so a raised level keeps a consistent score. */
const LEVEL_FLOOR: Readonly<Record<RiskLevel, number>> = { LOW: 0, MEDIUM: 25, HIGH: 50, VERY_HIGH: 75 };

/**
 * A change from a template is at least as risky as the template's pre-assessed level: the
 * higher level wins, and the difference shows as its own factor so the score still adds up.
 */
export function withTemplateFloor(risk: RiskAssessment, templateLevel: RiskLevel): RiskAssessment {
  if (RISK_LEVELS.indexOf(templateLevel) <= RISK_LEVELS.indexOf(risk.level)) return risk;
  const score = LEVEL_FLOOR[templateLevel];
  return {
    ...risk,
    score,
    level: templateLevel,
    factors: [
      ...risk.factors,
      {
        key: 'template_risk',
        label: `Standard change template pre-assessed at ${templateLevel}`,
        contribution: score - risk.score,
      },
    ],
  };
}

/** Computes the risk of a change as it stands now, from its own fields and the tenant's history. */
export async function computeRisk(
  ctx: AuthedContext,
  change: ChangeRecord,
  now: string,
): Promise<RiskAssessment> {
  const [history, conflicts, template] = await Promise.all([
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
    change.templateId && change.templateVersion
      ? getTemplateVersion(ctx.db, change.tenantId, change.templateId, change.templateVersion)
      : Promise.resolve(null),
  ]);
  const computed = assessRisk({
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
  return template ? withTemplateFloor(computed, template.riskLevel) : computed;
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
