import type { BreakerState } from '../../engine/circuitBreaker';

/**
 * The durable runner of workflow executions, provided by the runtime (Cloudflare Workflows in a
 * Worker, src/runtime/node/executions.ts on Node). Resolvers record an execution in D1 first and
 * then hand it over; a hand-over that fails leaves a PENDING row that the Worker's watchdog hands
 * over again, or the Node runtime's next start.
 */
export interface ExecutionsPort {
  /** Starts running a recorded execution; starting one that already runs is a no-op. */
  start(ids: { tenantId: string; executionId: string }): Promise<void>;
  /** Wakes an execution that sleeps or waits, so it looks again at once (a cancel, a decision). */
  wake(executionId: string): Promise<void>;
  /** The tenant's circuit breakers, one per upstream host its executions called. */
  breakers?(tenantId: string): Promise<BreakerSnapshot[]>;
}

/** A host's breaker as stored and shown: its state (circuitBreaker.ts), host and last change. */
export type BreakerSnapshot = BreakerState & { host: string; updatedAt: number };
