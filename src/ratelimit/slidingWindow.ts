/** Limits for one key: a 60-second sliding window and a 1-second burst window. */
export interface Limits {
  perMinute: number;
  burstPerSecond: number;
}

export interface Decision {
  allowed: boolean;
  /** The per-minute limit, for X-RateLimit-Limit. */
  limit: number;
  /** Requests left in the current minute window after this one. */
  remaining: number;
  /** Seconds until the minute window has room again (X-RateLimit-Reset). */
  resetSeconds: number;
  /** When refused: seconds to wait before a retry can succeed (Retry-After). */
  retryAfterSeconds: number;
}

const MINUTE_MS = 60_000;
const SECOND_MS = 1_000;

/**
 * An exact sliding-window log: the admission times of the last minute, oldest first. Exact
 * because one instance owns a key (a Durable Object in a Worker, the process in Node), so no
 * two requests for the key are ever counted concurrently.
 */
export class SlidingWindow {
  private readonly times: number[] = [];

  check(now: number, limits: Limits): Decision {
    while (this.times.length > 0 && (this.times[0] as number) <= now - MINUTE_MS) this.times.shift();
    const inMinute = this.times.length;
    let inSecond = 0;
    for (let i = inMinute - 1; i >= 0 && (this.times[i] as number) > now - SECOND_MS; i--) inSecond++;

    const minuteFull = inMinute >= limits.perMinute;
    const burstFull = inSecond >= limits.burstPerSecond;
    const untilMinuteRoom = inMinute > 0 ? (this.times[0] as number) + MINUTE_MS - now : 0;
    if (minuteFull || burstFull) {
      const oldestInSecond = this.times[inMinute - inSecond] as number;
      const wait = Math.max(
        minuteFull ? untilMinuteRoom : 0,
        burstFull ? oldestInSecond + SECOND_MS - now : 0,
      );
      return {
        allowed: false,
        limit: limits.perMinute,
        remaining: Math.max(0, limits.perMinute - inMinute),
        resetSeconds: Math.ceil(untilMinuteRoom / 1000),
        retryAfterSeconds: Math.max(1, Math.ceil(wait / 1000)),
      };
    }
    this.times.push(now);
    const oldest = this.times[0] as number;
    return {
      allowed: true,
      limit: limits.perMinute,
      remaining: limits.perMinute - inMinute - 1,
      resetSeconds: Math.ceil((oldest + MINUTE_MS - now) / 1000),
      retryAfterSeconds: 0,
    };
  }
}
