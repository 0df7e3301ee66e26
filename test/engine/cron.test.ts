import { describe, expect, it } from 'vitest';
import { cronProblem } from '../../src/domain/workflowSteps';
import { CRON_SEARCH_HORIZON_DAYS, cronMatches, nextCronMatch, parseCron } from '../../src/engine/cron';
import { Prng } from '../helpers/prng';

/** `utc('2026-01-05 10:30')`: a minute in UTC. */
const utc = (s: string) => new Date(`${s.replace(' ', 'T')}:00Z`);
const iso = (d: Date | null) => (d === null ? null : d.toISOString().slice(0, 16).replace('T', ' '));

/** The minutes of one UTC day (`2026-01-05`) that the expression matches, as `HH:MM`. */
function matchingTimes(expression: string, day: string): string[] {
  const schedule = parseCron(expression);
  const out: string[] = [];
  for (let m = 0; m < 1440; m++) {
    const at = new Date(utc(`${day} 00:00`).getTime() + m * 60_000);
    if (cronMatches(schedule, at)) out.push(at.toISOString().slice(11, 16));
  }
  return out;
}

/** The days of a month (`2026-01`) whose midnight (UTC) the expression matches. */
function matchingDays(expression: string, month: string): number[] {
  const schedule = parseCron(expression);
  const out: number[] = [];
  const [year, mon] = month.split('-').map(Number) as [number, number];
  for (let d = 1; d <= 31; d++) {
    const at = new Date(Date.UTC(year, mon - 1, d));
    if (at.getUTCMonth() === mon - 1 && cronMatches(schedule, at)) out.push(d);
  }
  return out;
}

describe('cronMatches: minutes and hours', () => {
  it('matches every minute with * * * * *, ignoring seconds', () => {
    expect(cronMatches('* * * * *', utc('2026-01-05 10:30'))).toBe(true);
    expect(cronMatches('* * * * *', new Date(Date.UTC(2026, 0, 5, 23, 59, 59, 999)))).toBe(true);
    expect(cronMatches('30 10 * * *', new Date(Date.UTC(2026, 0, 5, 10, 30, 59, 999)))).toBe(true);
    expect(cronMatches('30 10 * * *', new Date(Date.UTC(2026, 0, 5, 10, 31, 0, 0)))).toBe(false);
  });

  it('matches single values', () => {
    expect(cronMatches('0 3 * * *', utc('2026-01-05 03:00'))).toBe(true);
    expect(cronMatches('0 3 * * *', utc('2026-01-05 03:01'))).toBe(false);
    expect(cronMatches('0 3 * * *', utc('2026-01-05 15:00'))).toBe(false);
    expect(matchingTimes('0 0 * * *', '2026-01-05')).toEqual(['00:00']);
    expect(matchingTimes('59 23 * * *', '2026-01-05')).toEqual(['23:59']);
  });

  it('matches */n steps from the start of the field', () => {
    expect(matchingTimes('*/15 0 * * *', '2026-01-05')).toEqual(['00:00', '00:15', '00:30', '00:45']);
    expect(matchingTimes('*/25 0 * * *', '2026-01-05')).toEqual(['00:00', '00:25', '00:50']);
    expect(matchingTimes('0 */6 * * *', '2026-01-05')).toEqual(['00:00', '06:00', '12:00', '18:00']);
    expect(matchingTimes('0 */1 * * *', '2026-01-05')).toHaveLength(24);
    expect(matchingTimes('*/60 0 * * *', '2026-01-05')).toEqual(['00:00']);
  });

  it('matches ranges, inclusive at both ends', () => {
    expect(matchingTimes('0 9-17 * * *', '2026-01-05')).toEqual([
      '09:00',
      '10:00',
      '11:00',
      '12:00',
      '13:00',
      '14:00',
      '15:00',
      '16:00',
      '17:00',
    ]);
    expect(matchingTimes('58-59 23 * * *', '2026-01-05')).toEqual(['23:58', '23:59']);
    expect(matchingTimes('5-5 1 * * *', '2026-01-05')).toEqual(['01:05']);
  });

  it('matches ranges with steps, starting at the range start', () => {
    expect(matchingTimes('10-30/10 2 * * *', '2026-01-05')).toEqual(['02:10', '02:20', '02:30']);
    expect(matchingTimes('7-20/5 2 * * *', '2026-01-05')).toEqual(['02:07', '02:12', '02:17']);
    expect(matchingTimes('0 1-23/4 * * *', '2026-01-05')).toEqual([
      '01:00',
      '05:00',
      '09:00',
      '13:00',
      '17:00',
      '21:00',
    ]);
  });

  it('reads a/n as a through the end of the field, every n', () => {
    expect(matchingTimes('50/3 4 * * *', '2026-01-05')).toEqual(['04:50', '04:53', '04:56', '04:59']);
    expect(matchingTimes('0 20/2 * * *', '2026-01-05')).toEqual(['20:00', '22:00']);
  });

  it('matches lists, mixing values, ranges and steps', () => {
    expect(matchingTimes('0,30 12 * * *', '2026-01-05')).toEqual(['12:00', '12:30']);
    expect(matchingTimes('1,2,50-52,*/20 6 * * *', '2026-01-05')).toEqual([
      '06:00',
      '06:01',
      '06:02',
      '06:20',
      '06:40',
      '06:50',
      '06:51',
      '06:52',
    ]);
    // Overlapping list members count once.
    expect(matchingTimes('0,0,0-1 7 * * *', '2026-01-05')).toEqual(['07:00', '07:01']);
  });

  it('tolerates surrounding and repeated whitespace, as the validator does', () => {
    expect(cronMatches('  0   3 *\t* *  ', utc('2026-01-05 03:00'))).toBe(true);
  });
});

