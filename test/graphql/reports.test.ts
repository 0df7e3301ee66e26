import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  approvedChange,
  CANCEL,
  type Change,
  COMPLETE,
  cast,
  createChange,
  FAIL,
  gql,
  gqlOk,
  inDays,
  OVERRIDE,
  REJECT,
  ROLL_BACK,
  SCHEDULE,
  START,
  submit,
} from '../helpers/changes';

type Cast = Awaited<ReturnType<typeof cast>>;

const METRICS = `{ metrics { totalChanges activeChanges pendingApprovals meanTimeToApproveHours successRate
  emergencyRatio changesByStatus { status count } generatedAt } }`;
const REPORT = `query($from: DateTime!, $to: DateTime!) { complianceReport(from: $from, to: $to) {
  from to generatedAt score changesReviewed
  checks { id framework title passed failures }
  findings { checkId framework severity changeId message } } }`;
const TAG =
  'mutation($name: String!, $tags: [String!]!) { tagService(name: $name, tags: $tags) { name tags } }';
const REVIEW =
  'mutation($id: ID!, $notes: String!) { completeEmergencyReview(id: $id, notes: $notes) { id reviewedAt } }';

interface Metrics {
  totalChanges: number;
  activeChanges: number;
  pendingApprovals: number;
  meanTimeToApproveHours: number | null;
  successRate: number | null;
  emergencyRatio: number | null;
  changesByStatus: { status: string; count: number }[];
  generatedAt: string;
}

interface Report {
  from: string;
  to: string;
  score: number;
  changesReviewed: number;
  checks: { id: string; framework: string; title: string; passed: boolean; failures: number }[];
  findings: {
    checkId: string;
    framework: string;
    severity: string;
    changeId: string | null;
    message: string;
  }[];
}

const CHECK_IDS = ['SOX-1', 'SOX-2', 'SOX-3', 'PCI-6.4', 'ITIL-EMERGENCY-REVIEW'];
const ALL_STATUSES = [
  'DRAFT',
  'SUBMITTED',
  'PENDING_APPROVAL',
  'APPROVED',
  'REJECTED',
  'SCHEDULED',
  'IMPLEMENTING',
  'COMPLETED',
  'FAILED',
  'ROLLED_BACK',
  'CANCELLED',
];

const metrics = async (tok: string) => (await gqlOk<{ metrics: Metrics }>(METRICS, {}, tok)).metrics;
const report = async (tok: string, from = inDays(-1), to = inDays(1)) =>
  (await gqlOk<{ complianceReport: Report }>(REPORT, { from, to }, tok)).complianceReport;
const byStatus = (m: Metrics) => Object.fromEntries(m.changesByStatus.map((s) => [s.status, s.count]));
const check = (r: Report, id: string) => r.checks.find((c) => c.id === id);

/** Drives an approved change through schedule and start; `days` picks a free window. */
async function implementing(c: Cast, days: number, overrides: Record<string, unknown> = {}): Promise<Change> {
  const change = await approvedChange(c, overrides);
  await gqlOk(SCHEDULE, { id: change.id, start: inDays(days), end: inDays(days, 12) }, c.manager);
  return (await gqlOk<{ startImplementation: Change }>(START, { id: change.id }, c.manager))
    .startImplementation;
}

/** Writes straight to D1 (bumping the version, as the version guard requires). */
async function rewrite(tenant: string, id: string, set: string, ...values: unknown[]) {
  const res = await env.DB.prepare(
    `UPDATE change_requests SET ${set}, version = version + 1 WHERE tenant_id = ?1 AND id = ?2`,
  )
    .bind(tenant, id, ...values)
    .run();
  // D1 counts the rows the compliance triggers write too (migration 0020): the change's own row
  // is the one this statement targets by its key.
  expect(res.meta.changes).toBeGreaterThanOrEqual(1);
  const row = await env.DB.prepare('SELECT 1 AS found FROM change_requests WHERE tenant_id = ?1 AND id = ?2')
    .bind(tenant, id)
    .first<{ found: number }>();
  expect(row?.found).toBe(1);
}

