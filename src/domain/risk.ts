import type { ChangeType, Level, RiskAssessment, RiskFactor, RiskLevel } from './types';

/**
 * Points each factor adds to the 0–100 risk score. Kept small and additive so that a person can
 * check a score by hand from the factor list. The factors can add up to 120, so the score is
 * clamped at 100; only then do the contributions sum to more than the score.
 */
export const RISK_WEIGHTS = {
  type: { STANDARD: 0, NORMAL: 10, EMERGENCY: 25 } as Readonly<Record<ChangeType, number>>,
  impact: { LOW: 0, MEDIUM: 10, HIGH: 20 } as Readonly<Record<Level, number>>,
  urgency: { LOW: 0, MEDIUM: 5, HIGH: 10 } as Readonly<Record<Level, number>>,
  /** Per affected service beyond the first. */
  perExtraService: 5,
  maxServices: 15,
  /** Multiplied by the past failure rate (0–1) of changes to the affected services. */
  failureRate: 20,
  /** Fewer past changes than this say nothing about a service, so the rate is ignored. */
  minHistory: 3,
  noBackoutPlan: 10,
  noTestPlan: 10,
  perScheduleConflict: 5,
  maxScheduleConflicts: 10,
} as const;

export interface RiskInput {
  type: ChangeType;
  impact: Level;
  urgency: Level;
  affectedServices: string[];
  backoutPlan: string | null;
  testPlan: string | null;
  /** Past changes per service name: how many were implemented and how many of them failed. */
  serviceHistory: Record<string, { total: number; failed: number }>;
  scheduleConflicts: number;
  now: string;
}

export function riskLevelFor(score: number): RiskLevel {
  if (score < 25) return 'LOW';
  if (score < 50) return 'MEDIUM';
  if (score < 75) return 'HIGH';
  return 'VERY_HIGH';
}

const isBlank = (s: string | null): boolean => s === null || s.trim() === '';
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Deterministic, explainable risk score: same input, same score and factors. */
export function assessRisk(input: RiskInput): RiskAssessment {
  const w = RISK_WEIGHTS;
  const services = [...new Set(input.affectedServices.map((s) => s.trim()).filter((s) => s !== ''))];
  const factors: RiskFactor[] = [];
  const add = (key: string, label: string, contribution: number): void => {
    if (contribution > 0) factors.push({ key, label, contribution });
  };

  add('type', `${input.type} change`, w.type[input.type]);
  add('impact', `${input.impact} impact`, w.impact[input.impact]);
  add('urgency', `${input.urgency} urgency`, w.urgency[input.urgency]);
  add(
    'services',
    plural(services.length, 'affected service'),
    Math.min(w.maxServices, Math.max(0, services.length - 1) * w.perExtraService),
  );

  let total = 0;
  let failed = 0;
  const withHistory: string[] = [];
  for (const name of services) {
    const h = input.serviceHistory[name];
    if (!h || h.total <= 0) continue;
    total += h.total;
    failed += Math.min(Math.max(0, h.failed), h.total);
    withHistory.push(name);
  }
  if (total >= w.minHistory) {
    const rate = failed / total;
    add(
      'failure_rate',
      `Past failure rate ${Math.round(rate * 100)}% (${failed} of ${total}) on ${withHistory.join(', ')}`,
      Math.round(rate * w.failureRate),
    );
  }

  if (isBlank(input.backoutPlan)) add('no_backout_plan', 'No backout plan', w.noBackoutPlan);
  if (isBlank(input.testPlan)) add('no_test_plan', 'No test plan', w.noTestPlan);
  const conflicts = Math.max(0, Math.floor(input.scheduleConflicts));
  add(
    'schedule_conflicts',
    plural(conflicts, 'schedule conflict'),
    Math.min(w.maxScheduleConflicts, conflicts * w.perScheduleConflict),
  );

  const sum = factors.reduce((acc, f) => acc + f.contribution, 0);
  const score = Math.min(100, Math.max(0, Math.round(sum)));
  return { score, level: riskLevelFor(score), factors, assessedAt: input.now };
}
