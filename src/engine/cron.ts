import {
  CRON_FIELDS,
  CRON_PART,
  type CronFieldSpec,
  cronFieldValue,
  cronProblem,
} from '../domain/workflowSteps';

/**
 * Cron schedules for workflow triggers, in UTC, with the grammar `cronProblem` accepts (the
 * validator is run first, so what is saved is exactly what is matched). Pure: the caller passes
 * the time.
 *
 * Semantics, as Vixie cron (and cronie) run them:
 * - `*` is the whole field, `a` one value, `a-b` a range, `/n` steps through `*` or a range from
 *   its start; `a/n` (accepted by the validator) means `a-<max>/n`, as in cronie.
 * - Day of week 0 and 7 are both Sunday.
 * - Day of month and day of week: a field that begins with `*` (`*`, `*\/2`) leaves the day
 *   unrestricted. When both are restricted, a day matches if EITHER does (`0 0 1 * MON` is the
 *   1st of each month and every Monday); otherwise both must match, which with a `*` means the
 *   other field alone decides (`0 0 *\/2 * MON` is Mondays on odd dates).
 */

export interface CronSchedule {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  daysOfMonth: ReadonlySet<number>;
  months: ReadonlySet<number>;
  /** 0-6, Sunday = 0 (a 7 in the expression is stored as 0). */
  daysOfWeek: ReadonlySet<number>;
  /** Day of month begins with `*`. */
  domStar: boolean;
  /** Day of week begins with `*`. */
  dowStar: boolean;
}

/** How far ahead `nextCronMatch` looks: a year, plus the leap day. */
export const CRON_SEARCH_HORIZON_DAYS = 366;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

function expandField(spec: CronFieldSpec, field: string): Set<number> {
  const values = new Set<number>();
  for (const part of field.split(',')) {
    // cronProblem has accepted the expression, so every part matches and every value is in range.
    const [, range = '*', stepText] = CRON_PART.exec(part) ?? [];
    const step = stepText === undefined ? 1 : Number(stepText);
    let from: number = spec.min;
    let to: number = spec.max;
    if (range !== '*') {
      const [a = '', b] = range.split('-');
      from = cronFieldValue(spec, a);
      to = b !== undefined ? cronFieldValue(spec, b) : stepText !== undefined ? spec.max : from;
    }
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

/**
 * Parse a 5-field expression once, for callers that test many minutes (a scheduled handler
 * checking every workflow). Throws a RangeError with cronProblem's message when it is invalid:
 * definitions are validated when saved, so an invalid one here is a bug, not user input.
 */
export function parseCron(expression: string): CronSchedule {
  const problem = cronProblem(expression);
  if (problem !== null) throw new RangeError(`invalid cron expression: ${problem}`);
  const [minute = '', hour = '', dom = '', month = '', dow = ''] = expression.trim().split(/\s+/);
  const [minuteSpec, hourSpec, domSpec, monthSpec, dowSpec] = CRON_FIELDS;
  const daysOfWeek = expandField(dowSpec, dow);
  if (daysOfWeek.delete(7)) daysOfWeek.add(0);
  return {
    minutes: expandField(minuteSpec, minute),
    hours: expandField(hourSpec, hour),
    daysOfMonth: expandField(domSpec, dom),
    months: expandField(monthSpec, month),
    daysOfWeek,
    domStar: dom.startsWith('*'),
    dowStar: dow.startsWith('*'),
  };
}

function toSchedule(expression: string | CronSchedule): CronSchedule {
  return typeof expression === 'string' ? parseCron(expression) : expression;
}

function checkDate(d: Date, name: string): number {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new RangeError(`${name} is not a valid date`);
  return t;
}

/** Whether the calendar day of `t` (UTC) is one the schedule runs on. */
function dayMatches(s: CronSchedule, t: Date): boolean {
  if (!s.months.has(t.getUTCMonth() + 1)) return false;
  const dom = s.daysOfMonth.has(t.getUTCDate());
  const dow = s.daysOfWeek.has(t.getUTCDay());
  return s.domStar || s.dowStar ? dom && dow : dom || dow;
}

/** Does the expression match the minute of `at` (UTC; seconds and milliseconds are ignored)? */
export function cronMatches(expression: string | CronSchedule, at: Date): boolean {
  const s = toSchedule(expression);
  checkDate(at, 'at');
  return s.minutes.has(at.getUTCMinutes()) && s.hours.has(at.getUTCHours()) && dayMatches(s, at);
}

/**
 * The first minute strictly after `after` that the expression matches, looking at most
 * CRON_SEARCH_HORIZON_DAYS ahead; null when none does in that window (e.g. `0 0 30 2 *` never
 * runs, and `0 0 29 2 *` only when a leap day falls within the next year).
 */
export function nextCronMatch(expression: string | CronSchedule, after: Date): Date | null {
  const s = toSchedule(expression);
  const start = Math.floor(checkDate(after, 'after') / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  const end = start + CRON_SEARCH_HORIZON_DAYS * DAY_MS;
  const hours = [...s.hours].sort((a, b) => a - b);
  const minutes = [...s.minutes].sort((a, b) => a - b);
  // Walk whole days (at most 367 of them) and look for a time only on the days that match.
  for (let day = Math.floor(start / DAY_MS) * DAY_MS; day <= end; day += DAY_MS) {
    if (!dayMatches(s, new Date(day))) continue;
    for (const h of hours) {
      for (const m of minutes) {
        const t = day + h * 3_600_000 + m * MINUTE_MS;
        if (t > end) return null;
        if (t >= start) return new Date(t);
      }
    }
  }
  return null;
}
