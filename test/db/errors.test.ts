import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyDbError, DB_GUARDS, isGuard, isUniqueViolation } from '../../src/db/errors';

/** Runs `sql` on workerd's D1 and returns the error it throws (the real text the code sees). */
async function d1Error(sql: string): Promise<Error> {
  try {
    await env.DB.prepare(sql).run();
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected ${sql} to fail`);
}

async function d1BatchError(sql: string): Promise<Error> {
  try {
    await env.DB.batch([env.DB.prepare(sql)]);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected ${sql} to fail`);
}

describe('classifyDbError on the errors D1 (workerd) throws', () => {
  beforeAll(async () => {
    await env.DB.batch([
      env.DB.prepare(
        'CREATE TABLE IF NOT EXISTS probe_pairs (id TEXT PRIMARY KEY, a TEXT, b TEXT, v INTEGER, UNIQUE (a, b))',
      ),
      env.DB.prepare("INSERT OR IGNORE INTO probe_pairs VALUES ('p1', 'x', 'y', 1)"),
      ...DB_GUARDS.map((guard) =>
        env.DB.prepare(
          `CREATE TRIGGER IF NOT EXISTS probe_${guard.toLowerCase()} BEFORE UPDATE ON probe_pairs WHEN NEW.a = '${guard}' BEGIN SELECT RAISE(ABORT, '${guard}'); END`,
        ),
      ),
    ]);
  });

  it('a UNIQUE constraint over two columns, in a statement and in a batch', async () => {
    for (const e of [
      await d1Error("INSERT INTO probe_pairs VALUES ('p2', 'x', 'y', 1)"),
      await d1BatchError("INSERT INTO probe_pairs VALUES ('p2', 'x', 'y', 1)"),
    ]) {
      expect(e.message).toMatch(/^D1_ERROR: UNIQUE constraint failed: probe_pairs\.a, probe_pairs\.b/);
      expect(classifyDbError(e)).toEqual({ kind: 'unique', table: 'probe_pairs', columns: ['a', 'b'] });
      expect(isUniqueViolation(e, 'probe_pairs')).toBe(true);
      expect(isUniqueViolation(e, 'probe')).toBe(false);
    }
  });

  it('a primary key', async () => {
    const e = await d1Error("INSERT INTO probe_pairs VALUES ('p1', 'other', 'pair', 1)");
    expect(classifyDbError(e)).toEqual({ kind: 'unique', table: 'probe_pairs', columns: ['id'] });
  });

  it('the real partial unique index of cron starts (workflow_executions, migration 0005)', async () => {
    const row = (id: string) =>
      `INSERT INTO workflow_executions (id, tenant_id, workflow_id, workflow_version, status, trigger, trigger_ref, inputs, created_by, created_at, updated_at)
       SELECT '${id}', 'probe', 'wf_probe', 1, 'SUCCEEDED', 'CRON', '2026-01-01T00:00', '{}', 'u', '2026-01-01', '2026-01-01'`;
    await env.DB.prepare(
      "INSERT OR IGNORE INTO workflows (id, tenant_id, name, version, status, steps, triggers, created_by, created_at, updated_at) VALUES ('wf_probe', 'probe', 'probe', 1, 'ACTIVE', '[]', '[]', 'u', '2026-01-01', '2026-01-01')",
    ).run();
    await env.DB.prepare(row('ex_probe_1')).run();
    const e = await d1Error(row('ex_probe_2'));
    expect(classifyDbError(e)).toMatchObject({ kind: 'unique', table: 'workflow_executions' });
  });

  it.each(DB_GUARDS)("our trigger's RAISE(ABORT, '%s')", async (guard) => {
    const e = await d1Error(`UPDATE probe_pairs SET a = '${guard}' WHERE id = 'p1'`);
    expect(e.message).toContain(guard);
    expect(classifyDbError(e)).toEqual({
      kind:
        guard.endsWith('_VERSION_CONFLICT') || guard === 'EXECUTION_ALREADY_ENDED'
          ? 'version-conflict'
          : 'guard',
      guard,
    });
    expect(isGuard(e, guard)).toBe(true);
  });

  it('the real version guard of change_requests (migration 0001) is a version conflict', async () => {
    const { results } = await env.DB.prepare(
      "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'change_requests_version_guard'",
    ).all<{ sql: string }>();
    expect(results[0]?.sql).toContain("RAISE(ABORT, 'CHANGE_VERSION_CONFLICT')");
  });

  it('anything else is other', async () => {
    expect(classifyDbError(await d1Error('SELECT * FROM no_such_table'))).toEqual({ kind: 'other' });
    expect(classifyDbError(await d1Error("INSERT INTO probe_pairs (id) VALUES (NULL, 'too many')"))).toEqual({
      kind: 'other',
    });
    expect(classifyDbError(new Error('CHANGE_VERSION_CONFLICTS'))).toEqual({ kind: 'other' });
    expect(classifyDbError(undefined)).toEqual({ kind: 'other' });
  });
});

describe("classifyDbError on D1's transient errors", () => {
  // These cannot be provoked locally: the texts are D1's documented D1_ERRORs (developers.cloudflare.com
  // /d1/observability/debug-d1, "List of D1_ERRORs"), whose recommended action is "retry the operation",
  // or, when overloaded, to send fewer requests.
  it.each([
    'D1_ERROR: Network connection lost.',
    'D1_ERROR: D1 DB reset because its code was updated.',
    'D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset.',
    'D1_ERROR: D1 DB storage operation exceeded timeout which caused object to be reset.',
    'D1_ERROR: Internal error in D1 DB storage caused object to be reset.',
  ])('%s is retryable', (message) => {
    expect(classifyDbError(new Error(message))).toEqual({ kind: 'retryable' });
  });

  it.each([
    'D1_ERROR: D1 DB is overloaded. Too many requests queued.',
    'D1_ERROR: D1 DB is overloaded. Requests queued for too long.',
  ])('%s is overloaded', (message) => {
    expect(classifyDbError(new Error(message))).toEqual({ kind: 'overloaded' });
  });
});
