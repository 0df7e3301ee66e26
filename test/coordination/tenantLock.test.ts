import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { cast, createChange, gqlOk } from '../helpers/changes';

const lock = (name: string) => env.TENANT_LOCKS.get(env.TENANT_LOCKS.idFromName(name));

describe('TenantLock (a tenant’s write turn)', () => {
  it('hands out one turn at a time, in order', async () => {
    const l = lock(`order-${crypto.randomUUID()}`);
    const first = await l.acquire();
    let secondGranted = false;
    const second = l.acquire().then((lease) => {
      secondGranted = true;
      return lease;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(secondGranted).toBe(false);
    expect(await l.held()).toBe(1);
    await l.release(first);
    const lease = await second;
    expect(secondGranted).toBe(true);
    await l.release(lease);
    expect(await l.held()).toBe(0);
  });

  it('ignores a release of a lease it does not hold', async () => {
    const l = lock(`stray-${crypto.randomUUID()}`);
    await l.release('not-a-lease');
    const lease = await l.acquire();
    expect(await l.held()).toBe(1);
    await l.release(lease);
  });
});

describe('a burst of writes in one tenant', () => {
  it('40 creates at once all commit, and the audit chain verifies', async () => {
    const c = await cast(`burst-${crypto.randomUUID().slice(0, 8)}`);
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) => createChange(c.requester, { title: `Burst change ${i}` })),
    );
    expect(new Set(created.map((x) => x.id)).size).toBe(40);
    const chain = await gqlOk<{ verifyAuditChain: { valid: boolean; checked: number } }>(
      '{ verifyAuditChain { valid checked } }',
      {},
      c.admin,
    );
    expect(chain.verifyAuditChain).toEqual({ valid: true, checked: 40 });
  });
});
