import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../src/ratelimit/slidingWindow';
import { SlidingWindowLog } from './slidingWindowLog';

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

  it('lets an admission leave the burst window exactly a second after it was made', () => {
    const w = new SlidingWindow();
    const limits = { perMinute: 100, burstPerSecond: 2 };
    expect(w.check(T0, limits).allowed).toBe(true);
    expect(w.check(T0 + 500, limits).allowed).toBe(true);
    expect(w.check(T0 + 999, limits)).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    expect(w.check(T0 + 1_000, limits).allowed).toBe(true);
    // T0 + 500 is still in the window until T0 + 1 500.
    expect(w.check(T0 + 1_499, limits).allowed).toBe(false);
    expect(w.check(T0 + 1_500, limits).allowed).toBe(true);
  });

  it('counts admissions of the same millisecond one by one, and lets them leave together', () => {
    const w = new SlidingWindow();
    const limits = { perMinute: 5, burstPerSecond: 5 };
    for (let i = 0; i < 3; i++) expect(w.check(T0, limits).allowed).toBe(true);
    expect(w.check(T0 + 10, limits, 2)).toMatchObject({ allowed: true, remaining: 0 });
    expect(w.entries).toBe(2);
    // Four must leave for a batch of four: the three of T0 and one of T0 + 10, a minute on.
    expect(w.check(T0 + 20_000, limits, 4)).toMatchObject({ allowed: false, retryAfterSeconds: 41 });
    expect(w.check(T0 + 60_000, limits, 3)).toMatchObject({ allowed: true, remaining: 0 });
    expect(w.check(T0 + 60_009, limits).allowed).toBe(false);
    expect(w.check(T0 + 60_010, limits, 2)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('reads a clock that steps back as standing still, never as room', () => {
    const w = new SlidingWindow();
    const limits = { perMinute: 2, burstPerSecond: 2 };
    expect(w.check(T0 + 5_000, limits).allowed).toBe(true);
    expect(w.check(T0 + 6_000, limits).allowed).toBe(true);
    // A step back of 70 s must not look like the window has passed, nor corrupt the ring.
    expect(w.check(T0 - 64_000, limits)).toMatchObject({ allowed: false, remaining: 0 });
    expect(w.check(T0 + 65_000, limits)).toMatchObject({ allowed: true, remaining: 0 });
    expect(w.check(T0 + 65_999, limits).allowed).toBe(false);
    expect(w.check(T0 + 66_000, limits).allowed).toBe(true);
  });

  it('holds one entry per millisecond at most, whatever the limits, and shrinks when they leave', () => {
    const w = new SlidingWindow();
    const huge = { perMinute: 100_000_000, burstPerSecond: 10_000_000 };
    // A million admissions in one millisecond: one entry (the log before held a million numbers).
    for (let i = 0; i < 1_000; i++) w.check(T0, huge, 1_000);
    expect(w.entries).toBe(1);
    expect(w.check(T0, huge)).toMatchObject({ allowed: true, remaining: 100_000_000 - 1_000_001 });
    // Three admissions every millisecond for two minutes: never more than a minute of milliseconds.
    let most = 0;
    for (let t = 1; t <= 120_000; t++) {
      w.check(T0 + t, huge, 3);
      most = Math.max(most, w.entries);
    }
    expect(most).toBe(60_000);
    expect(w.entries).toBe(60_000);
    expect(w.check(T0 + 120_000, huge)).toMatchObject({ allowed: true, remaining: 100_000_000 - 180_001 });
    expect(w.capacity).toBeLessThanOrEqual(2 ** 16);
    // A quiet minute later the ring is back to its smallest size.
    for (let t = 0; t < 40; t++) w.check(T0 + 200_000 + t, huge);
    expect(w.entries).toBe(40);
    expect(w.capacity).toBeLessThanOrEqual(256);
  });

  it('decides exactly as the plain log of admission times, on random traffic', () => {
    // A seeded generator, so that a failure is reproducible.
    let seed = 0x2545f491;
    const random = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 2 ** 32;
    };
    for (let run = 0; run < 40; run++) {
      const limits = {
        perMinute: 1 + Math.floor(random() * 200),
        burstPerSecond: 1 + Math.floor(random() * 30),
      };
      const ring = new SlidingWindow();
      const log = new SlidingWindowLog();
      let t = T0;
      for (let i = 0; i < 3_000; i++) {
        // Bursts within a millisecond, gaps within a second, pauses across both windows.
        const r = random();
        t +=
          r < 0.3
            ? 0
            : r < 0.9
              ? Math.floor(random() * 400)
              : r < 0.98
                ? Math.floor(random() * 5_000)
                : 61_000;
        const cost = random() < 0.9 ? 1 : 1 + Math.floor(random() * 40);
        const expected = log.check(t, limits, cost);
        const actual = ring.check(t, limits, cost);
        if (JSON.stringify(actual) !== JSON.stringify(expected)) {
          expect({ run, i, t: t - T0, cost, limits, actual }).toEqual({
            run,
            i,
            t: t - T0,
            cost,
            limits,
            actual: expected,
          });
        }
      }
    }
  });
});
