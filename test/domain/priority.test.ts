import { describe, expect, it } from 'vitest';
import { priorityFor } from '../../src/domain/priority';
import type { Level, Priority } from '../../src/domain/types';
import { LEVELS } from '../../src/domain/types';

describe('priorityFor', () => {
  const matrix: [Level, Level, Priority][] = [
    ['HIGH', 'HIGH', 'P1'],
    ['HIGH', 'MEDIUM', 'P2'],
    ['HIGH', 'LOW', 'P3'],
    ['MEDIUM', 'HIGH', 'P2'],
    ['MEDIUM', 'MEDIUM', 'P3'],
    ['MEDIUM', 'LOW', 'P4'],
    ['LOW', 'HIGH', 'P3'],
    ['LOW', 'MEDIUM', 'P4'],
    ['LOW', 'LOW', 'P4'],
  ];

  it.each(matrix)('impact %s and urgency %s give %s', (impact, urgency, expected) => {
    expect(priorityFor(impact, urgency)).toBe(expected);
  });

  it('covers every combination of impact and urgency', () => {
    for (const impact of LEVELS) {
      for (const urgency of LEVELS) expect(priorityFor(impact, urgency)).toMatch(/^P[1-4]$/);
    }
  });

  it('never gives a lower priority when impact or urgency rises', () => {
    const rank = (l: Level) => LEVELS.indexOf(l);
    for (const a of LEVELS) {
      for (const b of LEVELS) {
        if (rank(b) < rank(a)) continue;
        for (const other of LEVELS) {
          expect(priorityFor(b, other) <= priorityFor(a, other)).toBe(true);
          expect(priorityFor(other, b) <= priorityFor(other, a)).toBe(true);
        }
      }
    }
  });
});
