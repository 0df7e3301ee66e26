import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { lastAuditDigest } from '../../src/db/auditDigests';
import { GENESIS_HASH } from '../../src/domain/auditChain';
import { digestSweepStep } from '../../src/usecases/auditDigests';
import { appendChain, cronDeps } from '../helpers/auditRows';

/** A tenant with `n` events and a user (the sweep finds tenants by their users). */
async function tenantWithEvents(tenant: string, n: number) {
  await env.DB.prepare(
    `INSERT INTO users (tenant_id, id, created_at) VALUES (?1, 'u1', '2026-12-07T00:00:00Z')`,
  )
    .bind(tenant)
    .run();
  await appendChain(tenant, 1, n, GENESIS_HASH);
}

const claimed = (r: Awaited<ReturnType<typeof digestSweepStep>>) =>
  r ? [...r.created.map((c) => c.tenant), ...r.failed.map((f) => f.tenant)].length + r.unchanged : 0;

async function allTenants(): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT DISTINCT tenant_id FROM users ORDER BY tenant_id').all<{
    tenant_id: string;
  }>();
  return results.map((r) => r.tenant_id);
}

describe('the hourly digest sweep', () => {
  it('digests a bounded batch of tenants per invocation and resumes where it stopped', async () => {
    const ours = Array.from({ length: 7 }, (_, i) => `sweep-${i}`);
    for (const t of ours) await tenantWithEvents(t, 3);
    const total = (await allTenants()).length;

    // Not the top of the hour and no sweep running: nothing.
    expect(await digestSweepStep(cronDeps(), new Date('2026-12-07T09:59:00Z'), 3)).toBeNull();

    const steps = [];
    for (let minute = 0; minute < 60; minute++) {
      const at = new Date(Date.UTC(2026, 11, 7, 10, minute));
      const step = await digestSweepStep(cronDeps(), at, 3);
      if (!step) break;
      steps.push(step);
    }
    expect(steps.every((s) => claimed(s) <= 3)).toBe(true);
    expect(steps.reduce((n, s) => n + claimed(s), 0)).toBe(total);
    expect(steps.length).toBeGreaterThanOrEqual(Math.ceil(total / 3));
    for (const t of ours) expect((await lastAuditDigest(env.DB, t))?.toSeq, t).toBe(3);

    // Done for this hour; the next hour's sweep starts at its top, and finds nothing new.
    expect(await digestSweepStep(cronDeps(), new Date('2026-12-07T10:59:00Z'), 3)).toBeNull();
    const next = await digestSweepStep(cronDeps(), new Date('2026-12-07T11:00:00Z'), 3);
    expect(next).toMatchObject({ hour: '2026-12-07T11', created: [] });
  });

  it('two invocations at once never take the same tenants', async () => {
    for (const t of ['race-a', 'race-b', 'race-c', 'race-d']) await tenantWithEvents(t, 2);
    const at = new Date('2026-12-07T12:00:00Z');
    const [a, b] = await Promise.all([
      digestSweepStep(cronDeps(), at, 2),
      digestSweepStep(cronDeps(), at, 2),
    ]);
    const tenantsOf = (r: typeof a) => [...(r?.created ?? []).map((c) => c.tenant)];
    const both = [...tenantsOf(a), ...tenantsOf(b)];
    expect(new Set(both).size).toBe(both.length);
    expect(claimed(a) + claimed(b)).toBe(Math.min(4, (await allTenants()).length));
  });
});
