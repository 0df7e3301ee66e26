import { describe, expect, it } from 'vitest';
import type { ScheduleInput } from '../../src/domain/schedule';
import { checkSchedule, overlaps, parseInstant } from '../../src/domain/schedule';
import { AppError } from '../../src/errors';

const NOW = '2025-06-01T00:00:00Z';
const freeze = {
  id: 'fw-1',
  name: 'Quarter close',
  startsAt: '2025-06-28T00:00:00Z',
  endsAt: '2025-07-02T00:00:00Z',
};

const base: ScheduleInput = {
  type: 'NORMAL',
  start: '2025-06-10T22:00:00Z',
  end: '2025-06-10T23:00:00Z',
  now: NOW,
  freezeWindows: [freeze],
  services: ['db', 'api'],
  scheduled: [],
};

function errorOf(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected an AppError');
}

describe('overlaps', () => {
  it('treats windows as half-open: touching windows do not overlap', () => {
    expect(
      overlaps(
        '2025-01-01T10:00:00Z',
        '2025-01-01T11:00:00Z',
        '2025-01-01T11:00:00Z',
        '2025-01-01T12:00:00Z',
      ),
    ).toBe(false);
    expect(
      overlaps(
        '2025-01-01T11:00:00Z',
        '2025-01-01T12:00:00Z',
        '2025-01-01T10:00:00Z',
        '2025-01-01T11:00:00Z',
      ),
    ).toBe(false);
  });

  it('detects partial, contained and identical windows', () => {
    const a = ['2025-01-01T10:00:00Z', '2025-01-01T12:00:00Z'] as const;
    expect(overlaps(...a, '2025-01-01T11:59:59Z', '2025-01-01T13:00:00Z')).toBe(true);
    expect(overlaps(...a, '2025-01-01T10:30:00Z', '2025-01-01T11:00:00Z')).toBe(true);
    expect(overlaps(...a, '2025-01-01T09:00:00Z', '2025-01-01T13:00:00Z')).toBe(true);
    expect(overlaps(...a, ...a)).toBe(true);
    expect(overlaps(...a, '2025-01-02T10:00:00Z', '2025-01-02T12:00:00Z')).toBe(false);
  });

  it('compares instants, not strings, across offsets', () => {
    expect(
      overlaps(
        '2025-01-01T10:00:00Z',
        '2025-01-01T11:00:00Z',
        '2025-01-01T12:30:00+02:00',
        '2025-01-01T13:00:00+02:00',
      ),
    ).toBe(true);
  });
});

describe('parseInstant', () => {
  it('accepts ISO-8601 date-times with a time zone', () => {
    expect(parseInstant('2025-06-10T22:00:00Z')).toBe(Date.UTC(2025, 5, 10, 22));
    expect(parseInstant('2025-06-10T22:00:00.123+01:00')).toBe(Date.UTC(2025, 5, 10, 21, 0, 0, 123));
    expect(parseInstant('2024-02-29T00:00Z')).toBe(Date.UTC(2024, 1, 29));
  });

  it.each([
    '',
    'tomorrow',
    '2025-06-10',
    '2025-06-10T22:00:00',
    '2025-02-30T00:00:00Z',
    '2025-13-01T00:00:00Z',
  ])('rejects %j', (value) => {
    expect(parseInstant(value)).toBeNull();
  });
});

