import type { ClassifiedError } from './errorClass';

/**
 * A circuit breaker per upstream host, as a pure state machine: the caller loads the state
 * (shared across executions, e.g. in a Durable Object or D1 row), applies one transition with
 * an explicit `now`, and stores the result. No timers: time only moves when the caller says so.
 *
 * CLOSED --(failureThreshold consecutive failures)--> OPEN --(cooldown elapsed)--> HALF_OPEN
 * HALF_OPEN lets exactly one probe through: success -> CLOSED, failure -> OPEN (cooldown restarts).
 */
export interface BreakerState {
  state: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  /** Consecutive failures; a success resets it. */
  failures: number;
  /**
   * OPEN: when the breaker opened. HALF_OPEN: when the current probe was let through, so that a
   * probe whose outcome is never reported (Worker restart, lost step) frees the slot after another
   * cooldown instead of leaving the host blocked forever. CLOSED: null.
   */
  openedAt: number | null;
  halfOpenInFlight: boolean;
}

export const DEFAULT_FAILURE_THRESHOLD = 5;
export const DEFAULT_COOLDOWN_MS = 30_000;

export function initialBreaker(): BreakerState {
  return { state: 'CLOSED', failures: 0, openedAt: null, halfOpenInFlight: false };
}

/**
 * May a request go to this host now? Returns the state to store: admitting the half-open probe
 * is itself a transition (it marks the probe in flight), so the caller must persist it before
 * sending, or two executions could both probe.
 */
export function canRequest(
  state: BreakerState,
  now: number,
  opts: { cooldownMs?: number } = {},
): { allowed: boolean; state: BreakerState } {
  const cooldownMs = opts.cooldownMs ?? DEFAULT_COOLDOWN_MS;
  if (state.state === 'CLOSED') return { allowed: true, state };
  const cooling = state.openedAt !== null && now - state.openedAt < cooldownMs;
  // OPEN waits out the cooldown; HALF_OPEN refuses while its probe is in flight (and not lost).
  const blocked = state.state === 'OPEN' ? cooling : state.halfOpenInFlight && cooling;
  if (blocked) return { allowed: false, state };
  return { allowed: true, state: { ...state, state: 'HALF_OPEN', openedAt: now, halfOpenInFlight: true } };
}

/**
 * A request succeeded. CLOSED resets the failure count and HALF_OPEN closes. While OPEN, a late
 * success (a request admitted before the breaker opened) does not close it: only a probe does,
 * so one straggler cannot undo the evidence of several failures.
 */
export function onSuccess(state: BreakerState): BreakerState {
  if (state.state === 'OPEN') return state;
  return initialBreaker();
}

/**
 * A request failed. CLOSED counts it and opens at the threshold; HALF_OPEN re-opens at once and
 * restarts the cooldown; OPEN ignores late failures so the cooldown is not extended by them.
 */
export function onFailure(
  state: BreakerState,
  now: number,
  opts: { failureThreshold?: number } = {},
): BreakerState {
  const threshold = Math.max(1, opts.failureThreshold ?? DEFAULT_FAILURE_THRESHOLD);
  if (state.state === 'OPEN') return state;
  const failures = state.failures + 1;
  if (state.state === 'HALF_OPEN' || failures >= threshold) {
    return { state: 'OPEN', failures, openedAt: now, halfOpenInFlight: false };
  }
  return { ...state, failures };
}

/**
 * The state after a request's outcome: a success or a failure moves it (onSuccess, onFailure); a
 * neutral one proves the host neither healthy nor sick, but frees a half-open probe's slot.
 */
export function onOutcome(
  state: BreakerState,
  outcome: 'success' | 'failure' | 'neutral',
  now: number,
  opts: { failureThreshold?: number } = {},
): BreakerState {
  if (outcome === 'success') return onSuccess(state);
  if (outcome === 'failure') return onFailure(state, now, opts);
  return state.state === 'HALF_OPEN' ? { ...state, halfOpenInFlight: false } : state;
}

/** Whether two states are the same breaker state (a store need not write the second). */
export function sameBreaker(a: BreakerState, b: BreakerState): boolean {
  return (
    a.state === b.state &&
    a.failures === b.failures &&
    a.openedAt === b.openedAt &&
    a.halfOpenInFlight === b.halfOpenInFlight
  );
}

/**
 * Whether a failure says something about the host's health and so counts toward opening its
 * breaker: network errors, timeouts and retryable statuses (408/429/5xx). A 404 or a rejected
 * payload is the caller's problem, and a cancel or our own validation never reached the host.
 */
export function countsAgainstBreaker(error: Pick<ClassifiedError, 'class' | 'retryable'>): boolean {
  if (error.class === 'NETWORK' || error.class === 'TIMEOUT') return true;
  return error.class === 'HTTP_STATUS' && error.retryable;
}

/**
 * The key a breaker is kept under: the URL's host with its port (lower case), since one host
 * may serve several paths but is one failure domain. Null for a URL that does not parse.
 */
export function breakerKey(url: string): string | null {
  try {
    return new URL(url).host.toLowerCase() || null;
  } catch {
    return null;
  }
}
