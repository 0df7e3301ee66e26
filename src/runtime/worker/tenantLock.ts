import { DurableObject } from 'cloudflare:workers';
import type { WriteLock } from '../../usecases/ports/writeLock';

/**
 * One object per tenant that hands out its write turn: every write of a tenant appends to one
 * audit chain, and writers that race for its head lose and retry (commit.ts). Under a burst (25
 * executions started at once) some lost every retry. Queued here, they take turns instead.
 *
 * The queue lives in memory: calls wait while earlier holders work (a Durable Object keeps
 * taking calls while one awaits). A lease that is never released (its Worker died) expires after
 * LEASE_MS, and an object that is reset simply forgets its queue: correctness never depends on
 * this lock, since the chain's unique sequence still refuses a lost race and the writer retries.
 */
export const LEASE_MS = 10_000;

export class TenantLock extends DurableObject {
  private tail: Promise<void> = Promise.resolve();
  private readonly holders = new Map<string, () => void>();
  private queued = 0;

  /** Resolves with a lease id when it is the caller's turn. */
  async acquire(): Promise<string> {
    const lease = crypto.randomUUID();
    const before = this.tail;
    let free!: () => void;
    const done = new Promise<void>((resolve) => {
      free = resolve;
    });
    this.tail = before.then(() => done);
    this.queued++;
    try {
      await before;
    } finally {
      this.queued--;
    }
    const timer = setTimeout(() => this.release(lease), LEASE_MS);
    this.holders.set(lease, () => {
      clearTimeout(timer);
      free();
    });
    return lease;
  }

  /** Ends a turn; releasing an unknown or expired lease does nothing. */
  release(lease: string): void {
    const end = this.holders.get(lease);
    this.holders.delete(lease);
    end?.();
  }

  /** How many turns are held (0 or 1): what tests observe. */
  held(): number {
    return this.holders.size;
  }

  /** How many callers wait for their turn: what tests observe of the queue. */
  waiting(): number {
    return this.queued;
  }
}

/**
 * The Worker's WriteLock: a tenant's writers take turns through its TenantLock. If the object
 * cannot be reached the work runs anyway, racing as before (the chain still guards it).
 */
export function durableWriteLock(ns: DurableObjectNamespace<TenantLock>): WriteLock {
  return async (key, work) => {
    const stub = ns.get(ns.idFromName(key));
    const lease = await stub.acquire().catch(() => null);
    try {
      return await work();
    } finally {
      if (lease) await stub.release(lease).catch(() => {});
    }
  };
}