describe('checkSchedule', () => {
  it('accepts a valid window with nothing to report', () => {
    expect(checkSchedule(base)).toEqual({ conflicts: [], freezeWindowsOverridden: [] });
  });

  it('rejects dates that are not ISO-8601', () => {
    const err = errorOf(() => checkSchedule({ ...base, start: 'next tuesday' }));
    expect(err.code).toBe('SCHEDULE_INVALID_WINDOW');
    expect(err.message).toContain('next tuesday');
    expect(errorOf(() => checkSchedule({ ...base, end: '2025-06-31T00:00:00Z' })).code).toBe(
      'SCHEDULE_INVALID_WINDOW',
    );
  });

  it('rejects an end that is not after the start', () => {
    expect(errorOf(() => checkSchedule({ ...base, end: base.start })).code).toBe('SCHEDULE_INVALID_WINDOW');
    const err = errorOf(() => checkSchedule({ ...base, end: '2025-06-10T21:00:00Z' }));
    expect(err.message).toMatch(/must be after/);
  });

  it('rejects a start in the past but accepts one starting now', () => {
    const err = errorOf(() => checkSchedule({ ...base, start: '2025-05-31T23:59:59Z' }));
    expect(err.code).toBe('SCHEDULE_INVALID_WINDOW');
    expect(err.message).toMatch(/in the past/);
    expect(() => checkSchedule({ ...base, start: NOW })).not.toThrow();
  });

  it('blocks a NORMAL change inside a freeze window, naming the window and its dates', () => {
    const inside = { ...base, start: '2025-06-27T23:00:00Z', end: '2025-06-28T01:00:00Z' };
    for (const type of ['NORMAL', 'STANDARD'] as const) {
      const err = errorOf(() => checkSchedule({ ...inside, type }));
      expect(err.code).toBe('SCHEDULE_FREEZE_WINDOW');
      expect(err.message).toContain('Quarter close');
      expect(err.message).toContain(freeze.startsAt);
      expect(err.message).toContain(freeze.endsAt);
      expect(err.extensions).toMatchObject({ freezeWindowId: 'fw-1' });
    }
  });

  it('lets an EMERGENCY change through a freeze window and reports the override', () => {
    const r = checkSchedule({
      ...base,
      type: 'EMERGENCY',
      start: '2025-06-29T00:00:00Z',
      end: '2025-06-29T01:00:00Z',
    });
    expect(r.freezeWindowsOverridden).toEqual(['fw-1']);
  });

  it('allows a window that ends exactly when the freeze starts', () => {
    expect(() =>
      checkSchedule({ ...base, start: '2025-06-27T23:00:00Z', end: freeze.startsAt }),
    ).not.toThrow();
    expect(() => checkSchedule({ ...base, start: freeze.endsAt, end: '2025-07-02T01:00:00Z' })).not.toThrow();
  });

  it('reports overlapping scheduled changes that share a service, listing the shared services', () => {
    const scheduled = [
      {
        id: 'CHG-1',
        affectedServices: ['db', 'cache', 'api'],
        plannedStart: '2025-06-10T22:30:00Z',
        plannedEnd: '2025-06-11T00:00:00Z',
      },
      {
        id: 'CHG-2',
        affectedServices: ['web'],
        plannedStart: '2025-06-10T22:00:00Z',
        plannedEnd: '2025-06-10T23:00:00Z',
      },
      {
        id: 'CHG-3',
        affectedServices: ['db'],
        plannedStart: '2025-06-10T23:00:00Z',
        plannedEnd: '2025-06-11T00:00:00Z',
      },
      {
        id: 'CHG-4',
        affectedServices: ['api'],
        plannedStart: '2025-06-10T21:00:00Z',
        plannedEnd: '2025-06-10T22:00:01Z',
      },
    ];
    const r = checkSchedule({ ...base, scheduled });
    expect(r.conflicts).toEqual([
      {
        changeId: 'CHG-1',
        services: ['db', 'api'],
        plannedStart: '2025-06-10T22:30:00Z',
        plannedEnd: '2025-06-11T00:00:00Z',
      },
      {
        changeId: 'CHG-4',
        services: ['api'],
        plannedStart: '2025-06-10T21:00:00Z',
        plannedEnd: '2025-06-10T22:00:01Z',
      },
    ]);
  });

  it('does not report a change as conflicting with itself when rescheduling', () => {
    const scheduled = [
      { id: 'CHG-1', affectedServices: ['db'], plannedStart: base.start, plannedEnd: base.end },
    ];
    expect(checkSchedule({ ...base, scheduled, changeId: 'CHG-1' }).conflicts).toEqual([]);
    expect(checkSchedule({ ...base, scheduled }).conflicts).toHaveLength(1);
  });
});
