import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  MAX_RETRY_AFTER_MS,
  nextDelayMs,
  parseRetryAfter,
  retryDelayMs,
  shouldRetry,
} from '../../src/engine/backoff';
import { commitBackoffMs } from '../../src/usecases/commit';

const always = (x: number) => () => x;

describe('retryDelayMs', () => {
  it('doubles from 1 s and caps at 30 s when random() is 1', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs({ attempt, random: always(1) }));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 30000]);
  });

  it('scales by random() (full jitter)', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs({ attempt, random: always(0.5) }));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 15000]);
    expect(retryDelayMs({ attempt: 3, random: always(0) })).toBe(0);
  });

  it('uses the given base and cap', () => {
    expect(retryDelayMs({ attempt: 3, baseMs: 100, capMs: 250, random: always(1) })).toBe(250);
    expect(retryDelayMs({ attempt: 2, baseMs: 100, capMs: 250, random: always(1) })).toBe(200);
  });

  it('stays at the cap for huge attempts and gives 0 before any failure', () => {
    expect(retryDelayMs({ attempt: 5000, random: always(1) })).toBe(30000);
    expect(retryDelayMs({ attempt: 0, random: always(1) })).toBe(0);
    expect(retryDelayMs({ attempt: Number.NaN, random: always(1) })).toBe(0);
  });

  it('clamps a misbehaving random()', () => {
    expect(retryDelayMs({ attempt: 1, random: always(7) })).toBe(1000);
    expect(retryDelayMs({ attempt: 1, random: always(-1) })).toBe(0);
    expect(retryDelayMs({ attempt: 1, random: always(Number.NaN) })).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 0);

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfter('Thu, 15 Jan 2026 12:01:30 GMT', now)).toBe(90_000);
  });

  it('reads the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Thursday, 15-Jan-26 12:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Thu Jan 15 12:00:20 2026', now)).toBe(20_000);
    expect(parseRetryAfter('Thu Jan  1 00:00:00 2026', now)).toBe(0);
  });

  it('never goes negative for a date in the past', () => {
    expect(parseRetryAfter('Wed, 14 Jan 2026 12:00:00 GMT', now)).toBe(0);
  });

  it('caps at one hour', () => {
    expect(parseRetryAfter('86400', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('99999999999999999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 16 Jan 2026 12:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it.each([
    null,
    '',
    '-5',
    '1.5',
    'soon',
    '2026-01-15T12:01:00Z',
    'Thu, 31 Feb 2026 12:00:00 GMT',
    'Thu, 15 Jan 2026 25:00:00 GMT',
    'Thu, 15 Jan 2026 12:00:00 PST',
  ])('gives null for %j', (header) => {
    expect(parseRetryAfter(header, now)).toBeNull();
  });
});

describe('nextDelayMs', () => {
  const policy = { baseMs: 1000, capMs: 30_000 };

  it('falls back to jittered backoff without Retry-After', () => {
    expect(nextDelayMs({ attempt: 3, policy, retryAfterMs: null, random: always(1) })).toBe(4000);
    expect(nextDelayMs({ attempt: 3, policy, random: always(0.5) })).toBe(2000);
  });

  it('uses Retry-After as given, without jitter', () => {
    expect(nextDelayMs({ attempt: 1, policy, retryAfterMs: 7000, random: always(0) })).toBe(7000);
    expect(nextDelayMs({ attempt: 4, policy, retryAfterMs: 0, random: always(1) })).toBe(0);
  });

  it('clamps Retry-After to the policy cap', () => {
    const retryAfterMs = parseRetryAfter('120', 0);
    expect(nextDelayMs({ attempt: 1, policy, retryAfterMs, random: always(1) })).toBe(30_000);
  });
});

describe('isRetryableStatus', () => {
  it.each([408, 429, 500, 502, 503, 504, 599])('retries %i', (status) => {
    expect(isRetryableStatus(status)).toBe(true);
  });

  it.each([200, 301, 400, 401, 403, 404, 409, 422, 600])('does not retry %i', (status) => {
    expect(isRetryableStatus(status)).toBe(false);
  });
});

describe('shouldRetry', () => {
  const maxAttempts = DEFAULT_RETRY_POLICY.maxAttempts;

  it('retries network errors and timeouts until maxAttempts tries were made', () => {
    expect(shouldRetry({ attempt: 1, maxAttempts, errorClass: 'NETWORK' })).toBe(true);
    expect(shouldRetry({ attempt: 2, maxAttempts, errorClass: 'TIMEOUT' })).toBe(true);
    expect(shouldRetry({ attempt: 3, maxAttempts, errorClass: 'TIMEOUT' })).toBe(false);
    expect(shouldRetry({ attempt: 1, maxAttempts: 1, errorClass: 'NETWORK' })).toBe(false);
  });

  it('retries HTTP statuses only when the status is retryable', () => {
    expect(shouldRetry({ attempt: 1, maxAttempts, errorClass: 'HTTP_STATUS', status: 503 })).toBe(true);
    expect(shouldRetry({ attempt: 1, maxAttempts, errorClass: 'HTTP_STATUS', status: 429 })).toBe(true);
    expect(shouldRetry({ attempt: 1, maxAttempts, errorClass: 'HTTP_STATUS', status: 408 })).toBe(true);
    expect(shouldRetry({ attempt: 1, maxAttempts, errorClass: 'HTTP_STATUS', status: 404 })).toBe(false);
    expect(shouldRetry({ attempt: 1, maxAttempts, errorClass: 'HTTP_STATUS' })).toBe(false);
  });

  it.each(['VALIDATION', 'CANCELLED', 'CIRCUIT_OPEN', 'APPROVAL_REJECTED', 'OUTPUT_TOO_LARGE'] as const)(
    'never retries %s',
    (errorClass) => {
      expect(shouldRetry({ attempt: 1, maxAttempts: 10, errorClass })).toBe(false);
    },
  );
});

describe('commitBackoffMs (the pause between commit attempts that lost a race)', () => {
  it('is the same full-jitter backoff: at most 8, 16, 32, 64 ms, then 100, scaled by random()', () => {
    expect([1, 2, 3, 4, 5, 12].map((lost) => commitBackoffMs(lost, always(1)))).toEqual([
      8, 16, 32, 64, 100, 100,
    ]);
    expect([1, 2, 3, 4, 5].map((lost) => commitBackoffMs(lost, always(0.5)))).toEqual([4, 8, 16, 32, 50]);
    expect(commitBackoffMs(3, always(0))).toBe(0);
  });

  it('uses Math.random by default, within the ceiling', () => {
    for (let i = 0; i < 50; i++) {
      const ms = commitBackoffMs(2);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(16);
    }
  });
});
