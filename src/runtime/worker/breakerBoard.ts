import { DurableObject } from 'cloudflare:workers';
import { type ConfigVars, loadConfig } from '../../config';
import {
  type BreakerState,
  canRequest,
  initialBreaker,
  onOutcome,
  sameBreaker,
} from '../../engine/circuitBreaker';
import type { BreakerSnapshot } from '../../usecases/ports/executions';

type BreakerView = BreakerSnapshot;

/**
 * The circuit breakers of one tenant's upstream hosts. Every execution of the tenant goes
 * through this one object, so they share what they learn about a host, and the half-open probe
 * is admitted exactly once. State is kept in the object's storage: it survives eviction and a
 * restart, so an open breaker stays open for its cooldown.
 */
export class BreakerBoard extends DurableObject<ConfigVars> {
  /** BREAKER_FAILURE_THRESHOLD and BREAKER_COOLDOWN_MS (tests shorten the cooldown). */
  private get settings() {
    return loadConfig(this.env).breaker;
  }

  private get threshold() {
    return this.settings.failureThreshold;
  }

  private get cooldownMs() {
    return this.settings.cooldownMs;
  }

  private async read(host: string): Promise<BreakerView> {
    return (
      (await this.ctx.storage.get<BreakerView>(`host:${host}`)) ?? { host, ...initialBreaker(), updatedAt: 0 }
    );
  }

  private async write(host: string, state: BreakerState, prev: BreakerView): Promise<void> {
    if (sameBreaker(state, prev)) return;
    await this.ctx.storage.put(`host:${host}`, { host, ...state, updatedAt: Date.now() });
  }

  async acquire(host: string): Promise<{ allowed: boolean; state: string }> {
    const prev = await this.read(host);
    const { allowed, state } = canRequest(prev, Date.now(), { cooldownMs: this.cooldownMs });
    await this.write(host, state, prev);
    return { allowed, state: prev.state };
  }

  async report(host: string, outcome: 'success' | 'failure' | 'neutral'): Promise<void> {
    const prev = await this.read(host);
    await this.write(host, onOutcome(prev, outcome, Date.now(), { failureThreshold: this.threshold }), prev);
  }

  /** Every host this tenant has called, with its breaker. */
  async list(): Promise<BreakerView[]> {
    const all = await this.ctx.storage.list<BreakerView>({ prefix: 'host:' });
    return [...all.values()].sort((a, b) => a.host.localeCompare(b.host));
  }
}
