import { AppError } from '../errors';
import type { ChangeType, FreezeWindowRecord } from './types';

export interface ScheduledChange {
  id: string;
  affectedServices: string[];
  plannedStart: string;
  plannedEnd: string;
}

export interface ScheduleInput {
  type: ChangeType;
  start: string;
  end: string;
  now: string;
  freezeWindows: Pick<FreezeWindowRecord, 'id' | 'name' | 'startsAt' | 'endsAt'>[];
  services: string[];
  /** Other changes holding a planned window. */
  scheduled: ScheduledChange[];
  /** The change being scheduled, so that rescheduling does not conflict with itself. */
  changeId?: string;
}

export interface ScheduleConflict {
  changeId: string;
  services: string[];
  plannedStart: string;
  plannedEnd: string;
}

export interface ScheduleCheck {
  conflicts: ScheduleConflict[];
  /** Freeze windows an EMERGENCY change is allowed to break; they belong in the audit trail. */
  freezeWindowsOverridden: string[];
}

/**
 * An ISO-8601 date-time with an explicit offset (`Z` or `±hh:mm`), so the instant never depends
 * on the server's time zone. Day-of-month is checked by hand: `Date.parse` rolls 02-30 over.
 */
const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch, or null when `value` is not a valid ISO-8601 date-time. */
export function parseInstant(value: string): number | null {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return null;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

/** Half-open intervals [aStart, aEnd) and [bStart, bEnd): touching windows do not overlap. */
export function overlaps(aStart: string, aEnd: string, bStart: string, bEnd: string): boolean {
  return Date.parse(aStart) < Date.parse(bEnd) && Date.parse(bStart) < Date.parse(aEnd);
}

function invalid(message: string, details: Record<string, unknown>): AppError {
  return new AppError('SCHEDULE_INVALID_WINDOW', message, details);
}

/** Validates a planned window and reports conflicts; throws when the window cannot be used. */
export function checkSchedule(input: ScheduleInput): ScheduleCheck {
  const { start, end, now } = input;
  const startMs = parseInstant(start);
  const endMs = parseInstant(end);
  if (startMs === null || endMs === null) {
    const field = startMs === null ? 'start' : 'end';
    const value = startMs === null ? start : end;
    throw invalid(`Planned ${field} "${value}" is not an ISO-8601 date-time with a time zone`, { field });
  }
  if (endMs <= startMs) {
    throw invalid(`Planned end ${end} must be after planned start ${start}`, { start, end });
  }
  if (startMs < Date.parse(now)) {
    throw invalid(`Planned start ${start} is in the past (now ${now})`, { start, now });
  }

  const freezeWindowsOverridden: string[] = [];
  const frozen = input.freezeWindows
    .filter((w) => overlaps(start, end, w.startsAt, w.endsAt))
    .sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
  for (const w of frozen) {
    if (input.type !== 'EMERGENCY') {
      throw new AppError(
        'SCHEDULE_FREEZE_WINDOW',
        `Planned window overlaps freeze window "${w.name}" (${w.startsAt} to ${w.endsAt}); ` +
          'only EMERGENCY changes may be scheduled in a freeze window',
        { freezeWindowId: w.id },
      );
    }
    freezeWindowsOverridden.push(w.id);
  }

  return { conflicts: scheduleConflicts(input), freezeWindowsOverridden };
}

/** Other changes whose windows overlap [start, end) on a service this change affects. */
export function scheduleConflicts(
  input: Pick<ScheduleInput, 'start' | 'end' | 'services' | 'scheduled' | 'changeId'>,
): ScheduleConflict[] {
  const { start, end } = input;
  const mine = new Set(input.services);
  const conflicts: ScheduleConflict[] = [];
  for (const other of input.scheduled) {
    if (other.id === input.changeId) continue;
    if (!overlaps(start, end, other.plannedStart, other.plannedEnd)) continue;
    const shared = [...new Set(other.affectedServices.filter((s) => mine.has(s)))];
    if (shared.length === 0) continue;
    conflicts.push({
      changeId: other.id,
      services: shared,
      plannedStart: other.plannedStart,
      plannedEnd: other.plannedEnd,
    });
  }
  return conflicts;
}