describe('metrics', () => {
  it('has no ratios for a tenant without changes', async () => {
    const c = await cast('reports-metrics-empty');
    const m = await metrics(c.viewer);
    expect(m).toMatchObject({
      totalChanges: 0,
      activeChanges: 0,
      pendingApprovals: 0,
      meanTimeToApproveHours: null,
      successRate: null,
      emergencyRatio: null,
    });
    expect(m.changesByStatus.map((s) => s.status).sort()).toEqual([...ALL_STATUSES].sort());
    expect(m.changesByStatus.every((s) => s.count === 0)).toBe(true);
  });

  describe('for a known set of changes', () => {
    const TENANT = 'reports-metrics';
    let c: Cast;
    const set: Record<string, Change> = {};

    beforeAll(async () => {
      c = await cast(TENANT);
      set.draft = await createChange(c.requester, { title: 'Draft only' });
      set.pending = await submit(
        c.requester,
        (await createChange(c.requester, { title: 'Waiting for CAB' })).id,
      );
      const done = await implementing(c, 2, { affectedServices: ['api'] });
      set.completed = (
        await gqlOk<{ completeChange: Change }>(COMPLETE, { id: done.id }, c.manager)
      ).completeChange;
      const broken = await implementing(c, 3, { affectedServices: ['db'] });
      set.failed = (
        await gqlOk<{ failChange: Change }>(FAIL, { id: broken.id, reason: 'Migration timed out' }, c.manager)
      ).failChange;
      const emergency = await createChange(c.requester, { type: 'EMERGENCY', title: 'Stop the data leak' });
      set.emergency = (
        await gqlOk<{ emergencyOverride: Change }>(
          OVERRIDE,
          { id: emergency.id, justification: 'Customer data is leaking through the export API.' },
          c.admin,
        )
      ).emergencyOverride;
      const toCancel = await createChange(c.requester, { title: 'Changed my mind' });
      set.cancelled = (
        await gqlOk<{ cancelChange: Change }>(CANCEL, { id: toCancel.id }, c.requester)
      ).cancelChange;
      const toReject = await submit(c.requester, (await createChange(c.requester, { title: 'Bad idea' })).id);
      set.rejected = (
        await gqlOk<{ rejectChange: { change: Change } }>(
          REJECT,
          { id: toReject.id, reason: 'Too risky this week' },
          c.approver1,
        )
      ).rejectChange.change;
    }, 60_000);

    it('set up seven changes in the expected states', () => {
      expect(Object.fromEntries(Object.entries(set).map(([k, v]) => [k, v.status]))).toEqual({
        draft: 'DRAFT',
        pending: 'PENDING_APPROVAL',
        completed: 'COMPLETED',
        failed: 'FAILED',
        emergency: 'APPROVED',
        cancelled: 'CANCELLED',
        rejected: 'REJECTED',
      });
    });

    it('counts, ratios and statuses', async () => {
      const m = await metrics(c.viewer);
      expect(m).toMatchObject({
        totalChanges: 7,
        // DRAFT, PENDING_APPROVAL, APPROVED and FAILED (which can still be rolled back)
        activeChanges: 4,
        pendingApprovals: 1,
        successRate: 0.5,
        emergencyRatio: 0.1429,
      });
      expect(byStatus(m)).toEqual({
        DRAFT: 1,
        SUBMITTED: 0,
        PENDING_APPROVAL: 1,
        APPROVED: 1,
        REJECTED: 1,
        SCHEDULED: 0,
        IMPLEMENTING: 0,
        COMPLETED: 1,
        FAILED: 1,
        ROLLED_BACK: 0,
        CANCELLED: 1,
      });
      expect(Math.abs(Date.parse(m.generatedAt) - Date.now())).toBeLessThan(60_000);
    });

    it('has a mean time to approve once something is approved, in hours', async () => {
      const m = await metrics(c.viewer);
      expect(m.meanTimeToApproveHours).not.toBeNull();
      expect(m.meanTimeToApproveHours).toBeGreaterThanOrEqual(0);
      expect(m.meanTimeToApproveHours).toBeLessThan(0.1);

      // Approvals that took 2, 4 and 6 hours average 4 (rejected and pending ones do not count).
      const hoursBefore = { completed: 2, failed: 4, emergency: 6 };
      for (const [key, hours] of Object.entries(hoursBefore)) {
        await rewrite(
          TENANT,
          set[key]?.id as string,
          `submitted_at = strftime('%Y-%m-%dT%H:%M:%fZ', approved_at, ?3)`,
          `-${hours} hours`,
        );
      }
      expect((await metrics(c.viewer)).meanTimeToApproveHours).toBe(4);
    });

    it('follows a rollback: FAILED → ROLLED_BACK leaves the success rate and the active count', async () => {
      await gqlOk(ROLL_BACK, { id: set.failed?.id, reason: 'Restored the snapshot' }, c.manager);
      const m = await metrics(c.viewer);
      expect(m).toMatchObject({ totalChanges: 7, activeChanges: 3, successRate: 0.5 });
      expect(byStatus(m)).toMatchObject({ FAILED: 0, ROLLED_BACK: 1 });
    });
  });
});

