import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../src/ratelimit/slidingWindow';

const T0 = 1_700_000_000_000;

describe('SlidingWindow', () => {
  it('admits exactly perMinute requests in any 60 s window, then reports when room returns', () => {
    const w = new SlidingWindow();
    const limits = { perMinute: 3, burstPerSecond: 10 };
    expect(w.check(T0, limits)).toMatchObject({ allowed: true, remaining: 2, limit: 3 });
    expect(w.check(T0 + 10_000, limits)).toMatchObject({ allowed: true, remaining: 1 });
    expect(w.check(T0 + 20_000, limits)).toMatchObject({ allowed: true, remaining: 0, resetSeconds: 40 });
    const refused = w.check(T0 + 30_000, limits);
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 30, resetSeconds: 30 });
    // The window slides: the first request leaves it at T0 + 60 s, not at a fixed minute boundary.
    expect(w.check(T0 + 59_999, limits).allowed).toBe(false);
    expect(w.check(T0 + 60_000, limits)).toMatchObject({ allowed: true, remaining: 0 });
    expect(w.check(T0 + 60_001, limits).allowed).toBe(false);
  });

  it('caps bursts per second independently of the minute budget', () => {
    const w = new SlidingWindow();
    const limits = { perMinute: 100, burstPerSecond: 2 };
    expect(w.check(T0, limits).allowed).toBe(true);
    expect(w.check(T0 + 100, limits).allowed).toBe(true);
    const refused = w.check(T0 + 200, limits);
    expect(refused).toMatchObject({ allowed: false, retryAfterSeconds: 1, remaining: 98 });
    expect(w.check(T0 + 1_000, limits).allowed).toBe(true);
  });

  it('does not count refused requests against the caller', () => {
    const w = new SlidingWindow();
    const limits = { perMinute: 1, burstPerSecond: 1 };
    expect(w.check(T0, limits).allowed).toBe(true);
    for (let i = 1; i <= 50; i++) expect(w.check(T0 + i * 100, limits).allowed).toBe(false);
    expect(w.check(T0 + 60_000, limits).allowed).toBe(true);
  });

  it('admits a cost of several requests all at once or not at all (a JSON-RPC batch)', () => {
    const w = new SlidingWindow();
    const limits = { perMinute: 150, burstPerSecond: 200 };
    expect(w.check(T0, limits, 100)).toMatchObject({ allowed: true, remaining: 50 });
    // 100 more do not fit; nothing is spent by the refusal, and the wait is until the first 100 leave.
    expect(w.check(T0 + 1_000, limits, 100)).toMatchObject({
      allowed: false,
      remaining: 50,
      retryAfterSeconds: 59,
    });
    expect(w.check(T0 + 2_000, limits, 50)).toMatchObject({ allowed: true, remaining: 0 });
    expect(w.check(T0 + 60_000, limits, 100)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('refuses a cost larger than a window can ever hold, telling the caller to wait a whole window', () => {
    const w = new SlidingWindow();
    expect(w.check(T0, { perMinute: 1000, burstPerSecond: 50 }, 100)).toMatchObject({
      allowed: false,
      retryAfterSeconds: 1,
      remaining: 1000,
    });
    expect(w.check(T0, { perMinute: 60, burstPerSecond: 100 }, 100)).toMatchObject({
      allowed: false,
      retryAfterSeconds: 60,
    });
  });
});
