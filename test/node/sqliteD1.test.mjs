// The SQLite adapter against the D1 interface the code uses: results and errors shaped as D1's
// (compared with miniflare's D1 while writing it), batches as one transaction, migrations.
// Runs under Node with tsx (npm run test:node): better-sqlite3 cannot load in workerd.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { applyMigrations, openSqliteD1 } from '../../src/runtime/node/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'changeflow-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh database holding table t (unique b, a trigger that refuses c = 'bad') and p ← ch (foreign key). */
function scratch() {
  const db = openSqliteD1(':memory:');
  db.sqlite.exec(`
    CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT UNIQUE, c TEXT NOT NULL DEFAULT 'x');
    CREATE TRIGGER t_guard BEFORE UPDATE ON t WHEN NEW.c = 'bad' BEGIN SELECT RAISE(ABORT, 'T_VERSION_CONFLICT'); END;
    CREATE TABLE p (id INTEGER PRIMARY KEY);
    CREATE TABLE ch (pid INTEGER REFERENCES p (id));
  `);
  return db;
}

const count = async (db) => db.prepare('SELECT COUNT(*) AS n FROM t').first('n');

describe('prepared statements', () => {
  let db;
  before(() => {
    db = scratch();
  });
  after(() => db.close());

  test('run() reports what changed, in D1 meta', async () => {
    const r = await db.prepare('INSERT INTO t (b) VALUES (?1)').bind('one').run();
    assert.equal(r.success, true);
    assert.deepEqual(r.results, []);
    assert.equal(r.meta.changes, 1);
    assert.equal(r.meta.last_row_id, 1);
    assert.equal(r.meta.changed_db, true);
    for (const key of ['duration', 'size_after', 'rows_read', 'rows_written']) {
      assert.equal(typeof r.meta[key], 'number', key);
    }
    await db.prepare('INSERT INTO t (b) VALUES (?)').bind('two').run();
  });

  test('all() returns rows as objects; first() the first row, one column of it, or null', async () => {
    const all = await db.prepare('SELECT a, b FROM t ORDER BY a').all();
    assert.equal(all.success, true);
    assert.deepEqual(all.results, [
      { a: 1, b: 'one' },
      { a: 2, b: 'two' },
    ]);
    assert.equal(all.meta.changes, 0);
    assert.deepEqual(await db.prepare('SELECT a, b FROM t ORDER BY a').first(), { a: 1, b: 'one' });
    assert.equal(await db.prepare('SELECT a, b FROM t ORDER BY a DESC').first('b'), 'two');
    assert.equal(await db.prepare('SELECT a FROM t WHERE a = ?1').bind(99).first(), null);
    assert.equal(await db.prepare('SELECT a FROM t WHERE a = ?1').bind(99).first('a'), null);
    await assert.rejects(db.prepare('SELECT a FROM t').first('nope'), {
      message: 'D1_COLUMN_NOTFOUND: Column not found (nope)',
    });
  });

  test('raw() returns arrays, with the column names first when asked', async () => {
    const sql = 'SELECT a, b FROM t ORDER BY a';
    assert.deepEqual(await db.prepare(sql).raw(), [
      [1, 'one'],
      [2, 'two'],
    ]);
    assert.deepEqual(await db.prepare(sql).raw({ columnNames: true }), [
      ['a', 'b'],
      [1, 'one'],
      [2, 'two'],
    ]);
    assert.deepEqual(await db.prepare('SELECT a, b FROM t WHERE 0').raw({ columnNames: true }), [['a', 'b']]);
    // The statement is back to objects afterwards.
    assert.deepEqual(await db.prepare(sql).first(), { a: 1, b: 'one' });
  });

  test('binds ?NNN by position (repeated, out of order) and bare ? as the next number', async () => {
    const row = await db.prepare('SELECT ?2 AS x, ?1 AS y, ?2 AS z').bind('first', 'second').first();
    assert.deepEqual(row, { x: 'second', y: 'first', z: 'second' });
    assert.deepEqual(await db.prepare('SELECT ? AS x, ? AS y').bind(1, 2).first(), { x: 1, y: 2 });
    const quoted = await db.prepare(`SELECT '?1 is text' AS s, ?1 AS v -- ?2 is a comment`).bind(7).first();
    assert.deepEqual(quoted, { s: '?1 is text', v: 7 });
  });

  test('binds the same whether values go by position or by name: in order, repeated, gapped, named', async () => {
    // ?1 … ?N once each in order (and bare ?s) bind by position; anything else by name.
    const cases = [
      ['SELECT ?1 AS a, ?2 AS b, ?3 AS c', [1, 'two', null], { a: 1, b: 'two', c: null }],
      ['SELECT ? AS a, ?2 AS b, ? AS c', [1, 2, 3], { a: 1, b: 2, c: 3 }],
      ['SELECT ?2 AS a, ? AS b', [1, 2, 3], { a: 2, b: 3 }],
      ['SELECT ?1 AS a, ?1 AS b, ?2 AS c', ['x', 'y'], { a: 'x', b: 'x', c: 'y' }],
      ['SELECT :first AS a, :second AS b, :first AS c', ['x', 'y'], { a: 'x', b: 'y', c: 'x' }],
      ['SELECT :first AS a, ?5 AS b', [1, 2, 3, 4, 5], { a: 1, b: 5 }],
      [`SELECT ?1 AS a, '?2' AS b /* ?3 */ -- ?4`, [7], { a: 7, b: '?2' }],
    ];
    for (const [sql, values, expected] of cases) {
      assert.deepEqual(
        await db
          .prepare(sql)
          .bind(...values)
          .first(),
        expected,
        sql,
      );
    }
    const wrong = { message: 'D1_ERROR: Wrong number of parameter bindings for SQL query.' };
    await assert.rejects(db.prepare('SELECT ?1, ?2, ?3').bind(1, 2).all(), wrong);
    await assert.rejects(db.prepare('SELECT ?, ?').bind(1, 2, 3).all(), wrong);
  });

  test('reads blobs back as arrays of bytes through all(), first() and raw(), whatever the column', async () => {
    const sql = "SELECT x'0001ff' AS lit, ?1 AS bound, 'text' AS s, 3 AS n, NULL AS z";
    const expected = { lit: [0, 1, 255], bound: [9, 8], s: 'text', n: 3, z: null };
    const stmt = db.prepare(sql).bind(new Uint8Array([9, 8]));
    assert.deepEqual((await stmt.all()).results, [expected]);
    assert.deepEqual(await stmt.first(), expected);
    const [columns, row] = await stmt.raw({ columnNames: true });
    assert.deepEqual(columns, Object.keys(expected));
    assert.deepEqual(row, Object.values(expected));
    // The names handed out are the caller's own: changing them changes nothing for the next call.
    columns.push('mine');
    assert.deepEqual((await stmt.raw({ columnNames: true }))[0], Object.keys(expected));
  });

  test('refuses a wrong number of values, as D1 does', async () => {
    const wrong = { message: 'D1_ERROR: Wrong number of parameter bindings for SQL query.' };
    await assert.rejects(db.prepare('SELECT ?1').bind(1, 2).all(), wrong);
    await assert.rejects(db.prepare('SELECT ?1, ?2').bind(1).all(), wrong);
    await assert.rejects(db.prepare('SELECT ?1').all(), wrong);
  });

  test('a prepared statement binds anew each time', async () => {
    const byId = db.prepare('SELECT b FROM t WHERE a = ?1');
    assert.equal(await byId.bind(1).first('b'), 'one');
    assert.equal(await byId.bind(2).first('b'), 'two');
  });

  test('bind() converts and refuses values as D1 does', async () => {
    assert.deepEqual(await db.prepare('SELECT ?1 AS t, ?2 AS f, ?3 AS n').bind(true, false, null).first(), {
      t: 1,
      f: 0,
      n: null,
    });
    const blob = await db
      .prepare('SELECT ?1 AS b, typeof(?1) AS type')
      .bind(new Uint8Array([1, 2, 255]))
      .first();
    assert.deepEqual(blob, { b: [1, 2, 255], type: 'blob' });
    // Refused when bound, not when run.
    assert.throws(() => db.prepare('SELECT ?1').bind(undefined), {
      message: "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'",
    });
    assert.throws(() => db.prepare('SELECT ?1').bind({ a: 1 }), {
      message: "D1_TYPE_ERROR: Type 'object' not supported for value '[object Object]'",
    });
    assert.throws(() => db.prepare('SELECT ?1').bind(3n), { message: /^D1_TYPE_ERROR: Type 'bigint'/ });
  });

  test('a bad statement fails when run, with the SQLite message and code', async () => {
    const bad = db.prepare('SELEC 1'); // no throw yet
    await assert.rejects(bad.all(), { message: 'D1_ERROR: near "SELEC": syntax error: SQLITE_ERROR' });
    await assert.rejects(db.prepare('SELECT * FROM nope').all(), {
      message: 'D1_ERROR: no such table: nope: SQLITE_ERROR',
    });
    await assert.rejects(db.prepare('   ').run(), { message: 'D1_ERROR: No SQL statements detected.' });
  });

  test('UNIQUE and trigger RAISE failures read as they do on D1', async () => {
    await assert.rejects(db.prepare('INSERT INTO t (b) VALUES (?1)').bind('one').run(), {
      message:
        'D1_ERROR: UNIQUE constraint failed: t.b: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_UNIQUE)',
    });
    await assert.rejects(db.prepare(`UPDATE t SET c = 'bad' WHERE a = 1`).run(), {
      message: 'D1_ERROR: T_VERSION_CONFLICT: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_TRIGGER)',
    });
  });

  test('enforces foreign keys, as D1 does', async () => {
    assert.equal(await db.prepare('PRAGMA foreign_keys').first('foreign_keys'), 1);
    await assert.rejects(db.prepare('INSERT INTO ch (pid) VALUES (42)').run(), {
      message: /^D1_ERROR: FOREIGN KEY constraint failed: SQLITE_CONSTRAINT/,
    });
  });

  test('INSERT … RETURNING returns its rows and counts its change', async () => {
    const r = await db.prepare(`INSERT INTO t (b) VALUES ('three') RETURNING a, b`).all();
    assert.deepEqual(r.results, [{ a: 3, b: 'three' }]);
    assert.equal(r.meta.changes, 1);
    assert.equal(r.meta.last_row_id, 3);
  });

  test('refuses explicit transactions, which D1 does not run either', async () => {
    await assert.rejects(db.prepare('BEGIN').run(), { message: /^D1_ERROR: .*db\.batch\(\)/ });
  });
});

