import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { approvalsForChanges, insertApprovalStatement } from '../../src/db/approvals';
import { changesCreatedBetween, insertChangeStatements, updateChangeStatements } from '../../src/db/changes';
import { servicesTagged, upsertServiceStatement } from '../../src/db/services';
import {
  buildComplianceReport,
  type ComplianceReport,
  MAX_REPORT_FINDINGS,
} from '../../src/domain/compliance';
import type { Principal } from '../../src/domain/principal';
import { type ApprovalRecord, CHANGE_STATUSES, type ChangeRecord } from '../../src/domain/types';
import { type AuthedContext, createRequestContext } from '../../src/usecases/context';
import { complianceReport } from '../../src/usecases/reports';
import { changeRecord } from '../helpers/changeRecord';
import { Prng } from '../helpers/prng';
import { rowsReadD1 } from '../helpers/rowsReadD1';

/**
 * The report built from the facts kept on write (migration 0020) against the reference
 * computation over every change (buildComplianceReport), on generated changes, approvals and
 * services written through the db layer and then changed again (so every trigger runs), and its
 * cost at 25,000 changes counted by D1 itself.
 */
const NOW = new Date('2026-06-15T12:00:00.000Z');

function context(tenantId: string, db: D1Database = env.DB) {
  const principal: Principal = {
    id: 'auditor',
    tenantId,
    roles: ['change_manager'],
    kind: 'user',
    name: null,
    email: null,
  };
  const ctx = createRequestContext({
    db,
    requestId: 'compliance',
    principal,
    auditDigestSettings: parseConfig(env).auditDigests,
  }) as AuthedContext;
  return Object.assign(ctx, { now: () => NOW });
}

/** The old report: every change of the period, its approvals, computed in JS. */
async function reference(ctx: AuthedContext, from: string, to: string): Promise<ComplianceReport> {
  const tenantId = ctx.principal.tenantId;
  const f = new Date(from).toISOString();
  const t = new Date(to).toISOString();
  const changes = await changesCreatedBetween(env.DB, tenantId, f, t, 1_000_000);
  const approvals = await approvalsForChanges(
    env.DB,
    tenantId,
    changes.map((c) => c.id),
  );
  return buildComplianceReport({
    from,
    to,
    now: NOW.toISOString(),
    changes,
    approvals,
    pciServices: await servicesTagged(env.DB, tenantId, 'pci'),
    auditChain: { valid: true, brokenAtSeq: null, verifiedToSeq: 0, headSeq: 0 },
  });
}

const iso = (ms: number) => new Date(ms).toISOString();
const blankish = [null, '', '   ', '\t\n', '\u00a0', 'plan'];
const SERVICES = ['payments', 'cards', 'web', 'search', 'ledger'];

function generateChange(rng: Prng, tenantId: string, i: number): ChangeRecord {
  const created =
    Date.parse('2026-01-01T00:00:00.000Z') + rng.int(0, 150 * 24 * 60) * 60_000 + rng.int(0, 999);
  const status = rng.pick(CHANGE_STATUSES);
  const at = (offsetH: number) => iso(created + offsetH * 3600_000);
  const implemented = ['IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK'].includes(status);
  const override = rng.chance(0.2);
  return changeRecord({
    id: `CHG-${tenantId}-${i}`,
    tenantId,
    title: `Change ${i}`,
    type: override ? 'EMERGENCY' : rng.pick(['STANDARD', 'NORMAL', 'EMERGENCY'] as const),
    status,
    requesterId: rng.pick(['rita', 'sam', 'ann']),
    affectedServices: rng.shuffle(SERVICES).slice(0, rng.int(0, 3)),
    implementationPlan: 'deploy',
    backoutPlan: rng.pick(blankish),
    testPlan: rng.pick(blankish),
    riskScore: 30,
    riskLevel: rng.pick([null, 'LOW', 'MEDIUM', 'HIGH'] as const),
    emergencyJustification: override ? rng.pick(['outage', ' x ']) : rng.pick([null, null, '  ', '']),
    reviewDueAt: rng.chance(0.7) ? at(rng.pick([-24, 24, 24 * 200])) : null,
    reviewedAt: rng.chance(0.4) ? at(48) : null,
    createdAt: iso(created),
    approvedAt: rng.chance(0.6) ? at(rng.pick([1, 5])) : null,
    implementedAt: implemented || rng.chance(0.1) ? at(rng.pick([2, 3])) : null,
  });
}