describe('cronMatches: days, months and weekdays', () => {
  it('matches a day of month and a month', () => {
    expect(cronMatches('0 0 15 6 *', utc('2026-06-15 00:00'))).toBe(true);
    expect(cronMatches('0 0 15 6 *', utc('2026-07-15 00:00'))).toBe(false);
    expect(cronMatches('0 0 15 6 *', utc('2026-06-16 00:00'))).toBe(false);
    expect(matchingDays('0 0 1,15 * *', '2026-02')).toEqual([1, 15]);
  });

  it('matches month names in any case, alone, in ranges and in lists', () => {
    expect(cronMatches('0 0 1 JAN *', utc('2026-01-01 00:00'))).toBe(true);
    expect(cronMatches('0 0 1 jan *', utc('2026-01-01 00:00'))).toBe(true);
    expect(cronMatches('0 0 1 DEC *', utc('2026-12-01 00:00'))).toBe(true);
    expect(cronMatches('0 0 1 DEC *', utc('2026-11-01 00:00'))).toBe(false);
    const quarterly = parseCron('0 0 1 JAN,APR,JUL,OCT *');
    expect([...quarterly.months].sort((a, b) => a - b)).toEqual([1, 4, 7, 10]);
    expect([...parseCron('0 0 1 MAR-MAY *').months].sort((a, b) => a - b)).toEqual([3, 4, 5]);
    expect([...parseCron('0 0 1 */3 *').months].sort((a, b) => a - b)).toEqual([1, 4, 7, 10]);
    expect([...parseCron('0 0 1 FEB-DEC/5 *').months].sort((a, b) => a - b)).toEqual([2, 7, 12]);
  });

  it('matches weekday names and numbers, MON-FRI being the working week', () => {
    // 2026-01-04 is a Sunday, 2026-01-05 a Monday, 2026-01-10 a Saturday.
    expect(matchingDays('0 0 * * MON-FRI', '2026-01').slice(0, 5)).toEqual([1, 2, 5, 6, 7]);
    expect(cronMatches('0 3 * * MON-FRI', utc('2026-01-05 03:00'))).toBe(true);
    expect(cronMatches('0 3 * * MON-FRI', utc('2026-01-10 03:00'))).toBe(false);
    expect(cronMatches('0 3 * * mon-fri', utc('2026-01-09 03:00'))).toBe(true);
    expect(cronMatches('0 3 * * 1-5', utc('2026-01-04 03:00'))).toBe(false);
    expect(matchingDays('0 0 * * SAT,SUN', '2026-01')).toEqual([3, 4, 10, 11, 17, 18, 24, 25, 31]);
    expect(matchingDays('0 0 * * TUE', '2026-01')).toEqual([6, 13, 20, 27]);
  });

  it('treats Sunday as both 0 and 7', () => {
    const sundays = [4, 11, 18, 25];
    expect(matchingDays('0 0 * * 0', '2026-01')).toEqual(sundays);
    expect(matchingDays('0 0 * * 7', '2026-01')).toEqual(sundays);
    expect(matchingDays('0 0 * * SUN', '2026-01')).toEqual(sundays);
    // A range ending at 7 reaches Sunday; FRI-7 is the long weekend.
    expect(matchingDays('0 0 * * 5-7', '2026-01')).toEqual([
      2, 3, 4, 9, 10, 11, 16, 17, 18, 23, 24, 25, 30, 31,
    ]);
    expect(matchingDays('0 0 * * 6-7', '2026-01')).toEqual(matchingDays('0 0 * * SAT,SUN', '2026-01'));
    // 1-7/2: Monday, Wednesday, Friday and (7) Sunday.
    expect(matchingDays('0 0 * * 1-7/2', '2026-01').slice(0, 6)).toEqual([2, 4, 5, 7, 9, 11]);
    expect([...parseCron('0 0 * * 0,7').daysOfWeek]).toEqual([0]);
  });

  it('ORs day of month and day of week when both are restricted (Vixie cron)', () => {
    // The 13th of each month, and every Friday.
    const expr = '0 0 13 * FRI';
    expect(matchingDays(expr, '2026-02')).toEqual([6, 13, 20, 27]); // the 13th is itself a Friday
    expect(matchingDays(expr, '2026-01')).toEqual([2, 9, 13, 16, 23, 30]);
    expect(cronMatches(expr, utc('2026-01-13 00:00'))).toBe(true); // a Tuesday, but the 13th
    expect(cronMatches(expr, utc('2026-01-16 00:00'))).toBe(true); // a Friday, not the 13th
    expect(cronMatches(expr, utc('2026-01-14 00:00'))).toBe(false);
    // The 1st and the 15th, and every Monday.
    expect(matchingDays('0 0 1,15 * 1', '2026-06')).toEqual([1, 8, 15, 22, 29]);
    // A restricted field that happens to cover everything still restricts: 1-31 OR Monday is every day.
    expect(matchingDays('0 0 1-31 * MON', '2026-01')).toHaveLength(31);
  });

  it('ORs only within the matching months', () => {
    expect(matchingDays('0 0 1 FEB MON', '2026-01')).toEqual([]);
    expect(matchingDays('0 0 1 FEB MON', '2026-02')).toEqual([1, 2, 9, 16, 23]);
  });

  it('ANDs when either day field is *, so the other one alone decides', () => {
    expect(matchingDays('0 0 * * MON', '2026-01')).toEqual([5, 12, 19, 26]);
    expect(matchingDays('0 0 13 * *', '2026-01')).toEqual([13]);
    expect(matchingDays('0 0 * * *', '2026-02')).toHaveLength(28);
  });

  it('treats a day field that begins with * (such as */2) as unrestricted, as Vixie cron does', () => {
    // Odd dates AND Mondays: 2026-01-05, -19 (Mondays on odd dates); not -12, -26.
    expect(matchingDays('0 0 */2 * MON', '2026-01')).toEqual([5, 19]);
    // Weekday step from *: Sunday, Tuesday, Thursday, Saturday — AND the 1st-7th.
    expect(matchingDays('0 0 1-7 * */2', '2026-01')).toEqual([1, 3, 4, 6]);
  });

  it('handles month ends: the 31st only in long months, 30 and 31 never in February', () => {
    expect(matchingDays('0 0 31 * *', '2026-01')).toEqual([31]);
    expect(matchingDays('0 0 31 * *', '2026-04')).toEqual([]);
    expect(matchingDays('0 0 30,31 * *', '2026-02')).toEqual([]);
    expect(matchingDays('0 0 28-31 * *', '2026-02')).toEqual([28]);
    expect(matchingDays('0 0 28-31 * *', '2028-02')).toEqual([28, 29]);
    expect(matchingDays('0 0 28-31 * *', '2026-04')).toEqual([28, 29, 30]);
  });

  it('matches the leap day only in leap years', () => {
    expect(cronMatches('0 0 29 2 *', utc('2028-02-29 00:00'))).toBe(true);
    expect(cronMatches('0 0 29 FEB *', utc('2024-02-29 00:00'))).toBe(true);
    expect(matchingDays('0 0 29 2 *', '2027-02')).toEqual([]);
  });

  it('uses UTC, whatever the host time zone', () => {
    // 23:30 UTC on a Sunday is Monday in UTC+1 zones: still Sunday here.
    expect(cronMatches('30 23 * * SUN', utc('2026-01-04 23:30'))).toBe(true);
    expect(cronMatches('30 23 * * MON', utc('2026-01-04 23:30'))).toBe(false);
  });
});

