// src/db/errors.ts on the errors the Node runtime's SQLite really throws: better-sqlite3's own
// (SqliteError, message and code) and as src/runtime/node/sqlite.ts words them for the app (D1's text).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { classifyDbError, isGuard, isUniqueViolation } from '../../src/db/errors.ts';
import { openSqliteD1 } from '../../src/runtime/node/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'changeflow-dberrors-'));
const path = join(dir, 'probe.sqlite');
const db = openSqliteD1(path, { busyTimeoutMs: 0 });
after(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

db.sqlite.exec(`
  CREATE TABLE probe_pairs (id TEXT PRIMARY KEY, a TEXT, b TEXT, v INTEGER, UNIQUE (a, b));
  CREATE TRIGGER probe_version_guard BEFORE UPDATE ON probe_pairs WHEN NEW.v <> OLD.v + 1
  BEGIN SELECT RAISE(ABORT, 'CHANGE_VERSION_CONFLICT'); END;
  CREATE TRIGGER probe_live_guard BEFORE DELETE ON probe_pairs
  BEGIN SELECT RAISE(ABORT, 'WORKFLOW_HAS_LIVE_EXECUTIONS'); END;
  INSERT INTO probe_pairs VALUES ('p1', 'x', 'y', 1);
`);

async function failure(run) {
  try {
    await run();
  } catch (e) {
    return e;
  }
  assert.fail('expected a failure');
}

test('UNIQUE: through the D1 shim (statement and batch) and from better-sqlite3 itself', async () => {
  const insert = () => db.prepare("INSERT INTO probe_pairs VALUES ('p2', 'x', 'y', 1)");
  for (const e of [
    await failure(() => insert().run()),
    await failure(() => db.batch([insert()])),
    await failure(() => db.sqlite.exec("INSERT INTO probe_pairs VALUES ('p2', 'x', 'y', 1)")),
  ]) {
    assert.deepEqual(classifyDbError(e), { kind: 'unique', table: 'probe_pairs', columns: ['a', 'b'] });
    assert.equal(isUniqueViolation(e, 'probe_pairs'), true);
  }
  const pk = await failure(() => db.prepare("INSERT INTO probe_pairs VALUES ('p1', 'q', 'r', 1)").run());
  assert.match(pk.message, /SQLITE_CONSTRAINT_PRIMARYKEY/);
  assert.deepEqual(classifyDbError(pk), { kind: 'unique', table: 'probe_pairs', columns: ['id'] });
});

test("a trigger's RAISE: the version guard and another guard", async () => {
  const stale = await failure(() => db.batch([db.prepare("UPDATE probe_pairs SET v = 7 WHERE id = 'p1'")]));
  assert.match(stale.message, /^D1_ERROR: CHANGE_VERSION_CONFLICT: SQLITE_CONSTRAINT/);
  assert.deepEqual(classifyDbError(stale), { kind: 'version-conflict', guard: 'CHANGE_VERSION_CONFLICT' });
  const raw = await failure(() => db.sqlite.exec("UPDATE probe_pairs SET v = 7 WHERE id = 'p1'"));
  assert.equal(raw.code, 'SQLITE_CONSTRAINT_TRIGGER');
  assert.deepEqual(classifyDbError(raw), { kind: 'version-conflict', guard: 'CHANGE_VERSION_CONFLICT' });
  const live = await failure(() => db.prepare("DELETE FROM probe_pairs WHERE id = 'p1'").run());
  assert.deepEqual(classifyDbError(live), { kind: 'guard', guard: 'WORKFLOW_HAS_LIVE_EXECUTIONS' });
  assert.equal(isGuard(live, 'WORKFLOW_HAS_LIVE_EXECUTIONS'), true);
  assert.equal(isGuard(live, 'WORKFLOW_NOT_FOUND'), false);
});

test('SQLITE_BUSY: another connection holds the write lock past the busy timeout', async () => {
  const other = new Database(path);
  other.exec('BEGIN IMMEDIATE');
  try {
    const viaShim = await failure(() =>
      db.prepare("INSERT INTO probe_pairs VALUES ('p9', 'b', 'c', 1)").run(),
    );
    assert.equal(viaShim.message, 'D1_ERROR: database is locked: SQLITE_BUSY');
    assert.deepEqual(classifyDbError(viaShim), { kind: 'busy' });
    const raw = new Database(path, { timeout: 0 });
    const direct = await failure(() => raw.exec("INSERT INTO probe_pairs VALUES ('p9', 'b', 'c', 1)"));
    raw.close();
    assert.equal(direct.code, 'SQLITE_BUSY');
    assert.deepEqual(classifyDbError(direct), { kind: 'busy' });
  } finally {
    other.exec('ROLLBACK');
    other.close();
  }
});

test('anything else is other', async () => {
  const e = await failure(() => db.prepare('SELECT * FROM no_such_table').all());
  assert.deepEqual(classifyDbError(e), { kind: 'other' });
});