function approval(rng: Prng, c: ChangeRecord, approverId: string, n: number): ApprovalRecord {
  return {
    id: `apr-${c.id}-${n}`,
    tenantId: c.tenantId,
    changeId: c.id,
    approverId,
    approverRoles: ['approver'],
    apiKeyId: null,
    decision: rng.chance(0.75) ? 'APPROVED' : 'REJECTED',
    comment: null,
    createdAt: c.createdAt,
  };
}

async function seed(rng: Prng, tenantId: string, count: number) {
  const changes = Array.from({ length: count }, (_, i) => generateChange(rng, tenantId, i));
  const tagStatements = SERVICES.map((name) =>
    upsertServiceStatement(
      env.DB,
      tenantId,
      { name, tags: rng.chance(0.5) ? ['pci'] : ['web'] },
      NOW.toISOString(),
    ),
  );
  const statements: D1PreparedStatement[] = [...tagStatements];
  for (const c of changes) {
    statements.push(...insertChangeStatements(env.DB, c));
    for (const [n, who] of rng.shuffle(['rita', 'sam', 'ann', 'bob']).slice(0, rng.int(0, 2)).entries()) {
      statements.push(insertApprovalStatement(env.DB, approval(rng, c, who, n)));
    }
  }
  for (let i = 0; i < statements.length; i += 200) await env.DB.batch(statements.slice(i, i + 200));
  return changes;
}

const YEAR = ['2026-01-01T00:00:00Z', '2026-07-01T00:00:00Z'] as const;
const PERIODS: (readonly [string, string])[] = [
  YEAR,
  ['2026-01-10T13:27:00.500Z', '2026-03-02T04:00:00Z'], // partial days at both ends
  ['2026-02-03T08:00:00Z', '2026-02-03T20:00:00Z'], // inside one day
  ['2026-02-03T00:00:00.000Z', '2026-02-04T00:00:00.000Z'], // exactly one day
  ['2025-06-01T00:00:00Z', '2026-01-01T00:00:00Z'], // no changes
];

async function expectSameAsReference(tenantId: string) {
  const ctx = context(tenantId);
  for (const [from, to] of PERIODS) {
    const [actual, expected] = [await complianceReport(ctx, from, to), await reference(ctx, from, to)];
    expect(actual.findings.length).toBeLessThanOrEqual(MAX_REPORT_FINDINGS);
    expect({ ...actual, auditChain: null }, `${from} – ${to}`).toEqual({ ...expected, auditChain: null });
  }
}

