import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { insertChangeStatements, updateChangeStatements } from '../../src/db/changes';
import type { Principal } from '../../src/domain/principal';
import { CHANGE_STATUSES, type ChangeRecord } from '../../src/domain/types';
import { type AuthedContext, createRequestContext } from '../../src/usecases/context';
import { type ChangeKpis, changeKpis } from '../../src/usecases/reports';
import { changeRecord } from '../helpers/changeRecord';
import { Prng } from '../helpers/prng';
import { rowsReadD1 } from '../helpers/rowsReadD1';

/**
 * The change KPIs from the counts kept on write (migration 0022) against the aggregate over every
 * change they replaced, on generated changes written through the db layer, then updated (status,
 * type, submission and approval times set, moved and cleared) and deleted, so every trigger runs;
 * and their cost at 20,000 changes counted by D1 itself.
 */
const NOW = new Date('2026-06-15T12:00:00.000Z');

function context(tenantId: string, db: D1Database = env.DB) {
  const principal: Principal = {
    id: 'manager',
    tenantId,
    roles: ['change_manager'],
    kind: 'user',
    name: null,
    email: null,
  };
  const ctx = createRequestContext({ db, requestId: 'kpis', principal }) as AuthedContext;
  return Object.assign(ctx, { now: () => NOW });
}

/** The KPIs' raw figures as they were computed before 0022: over every change of the tenant. */
async function reference(tenantId: string) {
  const groups = await env.DB.prepare(
    `SELECT status, type, COUNT(*) AS count FROM change_requests WHERE tenant_id = ?1
     GROUP BY status, type ORDER BY status, type`,
  )
    .bind(tenantId)
    .all<{ status: string; type: string; count: number }>();
  const mean = await env.DB.prepare(
    `SELECT AVG((julianday(approved_at) - julianday(submitted_at)) * 24.0) AS hours FROM change_requests
     WHERE tenant_id = ?1 AND approved_at IS NOT NULL AND submitted_at IS NOT NULL`,
  )
    .bind(tenantId)
    .first<{ hours: number | null }>();
  return { groups: groups.results, hours: mean?.hours ?? null };
}

async function expectSameAsReference(tenantId: string): Promise<ChangeKpis> {
  const kpis = await changeKpis(context(tenantId));
  const ref = await reference(tenantId);
  const byStatus = new Map<string, number>();
  for (const g of ref.groups) byStatus.set(g.status, (byStatus.get(g.status) ?? 0) + g.count);
  const total = ref.groups.reduce((n, g) => n + g.count, 0);
  const emergency = ref.groups.filter((g) => g.type === 'EMERGENCY').reduce((n, g) => n + g.count, 0);
  expect(kpis.totalChanges).toBe(total);
  expect(kpis.changesByStatus).toEqual(
    CHANGE_STATUSES.map((status) => ({ status, count: byStatus.get(status) ?? 0 })),
  );
  expect(kpis.pendingApprovals).toBe(byStatus.get('PENDING_APPROVAL') ?? 0);
  expect(kpis.emergencyRatio).toBe(total === 0 ? null : Math.round((emergency / total) * 1e4) / 1e4);
  // Whole milliseconds against julianday's floating point: equal to the hundredth of an hour.
  if (ref.hours === null) expect(kpis.meanTimeToApproveHours).toBeNull();
  else expect(kpis.meanTimeToApproveHours).toBeCloseTo(ref.hours, 2);
  return kpis;
}

const iso = (ms: number) => new Date(ms).toISOString();

function times(rng: Prng, created: number) {
  const submitted = rng.chance(0.8) ? created + rng.int(0, 48 * 3600) * 1000 + rng.int(0, 999) : null;
  const approved =
    submitted !== null && rng.chance(0.7)
      ? submitted + rng.int(1, 240 * 3600) * 1000 + rng.int(0, 999)
      : null;
  return {
    submittedAt: submitted === null ? null : iso(submitted),
    approvedAt: approved === null ? null : iso(approved),
  };
}

function generateChange(rng: Prng, tenantId: string, i: number): ChangeRecord {
  const created = Date.parse('2026-01-01T00:00:00.000Z') + rng.int(0, 150 * 24 * 60) * 60_000;
  return changeRecord({
    id: `CHG-${tenantId}-${i}`,
    tenantId,
    createdAt: iso(created),
    type: rng.pick(['STANDARD', 'NORMAL', 'EMERGENCY'] as const),
    status: rng.pick(CHANGE_STATUSES),
    ...times(rng, created),
  });
}

async function run(statements: D1PreparedStatement[]) {
  for (let i = 0; i < statements.length; i += 200) await env.DB.batch(statements.slice(i, i + 200));
}