describe('cronMatches: invalid input', () => {
  it('throws a RangeError with the validator message for an invalid expression', () => {
    for (const bad of ['', '* * * *', '0 0 3 * * *', '61 * * * *', '0 24 * * *', '0 0 0 * *', '0 0 * 13 *']) {
      const problem = cronProblem(bad);
      expect(problem, bad).not.toBeNull();
      expect(() => cronMatches(bad, utc('2026-01-05 00:00')), bad).toThrow(RangeError);
      expect(() => cronMatches(bad, utc('2026-01-05 00:00')), bad).toThrow(problem as string);
      expect(() => nextCronMatch(bad, utc('2026-01-05 00:00')), bad).toThrow(RangeError);
    }
    expect(() => cronMatches('0 0 * * 8', utc('2026-01-05 00:00'))).toThrow(/day of week "8"/);
    expect(() => cronMatches('0 0 * * FRI-MON', utc('2026-01-05 00:00'))).toThrow(RangeError);
    expect(() => cronMatches('*/0 * * * *', utc('2026-01-05 00:00'))).toThrow(RangeError);
  });

  it('throws on an invalid date', () => {
    expect(() => cronMatches('* * * * *', new Date(Number.NaN))).toThrow(RangeError);
    expect(() => nextCronMatch('* * * * *', new Date(Number.NaN))).toThrow(RangeError);
  });

  it('accepts everything cronProblem accepts (the validator and the matcher share one grammar)', () => {
    for (const ok of ['0 3 * * MON-FRI', '*/5 1-23/2 1,15 * *', '0 0 1 jan-Mar/2 sun,7']) {
      expect(cronProblem(ok), ok).toBeNull();
      expect(() => parseCron(ok), ok).not.toThrow();
    }
  });
});