describe('batch()', () => {
  test('runs the statements in order and returns one result each', async () => {
    const db = scratch();
    const results = await db.batch([
      db.prepare('INSERT INTO t (b) VALUES (?1)').bind('a'),
      db.prepare('INSERT INTO t (b) VALUES (?1)').bind('b'),
      db.prepare('SELECT COUNT(*) AS n FROM t'),
    ]);
    assert.equal(results.length, 3);
    assert.equal(results[0].meta.changes, 1);
    assert.deepEqual(results[2].results, [{ n: 2 }]);
    assert.ok(results.every((r) => r.success === true));
    db.close();
  });

  test('gives every result of a writing batch the size of the database after it committed', async () => {
    const db = scratch();
    const size = () =>
      db.sqlite
        .prepare('SELECT page_count * page_size AS s FROM pragma_page_count(), pragma_page_size()')
        .get().s;
    const before = size();
    const results = await db.batch(
      Array.from({ length: 20 }, (_, i) =>
        db.prepare('INSERT INTO t (b) VALUES (?1)').bind(`${i}:${'x'.repeat(2000)}`),
      ),
    );
    const afterBatch = size();
    assert.ok(afterBatch > before, 'the batch grew the file');
    assert.ok(results.every((r) => r.meta.size_after === afterBatch));
    // A single write still reads it after itself.
    const one = await db.prepare('INSERT INTO t (b) VALUES (?1)').bind('y'.repeat(20_000)).run();
    assert.equal(one.meta.size_after, size());
    db.close();
  });

  test('is one transaction: a statement failing in the middle undoes the earlier ones', async () => {
    const db = scratch();
    await db.prepare(`INSERT INTO t (b) VALUES ('taken')`).run();
    await assert.rejects(
      db.batch([
        db.prepare('INSERT INTO t (b) VALUES (?1)').bind('first'),
        db.prepare(`UPDATE t SET c = 'changed'`),
        db.prepare('INSERT INTO t (b) VALUES (?1)').bind('taken'),
        db.prepare('INSERT INTO t (b) VALUES (?1)').bind('last'),
      ]),
      { message: /^D1_ERROR: UNIQUE constraint failed: t\.b: SQLITE_CONSTRAINT/ },
    );
    assert.deepEqual((await db.prepare('SELECT b, c FROM t').all()).results, [{ b: 'taken', c: 'x' }]);
    // And the connection is usable again: the next batch commits.
    await db.batch([db.prepare(`INSERT INTO t (b) VALUES ('after')`)]);
    assert.equal(await count(db), 2);
    db.close();
  });

  test('a trigger RAISE rolls the batch back too, with its message', async () => {
    const db = scratch();
    await db.prepare(`INSERT INTO t (b) VALUES ('row')`).run();
    await assert.rejects(
      db.batch([db.prepare(`INSERT INTO t (b) VALUES ('new')`), db.prepare(`UPDATE t SET c = 'bad'`)]),
      { message: /^D1_ERROR: T_VERSION_CONFLICT: SQLITE_CONSTRAINT/ },
    );
    assert.equal(await count(db), 1);
    db.close();
  });

  test('refuses an empty batch, and a statement that fails to compile fails the batch', async () => {
    const db = scratch();
    await assert.rejects(db.batch([]), { message: 'D1_ERROR: No SQL statements detected.' });
    await assert.rejects(db.batch([db.prepare(`INSERT INTO t (b) VALUES ('x')`), db.prepare('SELEC')]), {
      message: /^D1_ERROR: near "SELEC"/,
    });
    assert.equal(await count(db), 0);
    db.close();
  });
});

