// Erasure and retention on the Node runtime (SQLite): a person's text is redacted from the audit
// trail, a digest is signed after it, `npm run audit:export` exports the tenant and
// `npm run audit:verify` accepts the redacted export offline, while an edit of a redacted event's
// kept field or of a redaction marker's hash is still reported. Pruning runs on SQLite too.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { newAuditSigningKey, signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';
import { pruneExpired } from '../../src/usecases/retention.ts';
import { graphqlOk } from './graphqlOk.mjs';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const SECRET = 'erasure-test-secret-0123456789abcdef';
const TENANT = 'acme';
const TEXT = 'Rita: ring me at home on 01632 960001';

const CREATE = `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }`;
const input = (title) => ({
  title,
  description: TEXT,
  type: 'NORMAL',
  impact: 'MEDIUM',
  urgency: 'MEDIUM',
  affectedServices: ['payments-db'],
  implementationPlan: 'Fail over, upgrade the replica, fail back.',
  backoutPlan: 'Fail back to the old primary.',
  testPlan: 'Run the smoke suite against the cluster.',
});

describe('erasure on Node, verified offline', () => {
  let dir;
  let app;
  let server;
  let admin;
  const files = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-erasure-'));
    files.archive = join(dir, 'archive');
    app = openNodeApp({
      dbPath: join(dir, 'db.sqlite'),
      env: {
        JWT_SECRET: SECRET,
        ENVIRONMENT: 'development',
        AUDIT_DIGESTS_ENABLED: 'true',
        AUDIT_SIGNING_KEY: newAuditSigningKey('node-erasure-1'),
        AUDIT_ARCHIVE_DIR: files.archive,
      },
    });
    server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
    admin = await signDevToken({ secret: SECRET, sub: 'root', tenant: TENANT, roles: ['admin'] });
    const rita = await signDevToken({
      secret: SECRET,
      sub: 'rita',
      tenant: TENANT,
      roles: ['requester'],
      name: 'Rita R',
    });
    const asRita = graphqlOk(server.url, rita);
    const asAdmin = graphqlOk(server.url, admin);
    await asRita(CREATE, { input: input('First') });
    await asRita(CREATE, { input: input('Second') });
    await asAdmin('mutation { setRetentionPolicy(eraseFreeText: true) { eraseFreeText } }');
    const { eraseUserData } = await asAdmin(
      'mutation { eraseUserData(userId: "rita") { redactedEvents v1RedactedEvents remaining } }',
    );
    assert.deepEqual(eraseUserData, { redactedEvents: 2, v1RedactedEvents: 0, remaining: false });
    // A token for rita with her name does not write it back.
    await asRita(CREATE, { input: { ...input('Third'), description: 'No personal data here' } });
    const { createAuditDigest } = await asAdmin('mutation { createAuditDigest { created } }');
    assert.equal(createAuditDigest.created, true);

    files.export = join(dir, 'export.ndjson');
    await promisify(execFile)(
      process.execPath,
      [
        TSX,
        join(ROOT, 'scripts/auditExport.ts'),
        '--url',
        server.url,
        '--token',
        admin,
        '--out',
        files.export,
      ],
      { cwd: ROOT },
    );
    files.keys = join(dir, 'keys.json');
    writeFileSync(
      files.keys,
      await (await fetch(`${server.url}/.well-known/changeflow-audit-keys.json`)).text(),
    );
  });

  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const events = () =>
    readFileSync(files.export, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const verify = (list) => {
    const path = join(dir, `export-${Math.random().toString(36).slice(2)}.ndjson`);
    writeFileSync(path, list.map((e) => `${JSON.stringify(e)}\n`).join(''));
    const run = spawnSync(
      process.execPath,
      [
        TSX,
        join(ROOT, 'scripts/auditVerify.ts'),
        '--export',
        path,
        '--digests',
        files.archive,
        '--keys',
        files.keys,
        '--json',
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    return {
      status: run.status,
      findings: JSON.parse(run.stdout).findings.map((f) => [f.kind, f.seq ?? null]),
    };
  };

  test('the redacted export holds none of the text, and verifies offline against the signed digest', () => {
    const text = readFileSync(files.export, 'utf8');
    assert.doesNotMatch(text, /01632 960001/);
    assert.match(text, /\$redacted/);
    assert.ok(events().every((e) => e.hashVersion === 2));
    assert.deepEqual(verify(events()), { status: 0, findings: [] });
  });

  test('a redacted event edited, or its marker’s hash changed, is still EDITED', () => {
    const list = events();
    list[0].after = { ...list[0].after, title: 'Rewritten' };
    assert.deepEqual(verify(list), { status: 1, findings: [['EDITED', 1]] });
    const marker = events();
    marker[1].after = { ...marker[1].after, description: { $redacted: 'e'.repeat(64) } };
    assert.deepEqual(verify(marker), { status: 1, findings: [['EDITED', 2]] });
    const restored = events();
    restored[0].after = { ...restored[0].after, description: TEXT };
    // Putting the text back is an edit too (the marker said which hash; the text is its preimage,
    // so it verifies: the chain proves integrity, not erasure).
    assert.equal(verify(restored).status, 0);
  });

  test('the name stays erased and pruning runs on SQLite', async () => {
    const asAdmin = graphqlOk(server.url, admin);
    const { changes } = await asAdmin('{ changes(first: 5) { nodes { requester { id displayName } } } }');
    assert.ok(changes.nodes.every((n) => n.requester.displayName === null));
    const report = await pruneExpired(app.db, new Date(Date.now() + 400 * 86_400_000), 10);
    assert.deepEqual(Object.keys(report).sort(), ['executionOutputs', 'idempotencyRecords', 'stepOutputs']);
  });
});
