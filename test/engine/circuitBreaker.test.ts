import { describe, expect, it } from 'vitest';
import type { BreakerState } from '../../src/engine/circuitBreaker';
import {
  breakerKey,
  canRequest,
  countsAgainstBreaker,
  initialBreaker,
  onFailure,
  onSuccess,
} from '../../src/engine/circuitBreaker';
import { classifyError } from '../../src/engine/errorClass';

function failTimes(state: BreakerState, n: number, now: number): BreakerState {
  let s = state;
  for (let i = 0; i < n; i++) s = onFailure(s, now);
  return s;
}

describe('circuit breaker', () => {
  const t0 = 1_000_000;

  it('starts closed and lets requests through', () => {
    const s = initialBreaker();
    expect(s).toEqual({ state: 'CLOSED', failures: 0, openedAt: null, halfOpenInFlight: false });
    expect(canRequest(s, t0)).toEqual({ allowed: true, state: s });
  });

  it('stays closed below the threshold and opens at 5 failures', () => {
    const four = failTimes(initialBreaker(), 4, t0);
    expect(four).toMatchObject({ state: 'CLOSED', failures: 4 });
    expect(onFailure(four, t0 + 5)).toEqual({
      state: 'OPEN',
      failures: 5,
      openedAt: t0 + 5,
      halfOpenInFlight: false,
    });
  });

  it('honours a custom threshold', () => {
    expect(
      onFailure(onFailure(initialBreaker(), t0, { failureThreshold: 2 }), t0, { failureThreshold: 2 }).state,
    ).toBe('OPEN');
  });

  it('resets the count on success, so only consecutive failures open it', () => {
    const s = onSuccess(failTimes(initialBreaker(), 4, t0));
    expect(s).toEqual(initialBreaker());
    expect(onFailure(s, t0).state).toBe('CLOSED');
  });

  it('refuses while open and during the cooldown', () => {
    const open = failTimes(initialBreaker(), 5, t0);
    expect(canRequest(open, t0).allowed).toBe(false);
    expect(canRequest(open, t0 + 29_999).allowed).toBe(false);
    expect(canRequest(open, t0 + 29_999).state).toBe(open);
  });

  it('allows exactly one probe after the cooldown', () => {
    const open = failTimes(initialBreaker(), 5, t0);
    const probe = canRequest(open, t0 + 30_000);
    expect(probe.allowed).toBe(true);
    expect(probe.state).toEqual({
      state: 'HALF_OPEN',
      failures: 5,
      openedAt: t0 + 30_000,
      halfOpenInFlight: true,
    });
    expect(canRequest(probe.state, t0 + 30_001).allowed).toBe(false);
  });

  it('closes when the probe succeeds', () => {
    const probe = canRequest(failTimes(initialBreaker(), 5, t0), t0 + 30_000);
    const closed = onSuccess(probe.state);
    expect(closed).toEqual(initialBreaker());
    expect(canRequest(closed, t0 + 30_001).allowed).toBe(true);
  });

  it('re-opens when the probe fails, restarting the cooldown', () => {
    const probe = canRequest(failTimes(initialBreaker(), 5, t0), t0 + 30_000);
    const reopened = onFailure(probe.state, t0 + 30_500);
    expect(reopened).toMatchObject({ state: 'OPEN', openedAt: t0 + 30_500, halfOpenInFlight: false });
    expect(canRequest(reopened, t0 + 60_000).allowed).toBe(false);
    expect(canRequest(reopened, t0 + 60_500).allowed).toBe(true);
  });

  it('frees a lost probe after another cooldown', () => {
    const probe = canRequest(failTimes(initialBreaker(), 5, t0), t0 + 30_000);
    const again = canRequest(probe.state, t0 + 60_000);
    expect(again.allowed).toBe(true);
    expect(again.state).toMatchObject({ state: 'HALF_OPEN', openedAt: t0 + 60_000, halfOpenInFlight: true });
  });

  it('honours a custom cooldown', () => {
    const open = failTimes(initialBreaker(), 5, t0);
    expect(canRequest(open, t0 + 1000, { cooldownMs: 1000 }).allowed).toBe(true);
  });

  it('ignores late outcomes while open', () => {
    const open = failTimes(initialBreaker(), 5, t0);
    expect(onSuccess(open)).toBe(open);
    expect(onFailure(open, t0 + 10_000)).toBe(open);
  });

  it('counts only failures that say something about the host', () => {
    const counts = (input: Parameters<typeof classifyError>[0]) => countsAgainstBreaker(classifyError(input));
    expect(counts({ kind: 'network', message: '' })).toBe(true);
    expect(counts({ kind: 'timeout', message: '' })).toBe(true);
    expect(counts({ kind: 'http', status: 503, message: '' })).toBe(true);
    expect(counts({ kind: 'http', status: 404, message: '' })).toBe(false);
    expect(counts({ kind: 'validation', message: '' })).toBe(false);
    expect(counts({ kind: 'cancelled', message: '' })).toBe(false);
  });

  it('keys breakers by host and port', () => {
    expect(breakerKey('https://API.example.com/v1/x?y=1')).toBe('api.example.com');
    expect(breakerKey('http://127.0.0.1:8787/a')).toBe('127.0.0.1:8787');
    expect(breakerKey('not a url')).toBeNull();
  });
});
