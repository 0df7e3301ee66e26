import type { RateLimiterPort } from '../../ratelimit/policy';
import { SlidingWindow } from '../../ratelimit/slidingWindow';

/** A window untouched this long holds no admissions any more (its log spans one minute). */
const IDLE_MS = 60_000;

/**
 * Rate limits in this process: one SlidingWindow per key, as a Worker has one Durable Object per
 * key. Exact, because Node runs a check to completion before the next (no two checks of a key
 * interleave); per process, so several instances behind a balancer would each admit the limit.
 * Windows idle for a minute are dropped, so the map holds only keys seen in the last minute or two.
 */
export function memoryRateLimiter(now: () => number = Date.now): RateLimiterPort {
  const windows = new Map<string, { window: SlidingWindow; lastUsed: number }>();
  let lastSweep = now();
  return async (key, limits, cost = 1) => {
    const t = now();
    if (t - lastSweep >= IDLE_MS) {
      for (const [k, entry] of windows) if (t - entry.lastUsed >= IDLE_MS) windows.delete(k);
      lastSweep = t;
    }
    let entry = windows.get(key);
    if (!entry) {
      entry = { window: new SlidingWindow(), lastUsed: t };
      windows.set(key, entry);
    }
    entry.lastUsed = t;
    return entry.window.check(t, limits, cost);
  };
}
