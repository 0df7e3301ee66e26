import type { ErrorClass } from './errorClass';

/**
 * Retry timing for `http-request` steps. Pure: the caller passes `now` and `random`, so the
 * same inputs always give the same delay and tests need no fake timers.
 *
 * Attempt numbering: `attempt` is the number of attempts already made (1 = the first try has
 * failed). The same number goes to `shouldRetry` (may we try again?) and to `retryDelayMs` /
 * `nextDelayMs` (how long to wait first), so attempt 1 yields the delay before the first retry.
 */

export interface RetryPolicy {
  /** Total tries including the first; 1 means no retries. */
  maxAttempts: number;
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = { maxAttempts: 3, baseMs: 1000, capMs: 30_000 };

/** Upper bound on a parsed Retry-After, so a hostile or broken upstream cannot park a step for days. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * Exponential backoff with full jitter: `random() * min(cap, base * 2^(attempt-1))`, floored to
 * whole ms. Full jitter spreads retries of many executions hitting one host instead of letting
 * them retry in lockstep. An attempt below 1 (nothing has failed yet) gives 0.
 */
export function retryDelayMs(args: {
  attempt: number;
  baseMs?: number;
  capMs?: number;
  random: () => number;
}): number {
  const { attempt, baseMs = DEFAULT_RETRY_POLICY.baseMs, capMs = DEFAULT_RETRY_POLICY.capMs } = args;
  if (!Number.isFinite(attempt) || attempt < 1) return 0;
  const base = Math.max(0, baseMs);
  const cap = Math.max(0, capMs);
  // 2^(attempt-1) overflows to Infinity for huge attempts; min() then yields the cap.
  const ceiling = Math.min(cap, base * 2 ** (Math.floor(attempt) - 1));
  return Math.floor(clampUnit(args.random()) * ceiling);
}

/** `random()` is meant to be in [0, 1); anything else (NaN, a bad stub) is clamped rather than trusted. */
function clampUnit(x: number): number {
  if (!Number.isFinite(x) || x < 0) return 0;
  return x > 1 ? 1 : x;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH_RE = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
// RFC 9110 §5.6.7: IMF-fixdate, plus the obsolete RFC 850 and asctime forms recipients must accept.
const IMF_FIXDATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH_RE}) (\\d{4}) ${TIME} GMT$`,
);
const DAY_NAMES = 'Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday';
const RFC850 = new RegExp(`^(?:${DAY_NAMES}), (\\d{2})-(${MONTH_RE})-(\\d{2}) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH_RE}) ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * A `Retry-After` header as a delay in ms from `now`: delta-seconds or an HTTP-date. Null when
 * absent or malformed (the caller then falls back to backoff); a date in the past gives 0; the
 * result is capped at MAX_RETRY_AFTER_MS. Dates are matched strictly, never with `Date.parse`,
 * which accepts things like "1.5" as a date.
 */
export function parseRetryAfter(header: string | null, now: number): number | null {
  if (header === null) return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Math.min(Number(value) * 1000, MAX_RETRY_AFTER_MS);
  const at = parseHttpDate(value, now);
  if (at === null) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

function parseHttpDate(value: string, now: number): number | null {
  let m = IMF_FIXDATE.exec(value);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC850.exec(value);
  if (m) {
    // Two-digit years: the most recent year with those digits that is not over 50 years ahead.
    const nowYear = new Date(now).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utc(year, m[2], Number(m[1]), m[4], m[5], m[6]);
  }
  m = ASCTIME.exec(value);
  if (m) return utc(Number(m[6]), m[1], Number(m[2]?.trim()), m[3], m[4], m[5]);
  return null;
}

function utc(year: number, mon: string | undefined, day: number, h?: string, mi?: string, s?: string) {
  const month = MONTHS.indexOf(mon ?? '');
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  if (month < 0 || hour > 23 || minute > 59 || second > 60) return null;
  const ms = Date.UTC(year, month, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March; such a date is malformed, not a valid instant.
  return new Date(ms).getUTCDate() === day ? ms : null;
}

/**
 * The delay before the next try. When the upstream sent `Retry-After` (already parsed, in ms),
 * it replaces the jittered backoff: the server knows better when it can take the request, and
 * jitter would only make us early or late. It is still clamped to `policy.capMs`, because the
 * cap is the workflow author's promise about how long a step may sit between tries; if the
 * server asked for longer, the retry may earn another 429, which costs one attempt and keeps
 * the total bounded by maxAttempts × capMs. Callers who prefer to give up instead can compare
 * `retryAfterMs > policy.capMs` themselves.
 */
export function nextDelayMs(args: {
  attempt: number;
  policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>;
  retryAfterMs?: number | null;
  random: () => number;
}): number {
  const { attempt, policy, retryAfterMs, random } = args;
  if (retryAfterMs !== null && retryAfterMs !== undefined && Number.isFinite(retryAfterMs)) {
    return Math.floor(Math.min(Math.max(0, retryAfterMs), Math.max(0, policy.capMs)));
  }
  return retryDelayMs({ attempt, baseMs: policy.baseMs, capMs: policy.capMs, random });
}

/**
 * 408 (request timeout), 429 (too many requests) and every 5xx may succeed on a later try; any
 * other status (2xx/3xx that the step did not accept, other 4xx) will not change by repeating.
 */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** Classes worth another try; the HTTP class depends on the status (see isRetryableStatus). */
const RETRYABLE_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['NETWORK', 'TIMEOUT']);

/**
 * Whether to try again after `attempt` failed tries. NETWORK and TIMEOUT are retried, HTTP_STATUS
 * only for a retryable status, everything else (validation, cancel, open breaker, rejected
 * approval, oversized output) never: repeating would fail the same way or defeat the breaker.
 */
export function shouldRetry(args: {
  attempt: number;
  maxAttempts: number;
  errorClass: ErrorClass;
  status?: number | null;
}): boolean {
  const { attempt, maxAttempts, errorClass, status } = args;
  if (!(attempt < maxAttempts)) return false;
  if (errorClass === 'HTTP_STATUS') return typeof status === 'number' && isRetryableStatus(status);
  return RETRYABLE_CLASSES.has(errorClass);
}
