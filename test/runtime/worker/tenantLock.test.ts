import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { durableWriteLock } from '../../../src/runtime/worker/ports';
import { cast, createChange, gqlOk } from '../../helpers/changes';

const lock = (name: string) => env.TENANT_LOCKS.get(env.TENANT_LOCKS.idFromName(name));

/** A promise and the function that settles it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Polls `read` until it returns `want` (or 5 s pass); returns the last value read. */
async function eventually<T>(read: () => Promise<T>, want: T): Promise<T> {
  const deadline = Date.now() + 5000;
  let v = await read();
  while (v !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    v = await read();
  }
  return v;
}

/** Lets every pending call and timer of the moment run. */
const aWhile = () => new Promise((r) => setTimeout(r, 100));

describe('TenantLock (a tenant’s write turn)', () => {
  it('hands out one turn at a time, in order, and shows who waits', async () => {
    const l = lock(`order-${crypto.randomUUID()}`);
    const first = await l.acquire();
    expect(await l.waiting()).toBe(0);
    let secondGranted = false;
    const second = l.acquire().then((lease) => {
      secondGranted = true;
      return lease;
    });
    expect(await eventually(() => l.waiting(), 1)).toBe(1);
    await aWhile();
    expect(secondGranted).toBe(false);
    expect(await l.held()).toBe(1);
    await l.release(first);
    const lease = await second;
    expect(secondGranted).toBe(true);
    expect(await l.waiting()).toBe(0);
    expect(await l.held()).toBe(1);
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

describe("the Worker's write lock (durableWriteLock)", () => {
  it("queues a tenant's second writer until the first is done; another tenant's writer does not wait", async () => {
    const writeLock = durableWriteLock(env.TENANT_LOCKS);
    const tenant = `lock-a-${crypto.randomUUID()}`;
    const other = `lock-b-${crypto.randomUUID()}`;
    const order: string[] = [];
    const firstMayEnd = gate();
    const first = writeLock(tenant, async () => {
      order.push('first started');
      await firstMayEnd.opened;
      order.push('first ended');
    });
    expect(await eventually(() => lock(tenant).held(), 1)).toBe(1);
    const second = writeLock(tenant, async () => {
      order.push('second started');
    });
    // The second writer is in the tenant's queue, and its work has not begun.
    expect(await eventually(() => lock(tenant).waiting(), 1)).toBe(1);
    await aWhile();
    expect(order).toEqual(['first started']);
    // Another tenant's writer takes its own turn at once, while the first still holds its tenant's.
    await writeLock(other, async () => {
      order.push('other tenant');
    });
    expect(order).toEqual(['first started', 'other tenant']);
    firstMayEnd.open();
    await Promise.all([first, second]);
    expect(order).toEqual(['first started', 'other tenant', 'first ended', 'second started']);
    expect(await lock(tenant).held()).toBe(0);
    expect(await lock(tenant).waiting()).toBe(0);
  });

  it('a mutation of a tenant whose turn is taken waits for it; one of another tenant does not', async () => {
    const a = await cast(`lock-gql-a-${crypto.randomUUID().slice(0, 8)}`);
    const b = await cast(`lock-gql-b-${crypto.randomUUID().slice(0, 8)}`);
    // Someone else holds tenant A's write turn.
    const held = await lock(a.tenant).acquire();
    let created = false;
    const waiting = createChange(a.requester, { title: 'Waits for its turn' }).then((c) => {
      created = true;
      return c;
    });
    expect(await eventually(() => lock(a.tenant).waiting(), 1)).toBe(1);
    await aWhile();
    expect(created).toBe(false);
    // Tenant B writes meanwhile.
    expect((await createChange(b.requester, { title: 'Another tenant' })).title).toBe('Another tenant');
    expect(created).toBe(false);
    await lock(a.tenant).release(held);
    expect((await waiting).title).toBe('Waits for its turn');
    expect(await lock(a.tenant).waiting()).toBe(0);
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
