import { applyD1Migrations, env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { auditChain } from '../../src/db/audit';
import {
  type AuditEventInput,
  computeAuditHash,
  GENESIS_HASH,
  verifyAuditChain,
} from '../../src/domain/auditChain';
import type { Principal } from '../../src/domain/principal';
import { auditMigrations } from '../../src/runtime/worker/scheduled';
import { submitChange } from '../../src/usecases/changes/lifecycle';
import { type AuthedContext, createRequestContext } from '../../src/usecases/context';

/**
 * Migration 0009 on a database in the shape before it: STANDARD changes not yet approved go to
 * the CAB as NORMAL changes, the rest keep their state, and the application then writes one
 * chained audit event per migrated row (the cron path), after which every tenant's chain verifies.
 */

const db = () => env.MIGRATION_DB;
const NOW = '2026-11-01T09:00:00.000Z';

interface OldChange {
  id: string;
  tenant: string;
  type: 'STANDARD' | 'NORMAL';
  status: string;
  riskScore?: number | null;
  riskLevel?: string | null;
  riskFactors?: unknown[] | null;
}

const OLD_CHANGES: OldChange[] = [
  { id: 'CHG-OLD-DRAFT', tenant: 'legacy-a', type: 'STANDARD', status: 'DRAFT' },
  {
    id: 'CHG-OLD-SUBMITTED',
    tenant: 'legacy-a',
    type: 'STANDARD',
    status: 'SUBMITTED',
    riskScore: 0,
    riskLevel: 'LOW',
    riskFactors: [],
  },
  {
    id: 'CHG-OLD-PENDING',
    tenant: 'legacy-a',
    type: 'STANDARD',
    status: 'PENDING_APPROVAL',
    riskScore: 20,
    riskLevel: 'LOW',
    riskFactors: [
      { key: 'impact', label: 'MEDIUM impact', contribution: 10 },
      { key: 'urgency', label: 'MEDIUM urgency', contribution: 5 },
      { key: 'services', label: '2 affected services', contribution: 5 },
    ],
  },
  {
    id: 'CHG-OLD-APPROVED',
    tenant: 'legacy-a',
    type: 'STANDARD',
    status: 'APPROVED',
    riskScore: 0,
    riskLevel: 'LOW',
  },
  {
    id: 'CHG-OLD-DONE',
    tenant: 'legacy-a',
    type: 'STANDARD',
    status: 'COMPLETED',
    riskScore: 0,
    riskLevel: 'LOW',
  },
  {
    id: 'CHG-OLD-NORMAL',
    tenant: 'legacy-a',
    type: 'NORMAL',
    status: 'PENDING_APPROVAL',
    riskScore: 30,
    riskLevel: 'MEDIUM',
  },
  { id: 'CHG-OLD-B-DRAFT', tenant: 'legacy-b', type: 'STANDARD', status: 'DRAFT' },
];

/** A row as the API wrote it before 0009: the columns of 0001 only. */
function insertOld(c: OldChange) {
  return db()
    .prepare(
      `INSERT INTO change_requests (id, tenant_id, title, description, type, impact, urgency, priority, status,
         requester_id, affected_services, backout_plan, test_plan, risk_score, risk_level, risk_factors, version,
         created_at, updated_at)
       VALUES (?1, ?2, ?3, 'Routine work.', ?4, 'LOW', 'LOW', 'P4', ?5, 'rita', '["edge"]', 'Undo it.', 'Check it.',
         ?6, ?7, ?8, 2, ?9, ?9)`,
    )
    .bind(
      c.id,
      c.tenant,
      `Old ${c.id}`,
      c.type,
      c.status,
      c.riskScore ?? null,
      c.riskLevel ?? null,
      c.riskFactors === undefined || c.riskFactors === null ? null : JSON.stringify(c.riskFactors),
      NOW,
    );
}

/** The tenants' audit chains as the old code wrote them: one change.created per change. */
async function oldChain(tenant: string, changes: OldChange[]) {
  let prevHash = GENESIS_HASH;
  const statements: D1PreparedStatement[] = [];
  for (const [i, c] of changes.entries()) {
    const input: AuditEventInput = {
      tenantId: tenant,
      seq: i + 1,
      actorId: 'rita',
      actorType: 'user',
      source: 'graphql',
      toolName: null,
      action: 'change.created',
      targetType: 'ChangeRequest',
      targetId: c.id,
      requestId: `req-${i}`,
      before: null,
      after: { id: c.id, type: c.type, status: 'DRAFT' },
      createdAt: NOW,
    };
    const hash = await computeAuditHash(prevHash, input);
    statements.push(
      // As written before migration 0017 (no hash_version column yet: these are version 1).
      db()
        .prepare(
          `INSERT INTO audit_events (tenant_id, seq, id, actor_id, actor_type, source, tool_name, action, target_type,
             target_id, request_id, before_json, after_json, created_at, prev_hash, hash)
           VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?8, ?9, ?10, NULL, ?11, ?12, ?13, ?14)`,
        )
        .bind(
          tenant,
          input.seq,
          `evt-${tenant}-${i}`,
          input.actorId,
          input.actorType,
          input.source,
          input.action,
          input.targetType,
          input.targetId,
          input.requestId,
          JSON.stringify(input.after),
          input.createdAt,
          prevHash,
          hash,
        ),
    );
    prevHash = hash;
  }
  return statements;
}

const row = (id: string) =>
  db()
    .prepare(
      'SELECT type, status, version, risk_score, risk_level, risk_factors, template_id FROM change_requests WHERE id = ?1',
    )
    .bind(id)
    .first<{
      type: string;
      status: string;
      version: number;
      risk_score: number | null;
      risk_level: string | null;
      risk_factors: string | null;
      template_id: string | null;
    }>();

const chainOf = async (tenant: string) => verifyAuditChain(await auditChain(db(), tenant));

beforeAll(async () => {
  await applyD1Migrations(
    db(),
    env.TEST_MIGRATIONS.filter((m) => m.name < '0009'),
  );
  await db().batch([
    ...OLD_CHANGES.map(insertOld),
    ...(await oldChain(
      'legacy-a',
      OLD_CHANGES.filter((c) => c.tenant === 'legacy-a'),
    )),
    ...(await oldChain(
      'legacy-b',
      OLD_CHANGES.filter((c) => c.tenant === 'legacy-b'),
    )),
  ]);
  // Now the real migration, and whatever follows it.
  await applyD1Migrations(db(), env.TEST_MIGRATIONS);
});

describe('migration 0009 on STANDARD changes from before templates', () => {
  it('sends the ones not yet approved to the CAB as NORMAL changes, one version on', async () => {
    expect(await row('CHG-OLD-DRAFT')).toMatchObject({ type: 'NORMAL', status: 'DRAFT', version: 3 });
    expect(await row('CHG-OLD-SUBMITTED')).toMatchObject({
      type: 'NORMAL',
      status: 'PENDING_APPROVAL',
      version: 3,
      risk_score: 10,
      risk_level: 'LOW',
    });
    const pending = await row('CHG-OLD-PENDING');
    expect(pending).toMatchObject({
      type: 'NORMAL',
      status: 'PENDING_APPROVAL',
      risk_score: 30,
      risk_level: 'MEDIUM',
    });
    // Scored as a NORMAL change: the type factor is added, so the factors still add up to the score.
    const factors = JSON.parse(pending?.risk_factors as string) as { key: string; contribution: number }[];
    expect(factors).toContainEqual({ key: 'type', label: 'NORMAL change', contribution: 10 });
    expect(factors.reduce((n, f) => n + f.contribution, 0)).toBe(30);
    expect(await row('CHG-OLD-B-DRAFT')).toMatchObject({ type: 'NORMAL', status: 'DRAFT' });
  });

  it('leaves approved and later STANDARD changes, and other changes, as they were', async () => {
    expect(await row('CHG-OLD-APPROVED')).toMatchObject({ type: 'STANDARD', status: 'APPROVED', version: 2 });
    expect(await row('CHG-OLD-DONE')).toMatchObject({ type: 'STANDARD', status: 'COMPLETED', version: 2 });
    expect(await row('CHG-OLD-NORMAL')).toMatchObject({ type: 'NORMAL', risk_score: 30, version: 2 });
  });

  it('records what it changed for the application to audit; the chains still verify meanwhile', async () => {
    const { results } = await db()
      .prepare('SELECT tenant_id, change_id, audited_at FROM change_migrations ORDER BY change_id')
      .all<{ tenant_id: string; change_id: string; audited_at: string | null }>();
    expect(results).toEqual([
      { tenant_id: 'legacy-b', change_id: 'CHG-OLD-B-DRAFT', audited_at: null },
      { tenant_id: 'legacy-a', change_id: 'CHG-OLD-DRAFT', audited_at: null },
      { tenant_id: 'legacy-a', change_id: 'CHG-OLD-PENDING', audited_at: null },
      { tenant_id: 'legacy-a', change_id: 'CHG-OLD-SUBMITTED', audited_at: null },
    ]);
    expect(await chainOf('legacy-a')).toMatchObject({ valid: true, checked: 6 });
  });

  it('the cron writes one chained audit event per migrated change, once, and the chains verify', async () => {
    const cronEnv = { ...env, DB: db() };
    expect(await auditMigrations(cronEnv)).toBe(4);
    const events = (await auditChain(db(), 'legacy-a')).filter((e) => e.action === 'change.migrated');
    expect(events.map((e) => e.targetId).sort()).toEqual([
      'CHG-OLD-DRAFT',
      'CHG-OLD-PENDING',
      'CHG-OLD-SUBMITTED',
    ]);
    const submitted = events.find((e) => e.targetId === 'CHG-OLD-SUBMITTED');
    expect(submitted).toMatchObject({
      actorId: 'migration',
      actorType: 'system',
      source: 'system',
      before: { type: 'STANDARD', status: 'SUBMITTED', version: 2, riskScore: 0, riskLevel: 'LOW' },
      after: {
        type: 'NORMAL',
        status: 'PENDING_APPROVAL',
        version: 3,
        riskScore: 10,
        riskLevel: 'LOW',
        migration: '0009_standard_requires_template',
        reason: expect.stringContaining('goes to the CAB as a NORMAL change'),
      },
    });
    expect(await chainOf('legacy-a')).toEqual({ valid: true, checked: 9, brokenAtSeq: null, reason: null });
    expect(await chainOf('legacy-b')).toEqual({ valid: true, checked: 2, brokenAtSeq: null, reason: null });

    // Again: nothing left to audit, nothing written twice.
    expect(await auditMigrations(cronEnv)).toBe(0);
    expect((await auditChain(db(), 'legacy-a')).length).toBe(9);
    // A writer that raced for the same rows cannot mark them audited a second time.
    await expect(
      db()
        .prepare("UPDATE change_migrations SET audited_at = 'again' WHERE change_id = 'CHG-OLD-DRAFT'")
        .run(),
    ).rejects.toThrow(/CHANGE_MIGRATION_ALREADY_AUDITED/);
  });

  it('a migrated draft, submitted, goes to the CAB like any NORMAL change', async () => {
    const principal: Principal = {
      id: 'rita',
      tenantId: 'legacy-a',
      roles: ['requester'],
      kind: 'user',
      name: 'rita',
      email: null,
    };
    const ctx = createRequestContext({ db: db(), requestId: 'submit-old', principal }) as AuthedContext;
    const change = await submitChange(ctx, 'CHG-OLD-DRAFT');
    expect(change).toMatchObject({ type: 'NORMAL', status: 'PENDING_APPROVAL', riskLevel: 'LOW' });
    expect(await chainOf('legacy-a')).toMatchObject({ valid: true, checked: 10 });
  });
});