describe('exec()', () => {
  test('runs one statement per line in one transaction, naming the failing line', async () => {
    const db = scratch();
    assert.equal(
      (await db.exec(`INSERT INTO t (b) VALUES ('1');\nINSERT INTO t (b) VALUES ('2');`)).count,
      2,
    );
    await assert.rejects(db.exec(`INSERT INTO t (b) VALUES ('3');\nINSERT INTO t (b) VALUES ('1');`), {
      message:
        /^D1_EXEC_ERROR: Error in line 2: INSERT INTO t \(b\) VALUES \('1'\);: UNIQUE constraint failed/,
    });
    assert.equal(await count(db), 2);
    db.close();
  });
});

describe('the application schema', () => {
  test('migrations apply in order, once: running them again is a no-op', async () => {
    const file = join(dir, 'app.sqlite');
    const db = openSqliteD1(file);
    const applied = applyMigrations(db);
    assert.ok(applied.length >= 4, `applied ${applied}`);
    assert.equal(applied[0], '0001_init.sql');
    assert.deepEqual([...applied].sort(), applied);
    assert.deepEqual(applyMigrations(db), []);
    const recorded = await db.prepare('SELECT name FROM d1_migrations ORDER BY id').raw();
    assert.deepEqual(
      recorded.map(([name]) => name),
      applied,
    );
    assert.equal(await db.prepare('PRAGMA journal_mode').first('journal_mode'), 'wal');
    db.close();
    // Reopened, the file still needs nothing.
    const again = openSqliteD1(file);
    assert.deepEqual(applyMigrations(again), []);
    again.close();
  });

  test('a failing migration changes nothing and names the file; the ones before it stay applied', () => {
    const migrations = join(dir, 'broken-migrations');
    mkdirSync(migrations);
    writeFileSync(join(migrations, '0001_ok.sql'), 'CREATE TABLE ok (x);');
    writeFileSync(join(migrations, '0002_bad.sql'), 'CREATE TABLE half (x);\nSELEC;');
    const db = openSqliteD1(':memory:');
    assert.throws(() => applyMigrations(db, migrations), {
      message: /^Migration 0002_bad\.sql failed: near "SELEC"/,
    });
    const tables = db.sqlite
      .prepare(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
      .all();
    assert.deepEqual(
      tables.map((t) => t.name).filter((n) => !n.startsWith('sqlite_')),
      ['d1_migrations', 'ok'],
    );
    db.close();
  });

  test("the change version guard's RAISE reaches the caller as commitWithAudit expects it", async () => {
    const db = openSqliteD1(':memory:');
    applyMigrations(db);
    const now = new Date().toISOString();
    await db
      .prepare(
        `INSERT INTO change_requests (id, tenant_id, title, description, type, impact, urgency, priority, status,
           requester_id, created_at, updated_at)
         VALUES (?1, 'acme', 'T', 'D', 'NORMAL', 'LOW', 'LOW', 'P4', 'DRAFT', 'rita', ?2, ?2)`,
      )
      .bind('CHG-1', now)
      .run();
    const stale = db
      .prepare(`UPDATE change_requests SET title = 'X', version = ?2 WHERE id = ?1`)
      .bind('CHG-1', 5);
    // src/usecases/commit.ts retries on this text.
    await assert.rejects(db.batch([stale]), { message: /CHANGE_VERSION_CONFLICT/ });
    const audit = (seq) =>
      db
        .prepare(
          `INSERT INTO audit_events (tenant_id, seq, id, actor_id, actor_type, source, action, target_type, target_id,
             request_id, created_at, prev_hash, hash)
           VALUES ('acme', ?1, ?2, 'rita', 'user', 'graphql', 'a', 't', 'CHG-1', 'r', ?3, 'p', 'h')`,
        )
        .bind(seq, `evt-${seq}-${Math.random()}`, now);
    await db.batch([audit(1)]);
    // …and on this one, when two writers race for the same audit sequence number.
    await assert.rejects(db.batch([audit(1)]), { message: /UNIQUE constraint failed: audit_events/ });
    db.close();
  });
});