describe('complianceReport', () => {
  it('gives clean changes a score of 100 with every check passing', async () => {
    const c = await cast('reports-clean');
    // Even a PCI-tagged service is clean when its changes carry plans and approvals.
    await gqlOk(TAG, { name: 'payments-db', tags: ['pci'] }, c.manager);
    const done = await implementing(c, 2);
    await gqlOk(COMPLETE, { id: done.id }, c.manager);
    await submit(c.requester, (await createChange(c.requester)).id);
    await createChange(c.requester, { affectedServices: ['intranet'] });

    const from = inDays(-1);
    const to = inDays(1);
    const r = await report(c.manager, from, to);
    expect(r).toMatchObject({ from, to, score: 100, changesReviewed: 3, findings: [] });
    expect(r.checks.map((x) => x.id)).toEqual(CHECK_IDS);
    expect(r.checks.every((x) => x.passed && x.failures === 0)).toBe(true);
    expect(Object.fromEntries(r.checks.map((x) => [x.id, x.framework]))).toEqual({
      'SOX-1': 'SOX',
      'SOX-2': 'SOX',
      'SOX-3': 'SOX',
      'PCI-6.4': 'PCI_DSS',
      'ITIL-EMERGENCY-REVIEW': 'ITIL',
    });
  });

  describe('PCI DSS 6.4', () => {
    let c: Cast;
    let gap: Change;

    beforeAll(async () => {
      c = await cast('reports-pci');
      await gqlOk(TAG, { name: 'card-vault', tags: ['pci'] }, c.manager);
      const noPlans = { affectedServices: ['card-vault'], backoutPlan: null, testPlan: null };
      gap = await submit(
        c.requester,
        (await createChange(c.requester, { ...noPlans, title: 'Patch card vault' })).id,
      );
      // Controls: plans present; not a PCI service; still a DRAFT (not headed for production yet).
      await submit(c.requester, (await createChange(c.requester, { affectedServices: ['card-vault'] })).id);
      await submit(
        c.requester,
        (await createChange(c.requester, { ...noPlans, affectedServices: ['intranet'], title: 'Intranet' }))
          .id,
      );
      await createChange(c.requester, { ...noPlans, title: 'Card vault idea' });
    }, 30_000);

    it('finds a change to a pci-tagged service without test and backout plans, and names it', async () => {
      const r = await report(c.manager);
      expect(r.changesReviewed).toBe(4);
      expect(r.findings).toEqual([
        {
          checkId: 'PCI-6.4',
          framework: 'PCI_DSS',
          severity: 'HIGH',
          changeId: gap.id,
          message: expect.stringContaining(gap.id),
        },
      ]);
      expect(r.findings[0]?.message).toMatch(/card-vault.*no test plan.*no backout plan/);
      expect(check(r, 'PCI-6.4')).toMatchObject({ passed: false, failures: 1 });
      expect(r.checks.filter((x) => x.id !== 'PCI-6.4').every((x) => x.passed)).toBe(true);
      expect(r.score).toBe(90);
    });

    it('reviews only the changes created in the period', async () => {
      const r = await report(c.manager, '2020-01-01T00:00:00Z', '2020-12-31T00:00:00Z');
      expect(r).toMatchObject({ changesReviewed: 0, findings: [], score: 100 });
    });

    it('clears the finding once the service is no longer tagged pci', async () => {
      await gqlOk(TAG, { name: 'card-vault', tags: [] }, c.manager);
      const r = await report(c.manager);
      expect(r.findings).toEqual([]);
      expect(r.score).toBe(100);
    });
  });

  it('finds an emergency override whose review is overdue, until it is reviewed', async () => {
    const tenant = 'reports-emergency';
    const c = await cast(tenant);
    const draft = await createChange(c.requester, { type: 'EMERGENCY', title: 'Revoke leaked keys' });
    const overridden = (
      await gqlOk<{ emergencyOverride: Change }>(
        OVERRIDE,
        { id: draft.id, justification: 'Keys were published on a public repository.' },
        c.admin,
      )
    ).emergencyOverride;
    expect(Date.parse(overridden.reviewDueAt as string)).toBeGreaterThan(Date.now() + 47 * 3600_000);

    // Due in 48 h: not overdue yet.
    expect((await report(c.manager)).findings).toEqual([]);

    const due = new Date(Date.now() - 3600_000).toISOString();
    await rewrite(tenant, draft.id, 'review_due_at = ?3', due);
    const r = await report(c.manager);
    expect(r.findings).toEqual([
      {
        checkId: 'ITIL-EMERGENCY-REVIEW',
        framework: 'ITIL',
        severity: 'MEDIUM',
        changeId: draft.id,
        message: expect.stringMatching(new RegExp(`${draft.id}.*${due}.*overdue`)),
      },
    ]);
    expect(check(r, 'ITIL-EMERGENCY-REVIEW')).toMatchObject({ passed: false, failures: 1 });
    expect(r.score).toBe(95);

    await gqlOk(REVIEW, { id: draft.id, notes: 'Keys rotated, no misuse found in the logs.' }, c.manager);
    const after = await report(c.manager);
    expect(after).toMatchObject({ findings: [], score: 100 });
  });

  it('fails SOX-3 when the audit chain has been tampered with', async () => {
    const tenant = 'reports-sox3';
    const c = await cast(tenant);
    const change = await createChange(c.requester);
    await submit(c.requester, change.id);
    await createChange(c.requester, { title: 'Another change' });
    expect((await report(c.manager)).score).toBe(100);

    const res = await env.DB.prepare(
      `UPDATE audit_events SET after_json = '{"status":"APPROVED"}' WHERE tenant_id = ?1 AND seq = 2`,
    )
      .bind(tenant)
      .run();
    expect(res.meta.changes).toBe(1);
    // The report's own check starts after the events it verified before: it does not see an
    // edit below them. A FULL verification does, and records it for every report after.
    expect(check(await report(c.manager), 'SOX-3')).toMatchObject({ passed: true });
    const full = await gqlOk<{ verifyAuditChain: { valid: boolean; brokenAtSeq: number } }>(
      '{ verifyAuditChain(mode: FULL) { valid brokenAtSeq } }',
      {},
      c.manager,
    );
    expect(full.verifyAuditChain).toEqual({ valid: false, brokenAtSeq: 2 });

    const r = await report(c.manager);
    expect(check(r, 'SOX-3')).toMatchObject({ framework: 'SOX', passed: false, failures: 1 });
    expect(r.findings).toEqual([
      {
        checkId: 'SOX-3',
        framework: 'SOX',
        severity: 'CRITICAL',
        changeId: null,
        message: expect.stringContaining('seq 2'),
      },
    ]);
    expect(r.score).toBe(75);
  });

  it('lists as many findings as each selection asks, through aliases, fragments and variables', async () => {
    // The report reads only as many failing changes as the query will list (the largest `first`
    // of its `findings` selections): each selection still gets what it asked for, in the same order.
    const c = await cast('reports-findings-first');
    await gqlOk(TAG, { name: 'card-vault', tags: ['pci'] }, c.manager);
    const noPlans = { affectedServices: ['card-vault'], backoutPlan: null, testPlan: null };
    for (const title of ['Vault patch 1', 'Vault patch 2', 'Vault patch 3', 'Vault patch 4']) {
      await submit(c.requester, (await createChange(c.requester, { ...noPlans, title })).id);
    }
    const all = (await report(c.manager)).findings;
    expect(all).toHaveLength(4);

    type Listed = { findingsTruncated: boolean; one: Report['findings']; three?: Report['findings'] };
    const query = `query($from: DateTime!, $to: DateTime!, $n: Int) { complianceReport(from: $from, to: $to) {
      findingsTruncated one: findings(first: 1) { changeId message } ...More } }
      fragment More on ComplianceReport { ... on ComplianceReport { three: findings(first: $n) { changeId message } } }`;
    const ask = async (n: number | null) =>
      (
        await gqlOk<{ complianceReport: Listed }>(
          query,
          { from: inDays(-1), to: inDays(1), ...(n === null ? {} : { n }) },
          c.manager,
        )
      ).complianceReport;
    const pick = (f: Report['findings']) => f.map(({ changeId, message }) => ({ changeId, message }));

    const three = await ask(3);
    expect(three.one).toEqual(pick(all.slice(0, 1)));
    expect(three.three).toEqual(pick(all.slice(0, 3)));
    expect(three.findingsTruncated).toBe(true);
    // Without $n the field's default (100) applies: everything is listed.
    const whole = await ask(null);
    expect(whole.three).toEqual(pick(all));
    expect(whole.findingsTruncated).toBe(false);

    // Not selecting findings reads none, and still says there are some.
    const bare = await gqlOk<{
      complianceReport: { findingsTruncated: boolean; checks: { failures: number }[] };
    }>(
      `query($from: DateTime!, $to: DateTime!) { complianceReport(from: $from, to: $to) { findingsTruncated checks { id failures } } }`,
      { from: inDays(-1), to: inDays(1) },
      c.manager,
    );
    expect(bare.complianceReport.findingsTruncated).toBe(true);
    expect(bare.complianceReport.checks.reduce((n, x) => n + x.failures, 0)).toBe(4);

    // An out-of-range first is refused by the field, whatever the report read.
    const refused = await gql(query, { from: inDays(-1), to: inDays(1), n: 1001 }, { token: c.manager });
    expect(refused.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
  });

  const periods: [string, () => { from: string; to: string }, 'accepted' | 'refused'][] = [
    ['367 days', () => ({ from: inDays(-367), to: inDays(0) }), 'refused'],
    ['to before from', () => ({ from: inDays(1), to: inDays(-1) }), 'refused'],
    ['to equal to from', () => ({ from: inDays(0), to: inDays(0) }), 'refused'],
    ['two years', () => ({ from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }), 'refused'],
    ['exactly 366 days', () => ({ from: inDays(-366), to: inDays(0) }), 'accepted'],
    ['one minute', () => ({ from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:01:00Z' }), 'accepted'],
  ];

  it.each(periods)('a period of %s is %s', async (_label, period, outcome) => {
    const c = await cast('reports-periods');
    const r = await gql<{ complianceReport: Report }>(REPORT, period(), { token: c.manager });
    if (outcome === 'accepted') {
      expect(r.errors).toBeUndefined();
      expect(r.data?.complianceReport.score).toBe(100);
      return;
    }
    expect(r.status).toBe(400);
    expect(r.data ?? null).toBeNull();
    expect(r.errors).toHaveLength(1);
    expect(r.errors?.[0]?.extensions?.code).toBe('VALIDATION_FAILED');
    expect(r.errors?.[0]?.message).toMatch(/to must be after from, at most 366 days/);
    expect(r.errors?.[0]?.extensions?.issues).toEqual([{ field: 'to', message: expect.any(String) }]);
  });
});