describe('nextCronMatch', () => {
  it('gives the next minute for * * * * *, strictly after', () => {
    expect(iso(nextCronMatch('* * * * *', utc('2026-01-05 10:30')))).toBe('2026-01-05 10:31');
    // Seconds into a minute: the next whole minute, not the current one.
    expect(iso(nextCronMatch('* * * * *', new Date(Date.UTC(2026, 0, 5, 10, 30, 45))))).toBe(
      '2026-01-05 10:31',
    );
  });

  it('never returns the given minute itself, even when it matches', () => {
    expect(iso(nextCronMatch('0 3 * * *', utc('2026-01-05 03:00')))).toBe('2026-01-06 03:00');
    expect(iso(nextCronMatch('0 3 * * *', utc('2026-01-05 02:59')))).toBe('2026-01-05 03:00');
  });

  it('returns whole minutes', () => {
    const next = nextCronMatch('*/7 * * * *', new Date(Date.UTC(2026, 0, 5, 10, 30, 12, 345)));
    expect(next?.getUTCSeconds()).toBe(0);
    expect(next?.getUTCMilliseconds()).toBe(0);
    expect(iso(next)).toBe('2026-01-05 10:35');
  });

  it('steps to the next hour and the next day', () => {
    expect(iso(nextCronMatch('15 * * * *', utc('2026-01-05 10:20')))).toBe('2026-01-05 11:15');
    expect(iso(nextCronMatch('0 9-17 * * *', utc('2026-01-05 17:00')))).toBe('2026-01-06 09:00');
    expect(iso(nextCronMatch('0,30 9 * * *', utc('2026-01-05 09:00')))).toBe('2026-01-05 09:30');
  });

  it('crosses month and year boundaries', () => {
    expect(iso(nextCronMatch('0 0 1 * *', utc('2026-01-31 23:59')))).toBe('2026-02-01 00:00');
    expect(iso(nextCronMatch('0 0 31 * *', utc('2026-01-31 00:00')))).toBe('2026-03-31 00:00');
    expect(iso(nextCronMatch('0 0 31 * *', utc('2026-04-01 00:00')))).toBe('2026-05-31 00:00');
    expect(iso(nextCronMatch('0 0 1 1 *', utc('2026-01-01 00:00')))).toBe('2027-01-01 00:00');
    expect(iso(nextCronMatch('59 23 31 12 *', utc('2025-12-31 23:58')))).toBe('2025-12-31 23:59');
    expect(iso(nextCronMatch('* * * * *', utc('2025-12-31 23:59')))).toBe('2026-01-01 00:00');
  });

  it('follows weekdays across a weekend', () => {
    // 2026-01-09 is a Friday.
    expect(iso(nextCronMatch('0 3 * * MON-FRI', utc('2026-01-09 03:00')))).toBe('2026-01-12 03:00');
    expect(iso(nextCronMatch('0 0 * * 7', utc('2026-01-05 00:00')))).toBe('2026-01-11 00:00');
    expect(iso(nextCronMatch('0 0 * * 0', utc('2026-01-05 00:00')))).toBe('2026-01-11 00:00');
  });

  it('applies the day-of-month OR day-of-week rule', () => {
    // After Friday 2026-01-09: the 13th (a Tuesday) comes before Friday the 16th.
    expect(iso(nextCronMatch('0 0 13 * FRI', utc('2026-01-09 00:00')))).toBe('2026-01-13 00:00');
    expect(iso(nextCronMatch('0 0 13 * FRI', utc('2026-01-13 00:00')))).toBe('2026-01-16 00:00');
    // With */2 the fields AND: the next Monday on an odd date.
    expect(iso(nextCronMatch('0 0 */2 * MON', utc('2026-01-05 00:00')))).toBe('2026-01-19 00:00');
  });

  it('finds the next leap day when it is within a year', () => {
    expect(iso(nextCronMatch('0 0 29 2 *', utc('2027-06-01 00:00')))).toBe('2028-02-29 00:00');
    expect(iso(nextCronMatch('0 0 29 2 *', utc('2028-02-28 12:00')))).toBe('2028-02-29 00:00');
    expect(iso(nextCronMatch('30 6 29 FEB *', utc('2023-03-01 00:00')))).toBe('2024-02-29 06:30');
  });

  it('gives null when the leap day is beyond the one-year horizon', () => {
    expect(nextCronMatch('0 0 29 2 *', utc('2026-01-05 00:00'))).toBeNull();
    expect(nextCronMatch('0 0 29 2 *', utc('2028-02-29 00:00'))).toBeNull();
    // 2100 is not a leap year (divisible by 100, not by 400).
    expect(nextCronMatch('0 0 29 2 *', utc('2099-06-01 00:00'))).toBeNull();
    expect(cronMatches('0 0 29 2 *', utc('2100-03-01 00:00'))).toBe(false);
  });

  it('gives null for dates that never come', () => {
    expect(nextCronMatch('0 0 30 2 *', utc('2026-01-05 00:00'))).toBeNull();
    expect(nextCronMatch('0 0 31 4,6,9,11 *', utc('2026-01-05 00:00'))).toBeNull();
  });

  it('looks exactly one horizon ahead and no further', () => {
    expect(CRON_SEARCH_HORIZON_DAYS).toBe(366);
    // A yearly schedule just missed: its next run is 365 days on, inside the horizon.
    expect(iso(nextCronMatch('0 12 5 1 *', utc('2026-01-05 12:00')))).toBe('2027-01-05 12:00');
    // Across a leap year, the same date a year later is 366 days on: still inside.
    expect(iso(nextCronMatch('0 12 1 3 *', utc('2027-03-01 12:00')))).toBe('2028-03-01 12:00');
  });

  it('accepts a parsed schedule as well as a string', () => {
    const schedule = parseCron('0 3 * * MON-FRI');
    expect(nextCronMatch(schedule, utc('2026-01-09 03:00'))).toEqual(
      nextCronMatch('0 3 * * MON-FRI', utc('2026-01-09 03:00')),
    );
  });

  it('agrees with a minute-by-minute scan over cronMatches (seeded generated cases)', () => {
    const prng = new Prng(20260105);
    const pick = <T>(xs: readonly T[]): T => xs[prng.int(0, xs.length - 1)] as T;
    const window = 3 * 1440; // minutes
    for (let i = 0; i < 40; i++) {
      const expression = [
        pick(['*', '*/15', '5', '0,30', '10-20/5', '59']),
        pick(['*', '3', '*/6', '9-17', '22-23', '0']),
        pick(['*', '*', '1', '15-20', '*/2', '31', '29']),
        pick(['*', '*', '*', 'JAN-MAR', '2', 'DEC']),
        pick(['*', '*', 'MON-FRI', '0', '7', 'SAT,SUN', '3']),
      ].join(' ');
      const schedule = parseCron(expression);
      const start =
        utc('2026-01-01 00:00').getTime() + prng.int(0, 500 * 1440) * 60_000 + prng.int(0, 59_999);
      let expected: number | null = null;
      for (let m = 1; m <= window; m++) {
        const t = Math.floor(start / 60_000) * 60_000 + m * 60_000;
        if (cronMatches(schedule, new Date(t))) {
          expected = t;
          break;
        }
      }
      const next = nextCronMatch(schedule, new Date(start));
      if (expected !== null) expect(next?.getTime(), `${expression} after ${start}`).toBe(expected);
      else if (next !== null) {
        expect(next.getTime() - start, expression).toBeGreaterThan(window * 60_000 - 60_000);
        expect(cronMatches(schedule, next), expression).toBe(true);
      }
    }
  });
});
