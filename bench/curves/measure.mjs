// One size of the cost curves, in its own process (bench/curves.mjs spawns it): generate the data
// set in a SQLite file, then run each operation through the real app in process and measure it.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCursor } from '../../src/domain/pagination.ts';
import { createNodeApp } from '../../src/runtime/node/runtime.ts';
import { applyMigrations, openSqliteD1 } from '../../src/runtime/node/sqlite.ts';
import { countingD1 } from '../../test/helpers/countingD1.ts';
import { rowsReadD1 } from '../../test/helpers/rowsReadD1.ts';
import { BENCH_VARS, signBenchToken } from '../fixture/auth.mjs';
import { progress } from '../harness.mjs';
import { median, percentile } from '../lib.mjs';
import {
  BENCH_APPROVER,
  checkGenerated,
  GENERATED_NOW,
  generateDatabase,
  MEASURED_TENANT,
  PENDING_POOL,
} from './generate.mjs';
import { isDml, planOf, scannedTables } from './plans.mjs';

const DAY = 86_400_000;
const short = (/** @type {string} */ sql) => sql.replace(/\s+/g, ' ').trim();

/**
 * @typedef {{ token: 'manager' | 'requester' | 'approver', items: number, query: string,
 *   vars?: (k: number) => Record<string, unknown>, setup?: () => void, check?: (data: any) => void,
 *   write?: boolean, limit?: number }} Operation
 */

/**
 * The operations, each a GraphQL request as a client sends it: `vars(k)` gives the k-th
 * iteration's variables, `setup(k)` runs untimed before it, `items` is what the answer holds.
 * @param {{ ids: string[], deepCursor: string, pool: string[], sqlite: import('better-sqlite3').Database }} data
 * @returns {Record<string, Operation>}
 */
function operations({ ids, deepCursor, pool, sqlite }) {
  const resetChainStatus = sqlite.prepare('DELETE FROM audit_chain_status WHERE tenant_id = ?');
  const resetRuns = sqlite.prepare('DELETE FROM audit_verifications WHERE tenant_id = ?');
  const input = {
    title: 'Upgrade the payments database',
    description: 'Minor version upgrade.',
    type: 'NORMAL',
    impact: 'MEDIUM',
    urgency: 'MEDIUM',
    affectedServices: ['payments-api', 'svc-012'],
    implementationPlan: 'Fail over, upgrade, fail back.',
    backoutPlan: 'Fail back.',
    testPlan: 'Smoke suite.',
  };
  const list = 'nodes { id title status riskLevel requester { id } } pageInfo { endCursor hasNextPage }';
  return {
    single: {
      token: 'manager',
      items: 1,
      query:
        'query($id: ID!) { change(id: $id) { id title status riskLevel affectedServices approvals { approver { id } decision } } }',
      vars: (/** @type {number} */ k) => ({ id: ids[k % ids.length] }),
    },
    listByStatus: {
      token: 'manager',
      items: 50,
      query: `query { changes(first: 50, filter: { status: [COMPLETED] }) { ${list} } }`,
    },
    listByService: {
      token: 'manager',
      items: 50,
      query: `query { changes(first: 50, filter: { service: "checkout" }) { ${list} } }`,
    },
    deepPage: {
      token: 'manager',
      items: 50,
      query: `query($after: String) { changes(first: 50, after: $after) { ${list} } }`,
      vars: () => ({ after: deepCursor }),
    },
    kpis: {
      token: 'manager',
      items: 1,
      query:
        '{ metrics { totalChanges activeChanges pendingApprovals meanTimeToApproveHours successRate emergencyRatio changesByStatus { status count } } }',
    },
    compliance: {
      token: 'manager',
      items: 1,
      query:
        'query($from: DateTime!, $to: DateTime!) { complianceReport(from: $from, to: $to) { score changesReviewed checks { id failures } findings(first: 20) { checkId changeId } } }',
      vars: () => ({
        from: new Date(GENERATED_NOW - 365 * DAY).toISOString(),
        to: new Date(GENERATED_NOW).toISOString(),
      }),
    },
    auditPage: {
      token: 'manager',
      items: 50,
      query: '{ auditLog(first: 50) { nodes { seq action targetId createdAt } pageInfo { endCursor } } }',
    },
    auditOfTarget: {
      token: 'manager',
      items: 1,
      query:
        'query($id: ID!) { auditLog(targetId: $id, first: 20) { nodes { seq action createdAt } pageInfo { endCursor } } }',
      vars: (/** @type {number} */ k) => ({ id: ids[k % ids.length] }),
    },
    // From the last signed digest each time: what the tenant's status remembered is forgotten first.
    verifyRecent: {
      token: 'manager',
      items: 1,
      query: '{ verifyAuditChain(mode: RECENT) { valid checked anchor fromSeq toSeq complete } }',
      setup: () => {
        resetChainStatus.run(MEASURED_TENANT);
        resetRuns.run(MEASURED_TENANT);
      },
      check: (/** @type {any} */ data) => {
        const v = data.verifyAuditChain;
        if (!v.valid || !v.complete || v.anchor !== 'DIGEST')
          throw new Error(`verification: ${JSON.stringify(v)}`);
      },
    },
    create: {
      token: 'requester',
      items: 1,
      write: true,
      query: 'mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }',
      vars: () => ({ input }),
    },
    approve: {
      token: 'approver',
      items: 1,
      write: true,
      query: 'mutation($id: ID!) { approveChange(id: $id, comment: "ok") { change { id status } } }',
      vars: (/** @type {number} */ k) => ({ id: pool[k] }),
      limit: pool.length,
    },
  };
}

/**
 * @param {{ size: number, eventsPerChange: number, iterations: number, seed: number, migrationsDir: string }} o
 */