describe('complianceReport from the facts kept on write', () => {
  it('equals the reference computation on generated changes, approvals and PCI tags', async () => {
    const rng = new Prng(1515);
    const tenantId = 'cc-equal';
    const changes = await seed(rng, tenantId, 400);
    const report = await complianceReport(context(tenantId), ...YEAR);
    // The generated data exercises every per-change check.
    for (const id of ['SOX-1', 'SOX-2', 'PCI-6.4', 'ITIL-EMERGENCY-REVIEW']) {
      expect(report.checks.find((c) => c.id === id)?.failures, id).toBeGreaterThan(3);
    }
    await expectSameAsReference(tenantId);

    // Then everything moves: changes updated (status, plans, review, approval time, services),
    // approvals added, changed and deleted, services retagged and deleted. Facts follow.
    const updates: D1PreparedStatement[] = [];
    for (const c of changes.filter(() => rng.chance(0.4))) {
      const next = generateChange(rng, tenantId, 0);
      updates.push(
        ...updateChangeStatements(env.DB, c, {
          ...c,
          status: next.status,
          testPlan: next.testPlan,
          backoutPlan: next.backoutPlan,
          reviewedAt: next.reviewedAt,
          approvedAt: next.approvedAt,
          implementedAt: next.implementedAt,
          emergencyJustification: next.emergencyJustification,
          affectedServices: next.affectedServices,
          version: c.version + 1,
        }),
      );
    }
    for (const c of changes.filter(() => rng.chance(0.2))) {
      updates.push(
        env.DB.prepare(
          'INSERT OR IGNORE INTO approvals (id, tenant_id, change_id, approver_id, decision, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)',
        ).bind(`apr-late-${c.id}`, tenantId, c.id, c.requesterId, 'APPROVED', c.createdAt),
      );
    }
    updates.push(
      env.DB.prepare(
        `UPDATE approvals SET decision = CASE decision WHEN 'APPROVED' THEN 'REJECTED' ELSE 'APPROVED' END
         WHERE tenant_id = ?1 AND id LIKE '%-0'`,
      ).bind(tenantId),
      env.DB.prepare(`DELETE FROM approvals WHERE tenant_id = ?1 AND id LIKE '%-1'`).bind(tenantId),
      upsertServiceStatement(env.DB, tenantId, { name: 'payments', tags: ['pci'] }, NOW.toISOString()),
      upsertServiceStatement(env.DB, tenantId, { name: 'web', tags: ['pci', 'web'] }, NOW.toISOString()),
      upsertServiceStatement(env.DB, tenantId, { name: 'cards', tags: [] }, NOW.toISOString()),
      env.DB.prepare(`DELETE FROM services WHERE tenant_id = ?1 AND name = 'ledger'`).bind(tenantId),
      env.DB.prepare(`DELETE FROM change_requests WHERE tenant_id = ?1 AND id LIKE '%7'`).bind(tenantId),
    );
    for (let i = 0; i < updates.length; i += 200) await env.DB.batch(updates.slice(i, i + 200));
    await expectSameAsReference(tenantId);

    // The day counts equal a recount from the facts (nothing drifted through updates and deletes).
    const drift = await env.DB.prepare(
      `SELECT COUNT(*) AS n FROM compliance_daily d
       LEFT JOIN (SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS changes, SUM(sox1) AS sox1,
                    SUM(sox2 <> 0) AS sox2, SUM(touches_pci = 1 AND pci_gaps <> 0) AS pci
                  FROM change_compliance WHERE tenant_id = ?1 GROUP BY 1) r ON r.day = d.day
       WHERE d.tenant_id = ?1 AND (d.changes <> COALESCE(r.changes, 0) OR d.sox1 <> COALESCE(r.sox1, 0)
         OR d.sox2 <> COALESCE(r.sox2, 0) OR d.pci <> COALESCE(r.pci, 0))`,
    )
      .bind(tenantId)
      .first<{ n: number }>();
    expect(drift?.n).toBe(0);
  });

  it('another tenant’s changes are not counted', async () => {
    const rng = new Prng(7);
    await seed(rng, 'cc-other', 50);
    const empty = await complianceReport(context('cc-nobody'), ...YEAR);
    expect(empty).toMatchObject({ changesReviewed: 0, score: 100, findings: [], findingsTruncated: false });
  });

  it('reads the same rows at 25,000 changes as at 2,500, and lists the first findings, most severe first', async () => {
    // Changes every ~10 minutes from 2026-01-01: 2,500 of them span ~17 days, 25,000 ~174 days.
    // Every one COMPLETED with no approval time (SOX-2), half with a self-approval (SOX-1).
    const fill = async (tenantId: string, count: number) => {
      await env.DB.prepare(
        `WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < ?2)
         INSERT INTO change_requests (id, tenant_id, title, description, type, impact, urgency, priority,
           status, requester_id, test_plan, backout_plan, created_at, updated_at)
         SELECT ?1 || '-' || n, ?1, 'Change ' || n, '', 'NORMAL', 'LOW', 'LOW', 'P4', 'COMPLETED', 'rita',
           'tests', 'backout', strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || (n * 10) || ' minutes'),
           '2026-01-01T00:00:00.000Z'
         FROM s`,
      )
        .bind(tenantId, count)
        .run();
      await env.DB.prepare(
        `INSERT INTO approvals (id, tenant_id, change_id, approver_id, decision, created_at)
         SELECT 'apr-' || id, tenant_id, id, 'rita', 'APPROVED', created_at FROM change_requests
         WHERE tenant_id = ?1 AND CAST(substr(id, length(?1) + 2) AS INTEGER) % 2 = 0`,
      )
        .bind(tenantId)
        .run();
    };
    await fill('cc-small', 2_500);
    await fill('cc-large', 25_000);

    const measure = async (tenantId: string, from: string, to: string) => {
      const counted = rowsReadD1(env.DB);
      const report = await complianceReport(context(tenantId, counted.db), from, to);
      return { report, rowsRead: counted.counter.rowsRead };
    };
    const year = ['2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z'] as const;
    const small = await measure('cc-small', ...year);
    const large = await measure('cc-large', ...year);
    console.log(
      `complianceReport: 2,500 changes ${small.rowsRead} rows read, 25,000 changes ${large.rowsRead}`,
    );

    expect(large.report.changesReviewed).toBe(25_000);
    const failures = Object.fromEntries(large.report.checks.map((c) => [c.id, c.failures]));
    expect(failures).toMatchObject({ 'SOX-1': 12_500, 'SOX-2': 25_000, 'PCI-6.4': 0 });
    expect(large.report.findings).toHaveLength(MAX_REPORT_FINDINGS);
    expect(large.report.findingsTruncated).toBe(true);
    // Most severe first: the CRITICAL self-approvals fill the list.
    expect(large.report.findings.every((f) => f.checkId === 'SOX-1')).toBe(true);
    expect(large.report.score).toBe(0);

    // Ten times the changes: the same order of rows (the day counts of the days that have
    // changes, plus the bounded pages of findings), never one per change.
    const PAGES = 2 * 2 * MAX_REPORT_FINDINGS; // SOX-1 and SOX-2 pages, each with its change row
    expect(large.rowsRead).toBeLessThanOrEqual(366 + PAGES + 50);
    expect(large.rowsRead).toBeLessThan(25_000 / 5);
    expect(large.rowsRead - small.rowsRead).toBeLessThanOrEqual(366);

    // Asked for 20 findings, it reads 20 failing changes per check: the same first 20.
    const counted = rowsReadD1(env.DB);
    const twenty = await complianceReport(context('cc-large', counted.db), ...year, 20);
    expect(twenty.findings).toEqual(large.report.findings.slice(0, 20));
    expect(twenty).toMatchObject({ findingsTruncated: true, score: 0, checks: large.report.checks });
    expect(counted.counter.rowsRead).toBeLessThanOrEqual(366 + 2 * 2 * 20 + 50);
    const none = await complianceReport(context('cc-large'), ...year, 0);
    expect(none).toMatchObject({ findings: [], findingsTruncated: true, checks: large.report.checks });

    // Edge days are read row by row: a period that starts and ends mid-day reads those two days.
    const edged = await measure('cc-large', '2026-02-01T12:00:00Z', '2026-05-01T12:00:00Z');
    expect(edged.report.changesReviewed).toBe(89 * 144);
    expect(edged.rowsRead).toBeLessThanOrEqual(366 + PAGES + 2 * 144 + 50);
  }, 120_000);
});
