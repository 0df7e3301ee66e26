// The cost curves' own parts (issue 17 item 3): the data generator is deterministic, its audit
// chain verifies with the project's verifier and its signed digests anchor a RECENT verification,
// and the compliance facts its triggers kept agree with the reference computation; the flatness
// verdict on synthetic curves. The open-loop load generator is tested in openLoop.test.mjs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { curveVerdicts, FLAT_GROWTH, flatness } from '../../bench/curves/flatness.mjs';
import {
  checkGenerated,
  DIGEST_TAIL,
  GENERATED_NOW,
  generateDatabase,
  MEASURED_TENANT,
} from '../../bench/curves/generate.mjs';
import { BENCH_VARS, signBenchToken } from '../../bench/fixture/auth.mjs';
import { approvalsForChanges } from '../../src/db/approvals.ts';
import { auditChain } from '../../src/db/audit.ts';
import { changesCreatedBetween } from '../../src/db/changes.ts';
import { servicesTagged } from '../../src/db/services.ts';
import { verifyAuditChain } from '../../src/domain/auditChain.ts';
import { buildComplianceReport } from '../../src/domain/compliance.ts';
import { createNodeApp } from '../../src/runtime/node/runtime.ts';
import { applyMigrations, openSqliteD1 } from '../../src/runtime/node/sqlite.ts';
import { graphqlOk, inProcess } from './graphqlOk.mjs';

const KEY = JSON.parse(BENCH_VARS.AUDIT_SIGNING_KEY);

async function generated(seed, changes = 120) {
  const db = openSqliteD1(':memory:');
  applyMigrations(db);
  const tenants = await generateDatabase(db, { seed, changes, auditEvents: changes * 10, signingKey: KEY });
  return { db, tenants };
}

/** A digest of every row of the tables the generator writes (and the triggers keep). */
function contentHash(db) {
  const h = createHash('sha256');
  for (const table of [
    'users',
    'services',
    'change_requests',
    'change_services',
    'approvals',
    'audit_events',
    'audit_digests',
    'change_compliance',
    'compliance_daily',
  ]) {
    for (const row of db.sqlite.prepare(`SELECT * FROM ${table} ORDER BY 1, 2, 3`).raw().all()) {
      h.update(JSON.stringify(row));
    }
  }
  return h.digest('hex');
}

test('the generator is deterministic: the same seed gives the same rows, another seed others', async () => {
  const a = await generated(5);
  const b = await generated(5);
  const c = await generated(6);
  try {
    assert.deepEqual(a.tenants, b.tenants);
    assert.equal(contentHash(a.db), contentHash(b.db));
    assert.notEqual(contentHash(a.db), contentHash(c.db));
  } finally {
    for (const g of [a, b, c]) g.db.close();
  }
});

