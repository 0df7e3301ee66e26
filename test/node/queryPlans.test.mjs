// Every statement the request path runs, through SQLite's EXPLAIN QUERY PLAN: a statement that
// reads a table that grows with use (changes, approvals, the audit trail, executions…) by a full
// table scan costs more with every row, so it fails here unless it is on the short list below with
// the reason it is bounded. The Node runtime runs a representative day (a change's whole life,
// lists with filters and a cursor, KPIs, the compliance report, the audit trail and its
// verification, workflows and executions) and records each SQL text it prepares. A SEARCH that
// then filters within one tenant's range (a text search in titles) is not caught here: its page
// stops after `first` matches, but a rare match walks the tenant's range.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SignJWT } from 'jose';
import { captureStatements, planOf as planOfStatement } from '../../bench/curves/plans.mjs';
import { listDeliveries } from '../../src/db/webhooks.ts';
import { createNodeApp } from '../../src/runtime/node/runtime.ts';
import { applyMigrations, openSqliteD1 } from '../../src/runtime/node/sqlite.ts';
import { graphqlOk, inProcess } from './graphqlOk.mjs';

const SECRET = 'query-plans-test-secret-0123456789abcdef';
const TENANT = 'plans';

/** Tables that grow with use: a full scan of one is a cost that grows with the tenant's history. */
const GROWING = new Set([
  'change_requests',
  'change_services',
  'approvals',
  'audit_events',
  'audit_redactions',
  'workflow_executions',
  'workflow_step_runs',
  'workflows',
  'workflow_versions',
  'idempotency_keys',
  'outbox',
  'api_keys',
  'freeze_windows',
  'webhook_deliveries',
  'endpoint_deliveries',
  'users',
  'ws_tickets',
  'standard_change_template_versions',
]);

/**
 * Scans that are bounded, each with why: a fragment of the SQL text and the reason. A statement
 * added here needs its reason reviewed.
 */
const BOUNDED = [
  {
    // The Node engine's resume at start (src/db/executions.ts allLiveExecutions): it walks the
    // partial index idx_executions_live, which holds the live executions only, once per start.
    fragment: "FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING') ORDER BY updated_at",
    why: 'partial index of live executions only',
  },
];