describe('change KPIs from the counts kept on write', () => {
  it('equal the aggregate over every change, through inserts, updates and deletes', async () => {
    const rng = new Prng(2022);
    const tenantId = 'kpi-equal';
    const changes = Array.from({ length: 400 }, (_, i) => generateChange(rng, tenantId, i));
    await run(changes.flatMap((c) => insertChangeStatements(env.DB, c)));
    const first = await expectSameAsReference(tenantId);
    expect(first.totalChanges).toBe(400);
    expect(first.meanTimeToApproveHours).not.toBeNull();

    // Everything moves: status and type, submission and approval times set, moved and cleared.
    const updates: D1PreparedStatement[] = [];
    for (const c of changes.filter(() => rng.chance(0.5))) {
      const next = generateChange(rng, tenantId, 0);
      updates.push(
        ...updateChangeStatements(env.DB, c, {
          ...c,
          status: next.status,
          type: rng.chance(0.3) ? next.type : c.type,
          submittedAt: rng.chance(0.5) ? next.submittedAt : c.submittedAt,
          approvedAt: next.approvedAt,
          version: c.version + 1,
        }),
      );
    }
    updates.push(
      env.DB.prepare(`DELETE FROM change_requests WHERE tenant_id = ?1 AND id LIKE '%7'`).bind(tenantId),
    );
    await run(updates);
    const after = await expectSameAsReference(tenantId);
    expect(after.totalChanges).toBe(400 - changes.filter((c) => c.id.endsWith('7')).length);

    // The counts equal a recount from the changes: nothing drifted through the moves.
    const drift = await env.DB.prepare(
      `SELECT COUNT(*) AS n FROM change_kpi_counts k
       LEFT JOIN (SELECT status, type, COUNT(*) AS changes,
                    SUM(approved_at IS NOT NULL AND submitted_at IS NOT NULL) AS approved
                  FROM change_requests WHERE tenant_id = ?1 GROUP BY status, type) r
         ON r.status = k.status AND r.type = k.type
       WHERE k.tenant_id = ?1 AND (k.changes <> COALESCE(r.changes, 0) OR k.approved <> COALESCE(r.approved, 0))`,
    )
      .bind(tenantId)
      .first<{ n: number }>();
    expect(drift?.n).toBe(0);

    // Every change deleted: nothing counted, and no mean left over from the sums.
    await env.DB.prepare(`DELETE FROM change_requests WHERE tenant_id = ?1`).bind(tenantId).run();
    const empty = await expectSameAsReference(tenantId);
    expect(empty).toMatchObject({ totalChanges: 0, meanTimeToApproveHours: null, emergencyRatio: null });
  });

  it('count only the caller’s tenant', async () => {
    const rng = new Prng(9);
    await run(
      Array.from({ length: 30 }, (_, i) => generateChange(rng, 'kpi-other', i)).flatMap((c) =>
        insertChangeStatements(env.DB, c),
      ),
    );
    const kpis = await changeKpis(context('kpi-nobody'));
    expect(kpis).toMatchObject({ totalChanges: 0, activeChanges: 0, meanTimeToApproveHours: null });
  });

  it('read the same rows at 20,000 changes as at 200', async () => {
    const fill = (tenantId: string, count: number) =>
      env.DB.prepare(
        `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?2)
         INSERT INTO change_requests (id, tenant_id, title, description, type, impact, urgency, priority,
           status, requester_id, created_at, updated_at, submitted_at, approved_at)
         SELECT ?1 || '-' || n, ?1, 'Change ' || n, '', CASE n % 3 WHEN 0 THEN 'EMERGENCY' ELSE 'NORMAL' END,
           'LOW', 'LOW', 'P4', CASE n % 4 WHEN 0 THEN 'COMPLETED' WHEN 1 THEN 'PENDING_APPROVAL' ELSE 'APPROVED' END,
           'rita', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z',
           '2026-01-01T00:00:00.000Z', CASE n % 4 WHEN 1 THEN NULL ELSE '2026-01-01T02:00:00.000Z' END
         FROM s`,
      )
        .bind(tenantId, count)
        .run();
    await fill('kpi-small', 200);
    await fill('kpi-large', 20_000);
    const measure = async (tenantId: string) => {
      const counted = rowsReadD1(env.DB);
      const kpis = await changeKpis(context(tenantId, counted.db));
      return { kpis, rowsRead: counted.counter.rowsRead };
    };
    const small = await measure('kpi-small');
    const large = await measure('kpi-large');
    console.log(`change KPIs: 200 changes ${small.rowsRead} rows read, 20,000 changes ${large.rowsRead}`);
    expect(large.kpis).toMatchObject({
      totalChanges: 20_000,
      pendingApprovals: 5_000,
      meanTimeToApproveHours: 2,
      successRate: 1,
    });
    // One row per status and type (3 × 2 here), never one per change; SQLite may step onto the
    // next tenant's first row to see where the range ends.
    expect(Math.abs(large.rowsRead - small.rowsRead)).toBeLessThanOrEqual(1);
    expect(large.rowsRead).toBeLessThanOrEqual(CHANGE_STATUSES.length * 3);
  });
});
