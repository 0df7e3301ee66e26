import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { pruneExpired } from '../../src/usecases/retention';
import { token } from '../helpers/auth';
import { gqlError } from '../helpers/changes';
import { gqlOk } from '../helpers/graphql';

const POLICY = '{ retentionPolicy { stepOutputDays idempotencyHours eraseFreeText legalHold updatedBy } }';
const SET = `mutation($days: Int, $hours: Int, $hold: Boolean) {
  setRetentionPolicy(stepOutputDays: $days, idempotencyHours: $hours, legalHold: $hold) {
    stepOutputDays idempotencyHours eraseFreeText legalHold updatedBy } }`;

const NOW = new Date('2027-03-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const DAY = 86_400_000;
const HOUR = 3_600_000;

/** An ended execution with outputs, its steps (three ended `ageDays` ago, one still running) and two idempotency records. */
async function seed(tenant: string) {
  const statements: D1PreparedStatement[] = [
    env.DB.prepare(
      `INSERT INTO workflows (id, tenant_id, name, status, steps, triggers, created_by, created_at, updated_at)
       VALUES (?1, ?2, 'wf', 'INACTIVE', '[]', '[]', 'rita', ?3, ?3)`,
    ).bind(`wf-${tenant}`, tenant, ago(200 * DAY)),
  ];
  for (const [suffix, ageDays] of [
    ['old', 100],
    ['recent', 10],
  ] as const) {
    const id = `exe-${tenant}-${suffix}`;
    statements.push(
      env.DB.prepare(
        `INSERT INTO workflow_executions (id, tenant_id, workflow_id, workflow_version, status, trigger, inputs, outputs,
           created_by, created_at, ended_at, updated_at)
         VALUES (?1, ?2, ?4, 1, 'SUCCEEDED', 'MANUAL', '{}', '{"answer":42}', 'rita', ?3, ?3, ?3)`,
      ).bind(id, tenant, ago(ageDays * DAY), `wf-${tenant}`),
    );
    for (let i = 0; i < 4; i++) {
      const ended = i < 3 ? ago(ageDays * DAY) : null;
      statements.push(
        env.DB.prepare(
          `INSERT INTO workflow_step_runs (execution_id, tenant_id, step_index, step_id, type, status, started_at, ended_at, output)
           VALUES (?1, ?2, ?3, ?4, 'http', ?5, ?6, ?7, '{"body":"personal?"}')`,
        ).bind(id, tenant, i, `s${i}`, ended ? 'SUCCEEDED' : 'RUNNING', ago(ageDays * DAY), ended),
      );
    }
  }
  for (const [key, age] of [
    ['old-key', 30 * HOUR],
    ['new-key', 2 * HOUR],
  ] as const) {
    statements.push(
      env.DB.prepare(
        `INSERT INTO idempotency_keys (tenant_id, principal_id, key, request_hash, request_id, created_at, expires_at)
         VALUES (?1, 'rita', ?2, 'h', 'r', ?3, ?4)`,
      ).bind(tenant, key, ago(age), new Date(NOW.getTime() + DAY).toISOString()),
    );
  }
  await env.DB.batch(statements);
}

async function state(tenant: string) {
  const steps = await env.DB.prepare(
    `SELECT execution_id AS e, step_index AS i, output IS NOT NULL AS kept FROM workflow_step_runs
     WHERE tenant_id = ?1 ORDER BY execution_id, step_index`,
  )
    .bind(tenant)
    .all<{ e: string; i: number; kept: number }>();
  const executions = await env.DB.prepare(
    'SELECT id, outputs IS NOT NULL AS kept FROM workflow_executions WHERE tenant_id = ?1 ORDER BY id',
  )
    .bind(tenant)
    .all<{ id: string; kept: number }>();
  const keys = await env.DB.prepare('SELECT key FROM idempotency_keys WHERE tenant_id = ?1 ORDER BY key')
    .bind(tenant)
    .all<{ key: string }>();
  return {
    steps: steps.results.map((r) => `${r.e.split('-').at(-1)}/${r.i}:${r.kept ? 'kept' : 'pruned'}`),
    executions: executions.results.map((r) => `${r.id.split('-').at(-1)}:${r.kept ? 'kept' : 'pruned'}`),
    keys: keys.results.map((r) => r.key),
  };
}

describe('retention policy', () => {
  it('shows the defaults, is changed by an admin only, within bounds, and every change is audited', async () => {
    const tenant = 'retention-policy';
    const admin = await token({ tenant, roles: ['admin'], sub: 'root' });
    expect((await gqlOk<{ retentionPolicy: unknown }>(POLICY, {}, admin)).retentionPolicy).toEqual({
      stepOutputDays: 90,
      idempotencyHours: 24,
      eraseFreeText: false,
      legalHold: false,
      updatedBy: null,
    });
    const manager = await token({ tenant, roles: ['change_manager'], sub: 'max' });
    expect((await gqlError(POLICY, {}, manager)).code).toBe('FORBIDDEN');
    expect((await gqlError(SET, { days: 30 }, manager)).code).toBe('FORBIDDEN');
    for (const bad of [{ days: 0 }, { days: 100_000 }, { hours: 0 }, { hours: 24 * 31 }]) {
      expect((await gqlError(SET, bad, admin)).code, JSON.stringify(bad)).toBe('VALIDATION_FAILED');
    }
    const set = await gqlOk<{ setRetentionPolicy: unknown }>(SET, { days: 30 }, admin);
    expect(set.setRetentionPolicy).toEqual({
      stepOutputDays: 30,
      idempotencyHours: 24,
      eraseFreeText: false,
      legalHold: false,
      updatedBy: 'root',
    });
    const audited = await env.DB.prepare(
      `SELECT actor_id, before_json, after_json FROM audit_events WHERE tenant_id = ?1 AND action = 'retention_policy.updated'`,
    )
      .bind(tenant)
      .all<{ actor_id: string; before_json: string; after_json: string }>();
    expect(audited.results).toHaveLength(1);
    expect(audited.results[0]?.actor_id).toBe('root');
    expect(JSON.parse(audited.results[0]?.before_json ?? '{}').stepOutputDays).toBe(90);
    expect(JSON.parse(audited.results[0]?.after_json ?? '{}').stepOutputDays).toBe(30);
    // Another tenant still has its own defaults.
    const other = await token({ tenant: 'retention-policy-other', roles: ['admin'], sub: 'root' });
    expect(
      (await gqlOk<{ retentionPolicy: { stepOutputDays: number } }>(POLICY, {}, other)).retentionPolicy
        .stepOutputDays,
    ).toBe(90);
  });

  it('prunes each tenant by its own policy in bounded batches, nothing under legal hold, no audit event', async () => {
    const [plain, short, held] = ['prune-default', 'prune-short', 'prune-held'];
    await gqlOk(SET, { days: 1, hours: 1 }, await token({ tenant: short, roles: ['admin'], sub: 'root' }));
    await gqlOk(
      SET,
      { days: 1, hours: 1, hold: true },
      await token({ tenant: held, roles: ['admin'], sub: 'root' }),
    );
    for (const t of [plain, short, held]) await seed(t);
    const auditCount = async () =>
      (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events').first<{ n: number }>())?.n;
    const eventsBefore = await auditCount();
    const heldBefore = await state(held);

    const runs = [];
    for (let i = 0; i < 20; i++) {
      const r = await pruneExpired(env.DB, NOW, 2);
      runs.push(r);
      expect(r.stepOutputs).toBeLessThanOrEqual(2);
      expect(r.executionOutputs).toBeLessThanOrEqual(2);
      expect(r.idempotencyRecords).toBeLessThanOrEqual(2);
      if (r.stepOutputs + r.executionOutputs + r.idempotencyRecords === 0) break;
    }
    // 3 + 6 step outputs in batches of 2: it took several runs, and it ended.
    expect(runs.length).toBeGreaterThan(4);
    expect(runs.at(-1)).toEqual({ stepOutputs: 0, executionOutputs: 0, idempotencyRecords: 0 });

    expect(await state(plain)).toEqual({
      steps: [
        'old/0:pruned',
        'old/1:pruned',
        'old/2:pruned',
        'old/3:kept',
        ...[0, 1, 2, 3].map((i) => `recent/${i}:kept`),
      ],
      executions: ['old:pruned', 'recent:kept'],
      keys: ['new-key'],
    });
    expect(await state(short)).toEqual({
      steps: [0, 1, 2, 3]
        .flatMap((i) => [`old/${i}:${i < 3 ? 'pruned' : 'kept'}`])
        .concat([0, 1, 2, 3].map((i) => `recent/${i}:${i < 3 ? 'pruned' : 'kept'}`)),
      executions: ['old:pruned', 'recent:pruned'],
      keys: [],
    });
    expect(await state(held)).toEqual(heldBefore);
    expect(heldBefore.keys).toEqual(['new-key', 'old-key']);
    expect(await auditCount()).toBe(eventsBefore);

    // Lifting the hold lets the next run prune what is due.
    await gqlOk(SET, { hold: false }, await token({ tenant: held, roles: ['admin'], sub: 'root' }));
    await pruneExpired(env.DB, NOW, 50);
    expect((await state(held)).keys).toEqual([]);
  });
});
