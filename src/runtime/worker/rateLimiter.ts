import { DurableObject } from 'cloudflare:workers';
import type { RateLimiterPort } from '../../ratelimit/policy';
import { type Decision, type Limits, SlidingWindow } from '../../ratelimit/slidingWindow';

/**
 * One object per limited key (`idFromName(key)`): requests for a key are serialised through it,
 * so the count is exact across isolates and machines. State lives in memory: an evicted object
 * (idle for a while) starts a fresh window, which only ever errs towards admitting.
 */
export class RateLimiter extends DurableObject {
  private readonly window = new SlidingWindow();

  check(limits: Limits, cost = 1): Decision {
    return this.window.check(Date.now(), limits, cost);
  }
}

/** A Durable Object per limited key, so the count is exact across isolates (and the tenant hubs). */
export const durableObjectLimiter =
  (ns: DurableObjectNamespace<RateLimiter>): RateLimiterPort =>
  (key, limits, cost = 1) =>
    ns.get(ns.idFromName(key)).check(limits, cost);