const sign = (sub, roles) =>
  new SignJWT({ tenant: TENANT, roles, name: sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(SECRET));

let db;
let app;

const planOf = (sql) => planOfStatement(db.sqlite, sql);

const seen = new Set();
const tokens = {};

const gql = (token, query, variables = {}) =>
  graphqlOk('http://localhost', token, inProcess(app))(query, variables);

const inDays = (d, h = 10) => {
  const t = new Date(Date.now() + d * 86_400_000);
  t.setUTCHours(h, 0, 0, 0);
  return t.toISOString();
};

before(async () => {
  db = openSqliteD1(':memory:');
  applyMigrations(db);
  captureStatements(db, seen);
  app = createNodeApp({ db, env: { JWT_SECRET: SECRET, ENVIRONMENT: 'development' } });
  for (const [sub, roles] of [
    ['rita', ['requester']],
    ['abe', ['approver']],
    ['ada', ['approver']],
    ['max', ['change_manager']],
    ['root', ['admin']],
  ]) {
    tokens[sub] = await sign(sub, roles);
  }
});

after(async () => {
  await app?.close();
  db?.close();
});

test('a representative day of requests runs without a full scan of a growing table', async () => {
  const input = {
    title: 'Upgrade the payments database',
    description: 'Minor version upgrade.',
    type: 'NORMAL',
    impact: 'MEDIUM',
    urgency: 'MEDIUM',
    affectedServices: ['payments-db'],
    implementationPlan: 'Fail over, upgrade, fail back.',
    backoutPlan: 'Fail back.',
    testPlan: 'Smoke suite.',
  };
  const ids = [];
  for (let i = 0; i < 3; i++) {
    ids.push(
      (
        await gql(
          tokens.rita,
          'mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }',
          { input },
        )
      ).createChangeRequest.id,
    );
  }
  const [id] = ids;
  await gql(tokens.rita, 'mutation($id: ID!) { submitChange(id: $id) { id } }', { id });
  await gql(tokens.abe, 'mutation($id: ID!) { approveChange(id: $id, comment: "ok") { change { id } } }', {
    id,
  });
  await gql(tokens.ada, 'mutation($id: ID!) { approveChange(id: $id) { change { id } } }', { id });
  await gql(
    tokens.max,
    'mutation($id: ID!, $s: DateTime!, $e: DateTime!) { scheduleChange(id: $id, plannedStart: $s, plannedEnd: $e) { change { id } } }',
    { id, s: inDays(3), e: inDays(3, 12) },
  );
  await gql(tokens.max, 'mutation($id: ID!) { startImplementation(id: $id) { id } }', { id });
  await gql(tokens.max, 'mutation($id: ID!) { completeChange(id: $id) { id } }', { id });
  await gql(tokens.rita, 'mutation($id: ID!) { submitChange(id: $id) { id } }', { id: ids[1] });
  await gql(
    tokens.abe,
    'mutation($id: ID!) { rejectChange(id: $id, reason: "No backout test") { change { id } } }',
    {
      id: ids[1],
    },
  );
  await gql(tokens.rita, 'mutation($id: ID!) { cancelChange(id: $id, reason: "Not needed") { id } }', {
    id: ids[2],
  });

  // Reads: one change, lists with each filter and a second page, the KPIs, reports, the audit trail.
  await gql(
    tokens.max,
    'query($id: ID!) { change(id: $id) { id status approvals { id decision } riskFactors { key } } }',
    { id },
  );
  const page = await gql(tokens.max, '{ changes(first: 1) { pageInfo { endCursor } } }');
  await gql(tokens.max, 'query($after: String) { changes(first: 1, after: $after) { nodes { id } } }', {
    after: page.changes.pageInfo.endCursor,
  });
  for (const filter of [
    { status: ['COMPLETED'] },
    { type: ['NORMAL'] },
    { riskLevel: ['MEDIUM'] },
    { service: 'payments-db' },
    { requesterId: 'rita' },
    { search: 'payments' },
  ]) {
    await gql(
      tokens.max,
      'query($filter: ChangeFilter) { changes(first: 5, filter: $filter) { nodes { id } } }',
      { filter },
    );
  }
  await gql(tokens.max, '{ metrics { activeChanges emergencyRatio } liveMetrics { generatedAt } }');
  await gql(
    tokens.max,
    'query($from: DateTime!, $to: DateTime!) { complianceReport(from: $from, to: $to) { score } }',
    {
      from: inDays(-30),
      to: inDays(1),
    },
  );
  await gql(tokens.max, 'query($id: ID) { auditLog(targetId: $id, first: 20) { nodes { seq } } }', { id });
  await gql(tokens.max, '{ auditLog(first: 20) { nodes { seq } } }');
  await gql(tokens.max, '{ verifyAuditChain(mode: RECENT) { valid } }');
  await gql(tokens.max, '{ freezeWindows { id } }');
  await gql(tokens.max, '{ workflows(first: 5) { nodes { id } } }');
  await gql(tokens.max, '{ executions(first: 5) { nodes { id } } }');
  await gql(tokens.rita, '{ me { id } }');
  // A webhook endpoint's delivery log, first page and a page after a cursor (its SQL is captured).
  await listDeliveries(db, TENANT, 'whe-plans', 5, null);
  await listDeliveries(db, TENANT, 'whe-plans', 5, { createdAt: inDays(0), id: 'whd-x' });

  const scans = [];
  for (const sql of seen) {
    if (!/^\s*(SELECT|UPDATE|DELETE|WITH|INSERT)/i.test(sql)) continue;
    const plan = planOf(sql);
    for (const row of plan) {
      // A SCAN walks the whole table or a whole index (every tenant's rows); SEARCH walks a range.
      const m = /^SCAN (\w+)/.exec(row.detail);
      if (m && GROWING.has(m[1]) && !BOUNDED.some((b) => sql.includes(b.fragment))) {
        scans.push(`${m[1]}: ${sql.replace(/\s+/g, ' ').slice(0, 200)}`);
      }
    }
  }
  if (process.env.PLANS_DEBUG)
    for (const sql of seen)
      console.log(sql.replace(/\s+/g, ' ').slice(0, 160), JSON.stringify(planOf(sql).map((r) => r.detail)));
  assert.ok(seen.size > 30, `the day ran (${seen.size} distinct statements)`);
  assert.deepEqual(scans, [], 'statements that scan a growing table');
});

test('the check is not a rubber stamp: a query by an unindexed column is caught', () => {
  const plan = db.sqlite
    .prepare('EXPLAIN QUERY PLAN SELECT * FROM change_requests WHERE title = ?')
    .all(null);
  assert.ok(plan.some((r) => /^SCAN change_requests/.test(r.detail)));
});

test('a deep page of webhook deliveries seeks to its cursor (a row value bounds the index)', async () => {
  const captured = new Set();
  const restore = captureStatements(db, captured);
  await listDeliveries(db, TENANT, 'whe-plans', 5, { createdAt: inDays(0), id: 'whd-x' });
  restore();
  const [sql] = [...captured].filter((q) => q.includes('endpoint_deliveries'));
  assert.ok(sql, 'the cursor page ran');
  const details = planOf(sql).map((r) => r.detail);
  assert.ok(
    details.some((d) =>
      /SEARCH endpoint_deliveries USING INDEX .*\(tenant_id=\? AND endpoint_id=\? AND \(created_at,id\)<\(\?,\?\)\)/.test(
        d,
      ),
    ),
    JSON.stringify(details),
  );
});
