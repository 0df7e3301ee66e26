import { describe, expect, it } from 'vitest';
import type { RiskInput } from '../../src/domain/risk';
import { assessRisk, RISK_WEIGHTS, riskLevelFor } from '../../src/domain/risk';

const NOW = '2025-06-01T12:00:00.000Z';

const base: RiskInput = {
  type: 'STANDARD',
  impact: 'LOW',
  urgency: 'LOW',
  affectedServices: ['web'],
  backoutPlan: 'redeploy previous image',
  testPlan: 'smoke tests',
  serviceHistory: {},
  scheduleConflicts: 0,
  now: NOW,
};

const sum = (factors: { contribution: number }[]) => factors.reduce((s, f) => s + f.contribution, 0);

describe('assessRisk', () => {
  it('scores a routine standard change at 0 with no factors', () => {
    expect(assessRisk(base)).toEqual({ score: 0, level: 'LOW', factors: [], assessedAt: NOW });
  });

  it('explains a medium-risk normal change factor by factor', () => {
    const r = assessRisk({
      ...base,
      type: 'NORMAL',
      impact: 'MEDIUM',
      urgency: 'MEDIUM',
      affectedServices: ['db', 'api'],
      serviceHistory: { db: { total: 2, failed: 2 } },
      scheduleConflicts: 1,
    });
    expect(r.factors).toEqual([
      { key: 'type', label: 'NORMAL change', contribution: 10 },
      { key: 'impact', label: 'MEDIUM impact', contribution: 10 },
      { key: 'urgency', label: 'MEDIUM urgency', contribution: 5 },
      { key: 'services', label: '2 affected services', contribution: 5 },
      { key: 'schedule_conflicts', label: '1 schedule conflict', contribution: 5 },
    ]);
    expect(r.score).toBe(35);
    expect(r.score).toBe(sum(r.factors));
    expect(r.level).toBe('MEDIUM');
  });

  it('lists every factor of a risky emergency change and clamps the score at 100', () => {
    const r = assessRisk({
      ...base,
      type: 'EMERGENCY',
      impact: 'HIGH',
      urgency: 'HIGH',
      affectedServices: ['db', 'api', 'web'],
      backoutPlan: null,
      testPlan: '   ',
      serviceHistory: {
        db: { total: 6, failed: 3 },
        api: { total: 4, failed: 1 },
        other: { total: 9, failed: 9 },
      },
      scheduleConflicts: 2,
    });
    expect(r.factors).toEqual([
      { key: 'type', label: 'EMERGENCY change', contribution: 25 },
      { key: 'impact', label: 'HIGH impact', contribution: 20 },
      { key: 'urgency', label: 'HIGH urgency', contribution: 10 },
      { key: 'services', label: '3 affected services', contribution: 10 },
      { key: 'failure_rate', label: 'Past failure rate 40% (4 of 10) on db, api', contribution: 8 },
      { key: 'no_backout_plan', label: 'No backout plan', contribution: 10 },
      { key: 'no_test_plan', label: 'No test plan', contribution: 10 },
      { key: 'schedule_conflicts', label: '2 schedule conflicts', contribution: 10 },
    ]);
    expect(sum(r.factors)).toBe(103);
    expect(r.score).toBe(100);
    expect(r.level).toBe('VERY_HIGH');
  });

  it('caps affected services and schedule conflicts', () => {
    const r = assessRisk({ ...base, affectedServices: ['a', 'b', 'c', 'd', 'e', 'f'], scheduleConflicts: 7 });
    expect(r.factors).toEqual([
      { key: 'services', label: '6 affected services', contribution: RISK_WEIGHTS.maxServices },
      { key: 'schedule_conflicts', label: '7 schedule conflicts', contribution: 10 },
    ]);
    expect(r.score).toBe(25);
    expect(r.level).toBe('MEDIUM');
  });

  it('counts a service named twice once', () => {
    const r = assessRisk({ ...base, affectedServices: ['db', 'db', ' db '] });
    expect(r.factors).toEqual([]);
  });

  it('ignores failure history until there are at least 3 past changes, and rounds the rate', () => {
    const few = assessRisk({ ...base, serviceHistory: { web: { total: 2, failed: 2 } } });
    expect(few.factors).toEqual([]);
    const third = assessRisk({ ...base, serviceHistory: { web: { total: 3, failed: 1 } } });
    expect(third.factors).toEqual([
      { key: 'failure_rate', label: 'Past failure rate 33% (1 of 3) on web', contribution: 7 },
    ]);
    const clean = assessRisk({ ...base, serviceHistory: { web: { total: 50, failed: 0 } } });
    expect(clean.factors).toEqual([]);
  });

  it('is deterministic', () => {
    const input: RiskInput = { ...base, type: 'NORMAL', backoutPlan: '', scheduleConflicts: 1 };
    expect(assessRisk(input)).toEqual(assessRisk(input));
    expect(assessRisk(input).score).toBe(25);
  });
});

describe('riskLevelFor', () => {
  it.each([
    [0, 'LOW'],
    [24, 'LOW'],
    [25, 'MEDIUM'],
    [49, 'MEDIUM'],
    [50, 'HIGH'],
    [74, 'HIGH'],
    [75, 'VERY_HIGH'],
    [100, 'VERY_HIGH'],
  ])('score %i is %s', (score, level) => {
    expect(riskLevelFor(score)).toBe(level);
  });
});
