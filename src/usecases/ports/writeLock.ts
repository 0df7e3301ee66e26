/**
 * Serialises work per key (a tenant). Every write of a tenant appends to one audit chain; its
 * writers queue here instead of racing for the chain head and retrying. In one Node process this
 * is keyedMutex below; in a Worker it is the tenant's TenantLock Durable Object
 * (src/runtime/worker/tenantLock.ts). The lock only spares work: where it is absent or cannot be
 * reached, writers race and commitWithAudit retries (see commit.ts).
 */
export type WriteLock = <T>(key: string, work: () => Promise<T>) => Promise<T>;

export function keyedMutex(): WriteLock {
  const tails = new Map<string, Promise<unknown>>();
  return async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.catch(() => {});
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      // The last one out forgets the key, so idle tenants hold no memory.
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}