export async function measureSize(o) {
  const dir = mkdtempSync(join(tmpdir(), `changeflow-curve-${o.size}-`));
  const path = join(dir, 'tenant.sqlite');
  try {
    const db = openSqliteD1(path);
    const migrated = applyMigrations(db, o.migrationsDir);
    const t0 = performance.now();
    const tenants = await generateDatabase(db, {
      seed: o.seed,
      changes: o.size,
      auditEvents: o.size * o.eventsPerChange,
      signingKey: JSON.parse(BENCH_VARS.AUDIT_SIGNING_KEY),
      onProgress: progress,
    });
    const seconds = (performance.now() - t0) / 1000;
    const checks = checkGenerated(db);
    const checksPassed = Object.values(checks).every((rows) => rows.length === 0);
    if (!checksPassed)
      throw new Error(`generated data set is inconsistent: ${JSON.stringify(checks).slice(0, 500)}`);
    db.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const fileBytes = statSync(path).size;
    progress(`${o.size}: generated in ${seconds.toFixed(1)} s (${(fileBytes / 1048576).toFixed(0)} MiB)`);

    const sqlite = db.sqlite;
    const all = /** @type {{ id: string, created_at: string }[]} */ (
      sqlite
        .prepare(
          'SELECT id, created_at FROM change_requests WHERE tenant_id = ? ORDER BY created_at DESC, id DESC',
        )
        .all(MEASURED_TENANT)
    );
    // 64 changes spread over the whole history; a cursor 90% of the way down the list.
    const ids = Array.from({ length: 64 }, (_, k) => all[Math.floor((k * all.length) / 64)]?.id ?? '');
    const deep = /** @type {{ id: string, created_at: string }} */ (all[Math.floor(all.length * 0.9)]);
    const deepCursor = encodeCursor({ createdAt: deep.created_at, id: deep.id });
    const pool = /** @type {string[]} */ (
      sqlite
        .prepare(
          `SELECT id FROM change_requests WHERE tenant_id = ? AND status = 'PENDING_APPROVAL'
         AND id NOT IN (SELECT change_id FROM approvals WHERE approver_id = ?) ORDER BY id LIMIT ?`,
        )
        .pluck()
        .all(MEASURED_TENANT, BENCH_APPROVER, PENDING_POOL)
    );

    const tokens = {
      manager: await signBenchToken({ sub: 'mgr-0', tenant: MEASURED_TENANT, roles: ['change_manager'] }),
      requester: await signBenchToken({ sub: 'req-0001', tenant: MEASURED_TENANT, roles: ['requester'] }),
      approver: await signBenchToken({ sub: BENCH_APPROVER, tenant: MEASURED_TENANT, roles: ['approver'] }),
    };
    const app = createNodeApp({ db, env: BENCH_VARS });
    // The same app over a counting copy of the database: statements and rows of one more run.
    const rows = rowsReadD1(db);
    const counting = countingD1(rows.db);
    const counted = createNodeApp({ db: /** @type {any} */ (counting.db), env: BENCH_VARS });

    const call = async (
      /** @type {{ fetch: (r: Request) => Promise<Response> }} */ target,
      /** @type {Operation} */ op,
      /** @type {number} */ k,
    ) => {
      const body = JSON.stringify({ query: op.query, variables: op.vars?.(k) ?? {} });
      const res = await target.fetch(
        new Request('http://bench.local/graphql', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            authorization: `Bearer ${tokens[op.token]}`,
          },
          body,
        }),
      );
      const json = await res.json();
      if (!res.ok || json.errors)
        throw new Error(`${res.status} ${JSON.stringify(json.errors ?? json).slice(0, 300)}`);
      op.check?.(json.data);
      return json;
    };

    /** @type {Record<string, unknown>} */
    const results = {};
    for (const [name, op] of Object.entries(operations({ ids, deepCursor, pool, sqlite }))) {
      const warmup = op.write ? 1 : 3;
      const available = op.limit ?? Number.POSITIVE_INFINITY;
      const n = Math.min(o.iterations, available - warmup - 1);
      let k = 0;
      for (let w = 0; w < warmup; w++) {
        op.setup?.();
        await call(app, op, k++);
      }
      /** @type {number[]} */
      const samples = [];
      for (let i = 0; i < n; i++) {
        op.setup?.();
        const t = performance.now();
        await call(app, op, k++);
        samples.push((performance.now() - t) * 1000);
      }
      // One more run through the counting database: what it ran and the rows that came back.
      op.setup?.();
      counting.reset();
      rows.reset();
      await call(counted, op, k++);
      const statements = [...counting.statements];
      const distinct = [...new Set(statements)].filter(isDml);
      const plans = Object.fromEntries(
        distinct.map((sql) => [short(sql), planOf(sqlite, sql).map((r) => r.detail)]),
      );
      results[name] = {
        iterations: samples.length,
        medianUs: median(samples),
        p90Us: percentile(samples, 90),
        meanUs: samples.reduce((a, b) => a + b, 0) / samples.length,
        items: op.items,
        statements: statements.length,
        rowsReturned: rows.counter.rowsRead,
        scans: [
          ...new Set(Object.values(plans).flatMap((p) => scannedTables(p.map((detail) => ({ detail }))))),
        ],
        plans,
      };
      progress(`${o.size}: ${name} ${Math.round(median(samples))} µs (${statements.length} statements)`);
    }
    await app.close();
    await counted.close();
    db.close();
    return {
      size: o.size,
      migrations: migrated.length,
      generated: { seconds, fileBytes, checksPassed, tenants, auditEvents: tenants.at(-1)?.auditEvents ?? 0 },
      operations: results,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
