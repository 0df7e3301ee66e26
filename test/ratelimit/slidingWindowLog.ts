// The limiter as it was before issue 17: a plain array of admission times, walked on every check
// and shifted from the front. Kept as the oracle the ring-buffer limiter must agree with exactly
// (test/ratelimit/slidingWindow.test.ts) and as the baseline of bench/micro/rateLimiter.mjs.
import type { Decision, Limits } from '../../src/ratelimit/slidingWindow';

const MINUTE_MS = 60_000;
const SECOND_MS = 1_000;

/**
 * An exact sliding-window log: the admission times of the last minute, oldest first. Exact
 * because one instance owns a key (a Durable Object in a Worker, the process in Node), so no
 * two requests for the key are ever counted concurrently.
 */
export class SlidingWindowLog {
  private readonly times: number[] = [];

  /**
   * Admits `cost` requests at once (a JSON-RPC batch counts each of its messages), or none: all
   * of them must fit in both windows.
   */
  check(now: number, limits: Limits, cost = 1): Decision {
    while (this.times.length > 0 && (this.times[0] as number) <= now - MINUTE_MS) this.times.shift();
    const inMinute = this.times.length;
    let inSecond = 0;
    for (let i = inMinute - 1; i >= 0 && (this.times[i] as number) > now - SECOND_MS; i--) inSecond++;

    // How many admissions must leave each window before `cost` more fit.
    const minuteExcess = inMinute + cost - limits.perMinute;
    const burstExcess = inSecond + cost - limits.burstPerSecond;
    const untilMinuteRoom = inMinute > 0 ? (this.times[0] as number) + MINUTE_MS - now : 0;
    if (minuteExcess > 0 || burstExcess > 0) {
      // An admission leaves its window a minute (a second) after it was made; more than a window
      // holds never fits, so such a caller is told to wait a whole window.
      const minuteWait =
        minuteExcess <= 0
          ? 0
          : minuteExcess > inMinute
            ? MINUTE_MS
            : (this.times[minuteExcess - 1] as number) + MINUTE_MS - now;
      const burstWait =
        burstExcess <= 0
          ? 0
          : burstExcess > inSecond
            ? SECOND_MS
            : (this.times[inMinute - inSecond + burstExcess - 1] as number) + SECOND_MS - now;
      return {
        allowed: false,
        limit: limits.perMinute,
        remaining: Math.max(0, limits.perMinute - inMinute),
        resetSeconds: Math.ceil(untilMinuteRoom / 1000),
        retryAfterSeconds: Math.max(1, Math.ceil(Math.max(minuteWait, burstWait) / 1000)),
      };
    }
    for (let i = 0; i < cost; i++) this.times.push(now);
    const oldest = this.times[0] as number;
    return {
      allowed: true,
      limit: limits.perMinute,
      remaining: limits.perMinute - inMinute - cost,
      resetSeconds: Math.ceil((oldest + MINUTE_MS - now) / 1000),
      retryAfterSeconds: 0,
    };
  }
}
