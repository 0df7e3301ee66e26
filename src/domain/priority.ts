import type { Level, Priority } from './types';

/**
 * ITIL priority matrix: rows are impact, columns are urgency. Impact weighs slightly more than
 * urgency, so LOW impact never reaches P2 and HIGH impact never drops below P3.
 */
export const PRIORITY_MATRIX: Readonly<Record<Level, Readonly<Record<Level, Priority>>>> = {
  HIGH: { HIGH: 'P1', MEDIUM: 'P2', LOW: 'P3' },
  MEDIUM: { HIGH: 'P2', MEDIUM: 'P3', LOW: 'P4' },
  LOW: { HIGH: 'P3', MEDIUM: 'P4', LOW: 'P4' },
};

/** Priority of a change from its impact and urgency. */
export function priorityFor(impact: Level, urgency: Level): Priority {
  return PRIORITY_MATRIX[impact][urgency];
}
