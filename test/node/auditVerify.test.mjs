// The offline verifier (npm run audit:verify) against a real export: the Node runtime writes audit
// events and signed digests (to AUDIT_ARCHIVE_DIR), `npm run audit:export` exports the tenant,
// the keys come from /.well-known/changeflow-audit-keys.json. The good export verifies; each
// tampering an auditor must catch (an edited event, an edited event with the chain recomputed, a
// deleted newest event, a reordered pair, a forged digest signature) is reported as its finding,
// with exit status 1.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { computeAuditHash } from '../../src/domain/auditChain.ts';
import { signDigest } from '../../src/domain/auditDigest.ts';
import { newAuditSigningKey, signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { startNodeServer } from '../../src/runtime/node/server.ts';
import { graphqlOk } from './graphqlOk.mjs';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const SECRET = 'audit-verify-test-secret-0123456789abcdef';
const TENANT = 'acme';

const CREATE = `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }`;
const input = (title) => ({
  title,
  description: 'Minor version upgrade of Postgres on the payments cluster.',
  type: 'NORMAL',
  impact: 'MEDIUM',
  urgency: 'MEDIUM',
  affectedServices: ['payments-db'],
  implementationPlan: 'Fail over, upgrade the replica, fail back.',
  backoutPlan: 'Fail back to the old primary.',
  testPlan: 'Run the smoke suite against the cluster.',
});

/** Runs one of the audit scripts as `npm run` does (package.json names the same files). */
function script(file, args) {
  const run = spawnSync(process.execPath, [TSX, join(ROOT, 'scripts', file), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('npm run audit:verify', () => {
  let dir;
  let app;
  let server;
  let base;
  let admin;
  /** Paths of the good export, the archive (digests) and the keys file. */
  const files = {};

  // base and admin are set in before().
  const gql = (query, variables) => graphqlOk(base, admin)(query, variables);
  const changes = async (n) => {
    for (let i = 0; i < n; i++) await gql(CREATE, { input: input(`Change ${i}`) });
  };
  const digest = async () =>
    (await gql('mutation { createAuditDigest { created digest { toSeq } } }')).createAuditDigest;

  /** The good export's events, to tamper with. */
  const events = () =>
    readFileSync(files.export, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  const writeExport = (name, list) => {
    const path = join(dir, `${name}.ndjson`);
    writeFileSync(path, list.map((e) => `${JSON.stringify(e)}\n`).join(''));
    return path;
  };
  const verify = ({ exportFile = files.export, digests = files.archive, keys = files.keys } = {}) => {
    const run = script('auditVerify.ts', [
      '--export',
      exportFile,
      '--digests',
      digests,
      '--keys',
      keys,
      '--json',
    ]);
    return { status: run.status, result: run.stdout ? JSON.parse(run.stdout) : null, stderr: run.stderr };
  };
  const kinds = (result) => result.findings.map((f) => [f.kind, f.seq ?? f.digestToSeq ?? null]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-audit-verify-'));
    files.archive = join(dir, 'archive');
    app = openNodeApp({
      dbPath: join(dir, 'db.sqlite'),
      env: {
        JWT_SECRET: SECRET,
        ENVIRONMENT: 'development',
        AUDIT_DIGESTS_ENABLED: 'true',
        AUDIT_SIGNING_KEY: newAuditSigningKey('node-test-1'),
        AUDIT_ARCHIVE_DIR: files.archive,
      },
    });
    server = await startNodeServer(app, { port: 0, host: '127.0.0.1' });
    base = server.url;
    admin = await signDevToken({ secret: SECRET, sub: 'alice', tenant: TENANT, roles: ['admin'] });
    // Changes 1-4 and the digest's request (5), a digest; changes 6-7 and the request (8), a
    // second digest; then change 9, not yet anchored.
    await changes(4);
    assert.deepEqual(await digest(), { created: true, digest: { toSeq: 5 } });
    await changes(2);
    assert.deepEqual(await digest(), { created: true, digest: { toSeq: 8 } });
    await changes(1);

    files.export = join(dir, 'export.ndjson');
    // Asynchronously: the server answering the export runs in this process.
    const exported = await promisify(execFile)(
      process.execPath,
      [TSX, join(ROOT, 'scripts/auditExport.ts'), '--url', base, '--token', admin, '--out', files.export],
      { cwd: ROOT },
    );
    assert.match(exported.stderr, /exported 9 audit events of tenant acme/);
    files.keys = join(dir, 'keys.json');
    const keys = await fetch(`${base}/.well-known/changeflow-audit-keys.json`);
    assert.equal(keys.status, 200);
    writeFileSync(files.keys, await keys.text());
  });

  after(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the scripts are the ones package.json runs', () => {
    const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(scripts['audit:verify'], 'tsx scripts/auditVerify.ts');
    assert.equal(scripts['audit:export'], 'tsx scripts/auditExport.ts');
  });

  test('the archive holds one file per digest, and the export one line per event, oldest first', () => {
    assert.deepEqual(readdirSync(join(files.archive, 'digests', TENANT)), [
      '000000000005.json',
      '000000000008.json',
    ]);
    assert.deepEqual(
      events().map((e) => [e.seq, e.tenantId]),
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((seq) => [seq, TENANT]),
    );
  });

  test('a good export verifies; the event after the last digest is listed as not yet anchored', () => {
    const { status, result } = verify();
    assert.equal(status, 0);
    assert.deepEqual(result.findings, []);
    assert.equal(result.digests, 2);
    assert.equal(result.anchoredThroughSeq, 8);
    assert.deepEqual(result.unanchored, [9]);
    const text = script('auditVerify.ts', [
      '--export',
      files.export,
      '--digests',
      files.archive,
      '--keys',
      files.keys,
    ]);
    assert.equal(text.status, 0);
    assert.match(text.stdout, /1 events not yet anchored by a digest \(seq 9\)/);
    assert.match(text.stdout, /✓ no findings/);
  });

  test('an edited event', () => {
    const list = events();
    list[2].after = { ...list[2].after, title: 'Nothing to see here' };
    const { status, result } = verify({ exportFile: writeExport('edited', list) });
    assert.equal(status, 1);
    assert.deepEqual(kinds(result), [['EDITED', 3]]);
  });

  test('an edited event whose hashes were all recomputed (someone with write access to D1)', async () => {
    const list = events();
    list[2].after = { ...list[2].after, title: 'Nothing to see here' };
    for (let i = 2; i < list.length; i++) {
      list[i].prevHash = list[i - 1].hash;
      list[i].hash = await computeAuditHash(list[i].prevHash, list[i]);
    }
    const { status, result } = verify({ exportFile: writeExport('recomputed', list) });
    assert.equal(status, 1);
    // Every event's hash is its content's now: only the signed heads give the rewrite away.
    assert.deepEqual(kinds(result), [
      ['HEAD_MISMATCH', 5],
      ['HEAD_MISMATCH', 8],
    ]);
  });

  test('the newest events deleted, up to the last digest', () => {
    const { status, result } = verify({ exportFile: writeExport('deleted', events().slice(0, 7)) });
    assert.equal(status, 1);
    assert.deepEqual(kinds(result), [['DELETED', 8]]);
    assert.match(result.findings[0].message, /events 8 to 8 are missing/);
    // After the last digest nothing vouches for an event yet: its deletion is not provable.
    const unanchoredGone = verify({ exportFile: writeExport('deleted-unanchored', events().slice(0, 8)) });
    assert.equal(unanchoredGone.status, 0);
    assert.deepEqual(unanchoredGone.result.unanchored, []);
  });

  test('an event deleted in the middle', () => {
    const list = events().filter((e) => e.seq !== 2);
    const { status, result } = verify({ exportFile: writeExport('gap', list) });
    assert.equal(status, 1);
    assert.deepEqual(kinds(result), [
      ['GAP', 2],
      ['HEAD_MISMATCH', 5],
    ]);
  });

  test('a reordered pair', () => {
    const list = events();
    [list[1], list[2]] = [list[2], list[1]];
    const { status, result } = verify({ exportFile: writeExport('reordered', list) });
    assert.equal(status, 1);
    assert.deepEqual(kinds(result), [['REORDERED', 2]]);
    assert.match(result.findings[0].message, /event 2 comes after event 3/);
  });

  test('a forged digest signature', async () => {
    const forged = join(dir, 'forged-archive');
    cpSync(files.archive, forged, { recursive: true });
    const path = join(forged, 'digests', TENANT, '000000000008.json');
    const genuine = JSON.parse(readFileSync(path, 'utf8'));
    // A digest vouching for a rewritten head, signed by a key of the attacker's under the real kid.
    const attacker = JSON.parse(newAuditSigningKey(genuine.keyId));
    const privateKey = await crypto.subtle.importKey('jwk', attacker, 'Ed25519', false, ['sign']);
    const fake = await signDigest(
      { ...genuine.digest, headHash: 'f'.repeat(64) },
      { keyId: genuine.keyId, privateKey },
    );
    writeFileSync(path, JSON.stringify(fake));
    const { status, result } = verify({ digests: forged });
    assert.equal(status, 1);
    assert.deepEqual(kinds(result), [['BAD_SIGNATURE', 8]]);
    // Without a valid digest to 8, events 6 to 8 are no longer anchored.
    assert.equal(result.anchoredThroughSeq, 5);
    assert.deepEqual(result.unanchored, [6, 7, 8, 9]);
  });

  test('a digest file removed from the archive breaks the digest chain', () => {
    const partial = join(dir, 'partial-archive');
    cpSync(files.archive, partial, { recursive: true });
    rmSync(join(partial, 'digests', TENANT, '000000000005.json'));
    const { status, result } = verify({ digests: partial });
    assert.equal(status, 1);
    assert.deepEqual(kinds(result), [['DIGEST_CHAIN', 8]]);
  });

  test('on Node, digests need AUDIT_ARCHIVE_DIR', () => {
    assert.throws(
      () =>
        openNodeApp({
          dbPath: ':memory:',
          env: { JWT_SECRET: SECRET, ENVIRONMENT: 'development', AUDIT_DIGESTS_ENABLED: 'true' },
        }),
      (e) => e.code === 'CONFIG_INVALID' && e.variables.includes('AUDIT_ARCHIVE_DIR'),
    );
  });

  test('usage errors exit 2', () => {
    const run = script('auditVerify.ts', ['--export', files.export]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /--export, --digests and --keys are required/);
    const missing = script('auditVerify.ts', [
      '--export',
      files.export,
      '--digests',
      dir,
      '--keys',
      join(dir, 'nope.json'),
    ]);
    assert.equal(missing.status, 2);
  });
});

describe('the Node runtime', () => {
  test('writes every tenant’s digest at the top of the hour, and stops when closed', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'changeflow-audit-hourly-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: Date.parse('2026-12-06T21:59:00Z') });
    const app = openNodeApp({
      dbPath: ':memory:',
      env: {
        JWT_SECRET: SECRET,
        ENVIRONMENT: 'development',
        AUDIT_DIGESTS_ENABLED: 'true',
        AUDIT_SIGNING_KEY: newAuditSigningKey('node-hourly'),
        AUDIT_ARCHIVE_DIR: dir,
      },
    });
    try {
      const token = await signDevToken({
        secret: SECRET,
        sub: 'rita',
        tenant: 'hourly',
        roles: ['requester'],
      });
      const res = await app.fetch(
        new Request('http://127.0.0.1/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: CREATE, variables: { input: input('Hourly') } }),
        }),
      );
      assert.equal((await res.json()).errors, undefined);
      const files = () => {
        try {
          return readdirSync(join(dir, 'digests', 'hourly')).filter((f) => f.endsWith('.json'));
        } catch {
          return [];
        }
      };
      t.mock.timers.tick(30_000);
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(files(), [], 'nothing before the hour');
      t.mock.timers.tick(30_000);
      // setTimeout is mocked: wait on the real clock (performance.now is not) for the run to write.
      const until = performance.now() + 10_000;
      while (files().length === 0 && performance.now() < until) await new Promise((r) => setImmediate(r));
      assert.deepEqual(files(), ['000000000001.json']);
      // Closing waits for the run in flight (which records the digest in D1), then stops the timer.
      await app.close();
      t.mock.timers.tick(3_600_000);
    } finally {
      await app.close();
    }
  });
});
