import { applyD1Migrations, env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Migration 0018 rebuilds the outbox (SQLite cannot alter its kind CHECK): on a database in the
 * shape before it, every row comes through as it was, claims and all, and the new kind is accepted
 * while unknown kinds are still refused.
 */

const db = () => env.MIGRATION_DB;
const COLUMNS =
  'id, tenant_id, kind, payload, actor, source, tool_name, request_id, created_at, attempts, next_attempt_at, lease_id, lease_until, last_error, done_at';

const OLD_ROWS = [
  [
    'obx_1',
    't1',
    'wake-gates',
    '{"changeId":"CHG-1"}',
    null,
    'graphql',
    null,
    'req-1',
    '2026-11-01T09:00:00.000Z',
    0,
    '2026-11-01T09:00:00.000Z',
    null,
    null,
    null,
    null,
  ],
  [
    'obx_2',
    't1',
    'change-approved',
    '{"changeId":"CHG-2"}',
    '{"id":"u1","tenantId":"t1","kind":"user","roles":["approver"]}',
    'mcp',
    'approve_change',
    'req-2',
    '2026-11-01T09:01:00.000Z',
    3,
    '2026-11-01T09:30:00.000Z',
    'lease-1',
    '2026-11-01T09:32:00.000Z',
    'boom',
    null,
  ],
  [
    'obx_settle_exe_1',
    't2',
    'settle-runbook',
    '{"executionId":"exe_1"}',
    null,
    'system',
    null,
    'exe_1',
    '2026-11-01T09:02:00.000Z',
    1,
    '2026-11-01T09:02:00.000Z',
    null,
    null,
    null,
    '2026-11-01T09:03:00.000Z',
  ],
];

beforeAll(async () => {
  await applyD1Migrations(
    db(),
    env.TEST_MIGRATIONS.filter((m) => m.name < '0018'),
  );
  await db().batch(
    OLD_ROWS.map((r) =>
      db()
        .prepare(`INSERT INTO outbox (${COLUMNS}) VALUES (${r.map((_, i) => `?${i + 1}`).join(', ')})`)
        .bind(...r),
    ),
  );
  await applyD1Migrations(db(), env.TEST_MIGRATIONS);
});

describe('migration 0018 on the outbox', () => {
  it('keeps every row as it was', async () => {
    const rows = await db().prepare(`SELECT ${COLUMNS} FROM outbox ORDER BY id`).raw();
    expect(rows).toEqual([...OLD_ROWS].sort((a, b) => String(a[0]).localeCompare(String(b[0]))));
  });

  it('accepts webhook deliveries and still refuses an unknown kind', async () => {
    const insert = (id: string, kind: string) =>
      db()
        .prepare(
          `INSERT INTO outbox (id, tenant_id, kind, payload, source, request_id, created_at, next_attempt_at)
           VALUES (?1, 't1', ?2, '{}', 'system', 'r', '2026-11-02T00:00:00.000Z', '2026-11-02T00:00:00.000Z')`,
        )
        .bind(id, kind)
        .run();
    await insert('obx_whd_1', 'webhook-delivery');
    await expect(insert('obx_bad', 'send-email')).rejects.toThrow(/CHECK/);
    const indexes = await db()
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' ORDER BY name`)
      .all<{ name: string }>();
    expect(indexes.results.map((r) => r.name)).toEqual(
      expect.arrayContaining(['idx_outbox_done', 'idx_outbox_due', 'idx_outbox_tenant_due']),
    );
  });
});
