// Backups that restore (issue 15 item 5): the Node runtime exports a tenant holding every kind of
// row (`exportTenant`, to AUDIT_ARCHIVE_DIR), `npm run restore` rebuilds it into a fresh SQLite
// file that matches the source table by table, and the restored chain verifies offline against
// the export's signed digests. A tampered export (a file edited, an event edited, the newest
// event deleted, a pair reordered, the manifest recomputed to match) is refused with its finding,
// and nothing is left at the target.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { EXCLUDED_TABLES, EXPORTED_TABLES } from '../../src/domain/tenantExport.ts';
import { newAuditSigningKey, signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';
import { openSqliteD1 } from '../../src/runtime/node/sqlite.ts';
import { graphqlOk } from './graphqlOk.mjs';
import { restoreCli, seedEveryKindOfRow } from './restoreSeed.mjs';

const SECRET = 'restore-test-secret-0123456789abcdef01';
const TENANT = 'acme';
const EXPORT = 'mutation { exportTenant { id status prefix tablesDone rows auditHeadSeq } }';

describe('exportTenant and npm run restore', () => {
  let dir;
  let app;
  let server;
  let admin;
  let exported;
  let exportDir;
  let keysFile;

  const rowsOf = (db, table, tenant) => {
    const key = EXPORTED_TABLES.find((t) => t.name === table)?.key ?? [];
    return db.sqlite
      .prepare(`SELECT * FROM ${table} WHERE tenant_id = ? ORDER BY ${key.join(', ')}`)
      .all(tenant);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-restore-'));
    app = openNodeApp({
      dbPath: join(dir, 'source.sqlite'),
      env: {
        JWT_SECRET: SECRET,
        ENVIRONMENT: 'development',
        SECRETS_KEY: randomBytes(32).toString('base64'),
        AUDIT_DIGESTS_ENABLED: 'true',
        AUDIT_SIGNING_KEY: newAuditSigningKey('restore-test-1'),
        AUDIT_ARCHIVE_DIR: join(dir, 'archive'),
      },
    });
    server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
    admin = await signDevToken({ secret: SECRET, sub: 'alice', tenant: TENANT, roles: ['admin'] });
    await seedEveryKindOfRow({ base: server.url, secret: SECRET, tenant: TENANT, admin, db: app.db });
    exported = (await graphqlOk(server.url, admin)(EXPORT)).exportTenant;
    exportDir = join(dir, 'archive', exported.prefix);
    keysFile = join(dir, 'keys.json');
    writeFileSync(
      keysFile,
      await (await fetch(`${server.url}/.well-known/changeflow-audit-keys.json`)).text(),
    );
  });

  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the export completes with a manifest of counts and hashes, and no plaintext secret', () => {
    assert.equal(exported.status, 'COMPLETE');
    assert.equal(exported.tablesDone, EXPORTED_TABLES.length);
    const manifest = JSON.parse(readFileSync(join(exportDir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.tenant, TENANT);
    assert.deepEqual(
      Object.keys(manifest.tables),
      EXPORTED_TABLES.map((t) => t.name),
    );
    assert.deepEqual(manifest.excluded, Object.keys(EXCLUDED_TABLES));
    for (const [table, t] of Object.entries(manifest.tables)) {
      for (const f of t.files) {
        const bytes = readFileSync(join(exportDir, f.key));
        assert.equal(createHash('sha256').update(bytes).digest('hex'), f.sha256, `${table} ${f.key}`);
      }
    }
    // The export anchored its own chain: the newest event it holds is signed for.
    assert.equal(manifest.auditHead.seq, exported.auditHeadSeq);
    assert.equal(manifest.digests.at(-1).toSeq, manifest.auditHead.seq);
    const secrets = readdirSync(join(exportDir, 'tables/workflow_secrets')).map((f) =>
      gunzipSync(readFileSync(join(exportDir, 'tables/workflow_secrets', f))).toString(),
    );
    assert.match(secrets.join(''), /"ciphertext"/);
    assert.doesNotMatch(secrets.join(''), /restore-test-upstream-token/);
  });

  test('restores every table of the tenant, row for row, and the chain verifies', () => {
    const to = join(dir, 'restored.sqlite');
    const run = restoreCli(['--from', exportDir, '--to', to, '--keys', keysFile, '--json']);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    const result = JSON.parse(run.stdout);
    assert.deepEqual(result.findings, []);
    assert.equal(result.verification.anchoredThroughSeq, exported.auditHeadSeq);
    const source = app.db;
    const restored = openSqliteD1(to);
    try {
      for (const { name } of EXPORTED_TABLES) {
        const want = rowsOf(source, name, TENANT);
        // Every kind of row: each table of the tenant holds some.
        assert.ok(want.length > 0, `the seed wrote no ${name}`);
        // The export's own request is the newest event; later events are not in it.
        const upTo = name === 'audit_events' ? want.filter((r) => r.seq <= exported.auditHeadSeq) : want;
        const have = rowsOf(restored, name, TENANT);
        if (name === 'audit_digests')
          assert.deepEqual(
            have,
            upTo.filter((d) => d.to_seq <= exported.auditHeadSeq),
          );
        else assert.deepEqual(have, upTo, name);
      }
      for (const { name } of EXPORTED_TABLES) assert.deepEqual(rowsOf(restored, name, 'other'), [], name);
    } finally {
      restored.close();
    }
  });

  test('refuses a target that is not empty, and writes nothing to it', () => {
    const to = join(dir, 'busy.sqlite');
    writeFileSync(to, 'not empty');
    const run = restoreCli(['--from', exportDir, '--to', to, '--json']);
    assert.equal(run.status, 1);
    assert.equal(JSON.parse(run.stdout).findings[0].kind, 'TARGET_NOT_EMPTY');
    assert.equal(readFileSync(to, 'utf8'), 'not empty');
  });

  /** A copy of the export whose audit events file went through `edit`, its manifest recomputed or not. */
  const tampered = (name, edit, { recompute = true } = {}) => {
    const copy = join(dir, name);
    cpSync(exportDir, copy, { recursive: true });
    const manifestPath = join(copy, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    const file = manifest.tables.audit_events.files.at(-1);
    const path = join(copy, file.key);
    const events = gunzipSync(readFileSync(path))
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const edited = edit(events);
    const bytes = gzipSync(edited.map((e) => `${JSON.stringify(e)}\n`).join(''));
    writeFileSync(path, bytes);
    if (recompute) {
      file.sha256 = createHash('sha256').update(bytes).digest('hex');
      manifest.tables.audit_events.rows += edited.length - file.rows;
      file.rows = edited.length;
      const last = edited.at(-1);
      manifest.auditHead = { seq: last.seq, hash: last.hash };
      writeFileSync(manifestPath, JSON.stringify(manifest));
    }
    return copy;
  };
  const refused = (from, kind, seq) => {
    const to = join(dir, `${kind}-${seq}.sqlite`);
    const run = restoreCli(['--from', from, '--to', to, '--keys', keysFile, '--json']);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    const { findings, ok } = JSON.parse(run.stdout);
    assert.equal(ok, false);
    assert.ok(
      findings.some((f) => f.kind === kind && (seq === undefined || f.seq === seq)),
      `expected ${kind}${seq === undefined ? '' : ` at ${seq}`}: ${JSON.stringify(findings)}`,
    );
    assert.equal(existsSync(to), false, 'nothing is left at the target');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith(`${kind}-${seq}.sqlite`)),
      [],
    );
  };

  test('a file edited after the manifest was written: HASH_MISMATCH, before anything is written', () => {
    const from = tampered('edited-file', (events) => events.slice(0, -1), { recompute: false });
    refused(from, 'HASH_MISMATCH');
  });

  test('an edited event, the manifest recomputed: EDITED', () => {
    const from = tampered('edited-event', (events) =>
      events.map((e) => (e.seq === 3 ? { ...e, action: 'change.deleted' } : e)),
    );
    refused(from, 'EDITED', 3);
  });

  test('the newest event deleted, the manifest recomputed: DELETED, the digest still names it', () => {
    const from = tampered('deleted-newest', (events) => events.slice(0, -1));
    refused(from, 'DELETED', exported.auditHeadSeq);
  });

  test('a pair of events reordered, the manifest recomputed: REORDERED', () => {
    const from = tampered('reordered', (events) => {
      const copy = [...events];
      [copy[1], copy[2]] = [copy[2], copy[1]];
      return copy;
    });
    refused(from, 'REORDERED');
  });

  test('a tampered export of another tenant refused: TENANT_MISMATCH', () => {
    const from = tampered('other-tenant', (events) =>
      events.map((e) => (e.seq === 2 ? { ...e, tenantId: 'other' } : e)),
    );
    refused(from, 'TENANT_MISMATCH');
  });

  /** A copy of the export whose manifest went through `edit`. */
  const withManifest = (name, edit) => {
    const copy = join(dir, name);
    cpSync(exportDir, copy, { recursive: true });
    const path = join(copy, 'manifest.json');
    writeFileSync(path, JSON.stringify(edit(JSON.parse(readFileSync(path, 'utf8')))));
    return copy;
  };

  test('a hostile manifest: a file outside the export is MISSING_FILE, an unknown table MANIFEST', () => {
    const outside = withManifest('outside', (m) => {
      m.tables.users.files[0].key = '../../../../etc/passwd';
      return m;
    });
    refused(outside, 'MISSING_FILE');
    const unknown = withManifest('unknown-table', (m) => ({
      ...m,
      tables: { ...m.tables, sqlite_master: m.tables.users },
    }));
    refused(unknown, 'MANIFEST');
  });

  test('a row with a column the schema lacks is MALFORMED, never SQL', () => {
    const copy = withManifest('bad-column', (m) => {
      const file = m.tables.services.files[0];
      const rows = gunzipSync(readFileSync(join(exportDir, file.key)))
        .toString()
        .trim()
        .split('\n');
      const row = { ...JSON.parse(rows[0]), 'name) VALUES (1); DROP TABLE users; --': 1 };
      const bytes = gzipSync(`${[JSON.stringify(row), ...rows.slice(1)].join('\n')}\n`);
      writeFileSync(join(dir, 'bad-column.gz'), bytes);
      file.sha256 = createHash('sha256').update(bytes).digest('hex');
      return m;
    });
    cpSync(
      join(dir, 'bad-column.gz'),
      join(copy, JSON.parse(readFileSync(join(copy, 'manifest.json'))).tables.services.files[0].key),
    );
    refused(copy, 'MALFORMED');
  });
});
