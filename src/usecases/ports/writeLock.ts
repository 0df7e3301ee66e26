/**
 * Serialises work per key (a tenant) within one process. Every write of a tenant appends to one
 * audit chain; where all writers share a process (the Node runtime) they queue here instead of
 * racing for the chain head and retrying. Workers have no such process: there, writers race and
 * commitWithAudit retries (see commit.ts).
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