test('the generated data set: realistic spreads, a chain that verifies, facts that agree with the reference', async () => {
  const { db, tenants } = await generated(11, 400);
  try {
    assert.deepEqual(
      tenants.map((t) => t.tenant),
      ['other-0', 'other-1', MEASURED_TENANT],
    );
    const measured = /** @type {{ auditEvents: number, digests: number }} */ (tenants.at(-1));
    assert.ok(measured.auditEvents >= 3500, `about ten events per change (${measured.auditEvents})`);
    assert.ok(measured.digests >= 1);
    const q = (sql, ...p) => db.sqlite.prepare(sql).all(...p);
    // States across the lifecycle; a few hot services carry most changes, a long tail the rest.
    const statuses = q('SELECT DISTINCT status FROM change_requests WHERE tenant_id = ?', MEASURED_TENANT);
    assert.ok(statuses.length >= 7, `statuses: ${statuses.map((s) => s.status)}`);
    const spread = q(
      'SELECT service, count(*) AS n FROM change_services WHERE tenant_id = ? GROUP BY 1 ORDER BY n DESC',
      MEASURED_TENANT,
    );
    const total = spread.reduce((a, s) => a + s.n, 0);
    assert.ok(spread.slice(0, 5).reduce((a, s) => a + s.n, 0) > total * 0.4, 'hot services');
    assert.ok(spread.length > 30, 'a long tail of services');
    // Votes by quorum, a pool of changes the bench approver has not voted on.
    assert.ok(q('SELECT 1 FROM approvals WHERE tenant_id = ?', MEASURED_TENANT).length > 300);

    // The facts the triggers kept equal their defining view, the day counts equal the facts.
    const checks = checkGenerated(db);
    for (const [name, rows] of Object.entries(checks)) assert.deepEqual(rows, [], name);

    // Every tenant's chain verifies with the project's verifier, event by event.
    for (const t of tenants) {
      const v = await verifyAuditChain(await auditChain(db, t.tenant));
      assert.equal(v.valid, true, `${t.tenant}: ${v.reason}`);
      assert.equal(v.checked, t.auditEvents);
    }

    // Through the app: a RECENT verification starts at the last signed digest and checks the tail;
    // the compliance report agrees with the reference computation over every change.
    const app = createNodeApp({ db, env: BENCH_VARS });
    try {
      const token = await signBenchToken({
        sub: 'mgr-0',
        tenant: MEASURED_TENANT,
        roles: ['change_manager'],
      });
      const gql = graphqlOk('http://bench.local', token, inProcess(app));
      const { verifyAuditChain: recent } = await gql(
        '{ verifyAuditChain(mode: RECENT) { valid checked anchor fromSeq toSeq complete } }',
      );
      assert.deepEqual(recent, {
        valid: true,
        checked: DIGEST_TAIL,
        anchor: 'DIGEST',
        fromSeq: measured.auditEvents - DIGEST_TAIL + 1,
        toSeq: measured.auditEvents,
        complete: true,
      });
      const from = new Date(GENERATED_NOW - 330 * 86_400_000).toISOString();
      const to = new Date(GENERATED_NOW + 30 * 86_400_000).toISOString();
      const { complianceReport: report } = await gql(
        'query($from: DateTime!, $to: DateTime!) { complianceReport(from: $from, to: $to) { changesReviewed checks(first: 50) { id failures } } }',
        { from, to },
      );
      const changes = await changesCreatedBetween(db, MEASURED_TENANT, from, to, 1_000_000);
      const reference = buildComplianceReport({
        from,
        to,
        now: new Date().toISOString(),
        changes,
        approvals: await approvalsForChanges(
          db,
          MEASURED_TENANT,
          changes.map((c) => c.id),
        ),
        pciServices: await servicesTagged(db, MEASURED_TENANT, 'pci'),
        auditChain: { valid: true, brokenAtSeq: null, verifiedToSeq: 0, headSeq: 0 },
      });
      assert.ok(report.changesReviewed > 150);
      assert.equal(report.changesReviewed, reference.changesReviewed);
      const failures = (checks) => Object.fromEntries(checks.map((c) => [c.id, c.failures]));
      const expected = failures(reference.checks);
      delete expected['SOX-3'];
      const actual = failures(report.checks);
      delete actual['SOX-3'];
      assert.deepEqual(actual, expected);
      // The spreads give the checks something to find.
      assert.ok(
        Object.values(actual).some((n) => n > 0),
        JSON.stringify(actual),
      );
    } finally {
      await app.close();
    }
  } finally {
    db.close();
  }
});

test('flatness: a flat curve is flat, a linear one is not, noise within the bound passes', () => {
  const sizes = [100, 10_000, 100_000];
  const flat = flatness(sizes.map((size, i) => ({ size, micros: [800, 900, 1100][i], items: 50 })));
  assert.equal(flat.flat, true);
  assert.ok(flat.slope < 0.1);
  // A scan: cost in proportion to the data.
  const linear = flatness(sizes.map((size) => ({ size, micros: 5 * size })));
  assert.equal(linear.flat, false);
  assert.ok(Math.abs(linear.slope - 1) < 1e-9);
  // Just over the bound is not flat; per item divides by the items returned.
  assert.equal(
    flatness([
      { size: 100, micros: 100 },
      { size: 100_000, micros: 100 * FLAT_GROWTH * 1.01 },
    ]).flat,
    false,
  );
  assert.equal(
    flatness([
      { size: 100, micros: 100, items: 1 },
      { size: 100_000, micros: 1500, items: 50 },
    ]).flat,
    true,
  );
  // Not judged: one size, or sizes too close together, or no figures.
  assert.equal(flatness([{ size: 100, micros: 5 }]).flat, null);
  assert.equal(
    flatness([
      { size: 100, micros: 5 },
      { size: 500, micros: 5 },
    ]).flat,
    null,
  );
  assert.equal(
    flatness([
      { size: 100, micros: Number.NaN },
      { size: 100_000, micros: 5 },
    ]).flat,
    null,
  );
});

test('curveVerdicts: every expected-flat curve must be flat; aggregates are reported, not judged', () => {
  const pts = (/** @type {number[]} */ m) =>
    [100, 10_000, 100_000].map((size, i) => ({ size, micros: m[i] ?? 0 }));
  const good = curveVerdicts({
    read: { expectFlat: true, points: pts([100, 110, 130]) },
    kpis: { expectFlat: false, points: pts([100, 1000, 10_000]) },
  });
  assert.equal(good.allFlat, true);
  assert.deepEqual(good.notFlat, []);
  const bad = curveVerdicts({
    read: { expectFlat: true, points: pts([100, 110, 130]) },
    deep: { expectFlat: true, points: pts([100, 900, 9000]) },
  });
  assert.equal(bad.allFlat, false);
  assert.deepEqual(bad.notFlat, ['deep']);
  const unjudged = curveVerdicts({ read: { expectFlat: true, points: pts([100]).slice(0, 1) } });
  assert.equal(unjudged.allFlat, null);
});
