import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { chainStatus } from '../../src/db/auditVerifications';
import { GENESIS_HASH } from '../../src/domain/auditChain';
import worker from '../../src/runtime/worker/index';
import {
  type BackgroundVerificationDeps,
  continueBackgroundVerifications,
  VERIFY_PAGE_EVENTS,
} from '../../src/usecases/auditVerification';
import { appendChain } from '../helpers/auditRows';
import { token } from '../helpers/auth';
import { gql, gqlOk } from '../helpers/graphql';

/**
 * FULL verification continued by the cron (src/runtime/worker/scheduled.ts, the Node timer): a run
 * a caller starts is moved on a bounded number of pages per invocation until it ends, without the
 * caller coming back; its progress is the tenant's own to see.
 */
const VERIFY = `query($mode: AuditVerificationMode, $cursor: String) {
  verifyAuditChain(mode: $mode, cursor: $cursor) { valid checked brokenAtSeq verifiedToSeq toSeq complete cursor } }`;
const RUNS = `{ auditVerificationRuns { id mode status continuedByScheduler fromSeq toSeq verifiedToSeq checked
  brokenAtSeq reason startedBy } }`;

interface Run {
  id: string;
  mode: string;
  status: 'RUNNING' | 'VALID' | 'BROKEN';
  continuedByScheduler: boolean;
  fromSeq: number;
  toSeq: number;
  verifiedToSeq: number;
  checked: number;
  brokenAtSeq: number | null;
  reason: string | null;
  startedBy: string;
}

const manager = (tenant: string) => token({ tenant, roles: ['change_manager'], sub: `cm-${tenant}` });
const startFull = async (tenant: string) =>
  (
    await gqlOk<{ verifyAuditChain: { cursor: string | null; checked: number; complete: boolean } }>(
      VERIFY,
      { mode: 'FULL' },
      await manager(tenant),
    )
  ).verifyAuditChain;
const runsOf = async (tenant: string) =>
  (await gqlOk<{ auditVerificationRuns: Run[] }>(RUNS, {}, await manager(tenant))).auditVerificationRuns;

const deps: BackgroundVerificationDeps = {
  db: env.DB,
  auditDigestSettings: parseConfig(env).auditDigests,
  now: () => new Date(),
};

/** Runs invocations (one page each) until nothing is left for `tenant`; returns how many moved it. */
async function cronUntilDone(tenant: string, max = 10): Promise<number> {
  let invocations = 0;
  for (let i = 0; i < max; i++) {
    const report = await continueBackgroundVerifications(deps, 1);
    if (!report.advanced.some((a) => a.tenantId === tenant)) break;
    expect(report.failed).toEqual([]);
    invocations += 1;
  }
  return invocations;
}

describe('FULL verification continued by the cron', () => {
  it('completes over several invocations without the caller, and records the whole chain verified', async () => {
    const tenant = 'bg-verify-complete';
    const events = 3 * VERIFY_PAGE_EVENTS + 250;
    await appendChain(tenant, 1, events, GENESIS_HASH);

    const first = await startFull(tenant);
    expect(first).toMatchObject({ checked: VERIFY_PAGE_EVENTS, complete: false });
    expect(await runsOf(tenant)).toEqual([
      expect.objectContaining({
        id: first.cursor,
        mode: 'FULL',
        status: 'RUNNING',
        continuedByScheduler: true,
        fromSeq: 1,
        toSeq: events,
        verifiedToSeq: VERIFY_PAGE_EVENTS,
        startedBy: `cm-${tenant}`,
      }),
    ]);

    // One page per invocation here: three more invocations finish it.
    expect(await cronUntilDone(tenant)).toBe(3);
    const [run] = await runsOf(tenant);
    expect(run).toMatchObject({ status: 'VALID', verifiedToSeq: events, checked: events, brokenAtSeq: null });
    expect(await chainStatus(env.DB, tenant)).toMatchObject({ fullVerifiedSeq: events, brokenAtSeq: null });

    // Done: the next invocation has nothing of it to do, and its cursor answers complete.
    expect((await continueBackgroundVerifications(deps)).advanced.some((a) => a.tenantId === tenant)).toBe(
      false,
    );
    const again = await gqlOk<{ verifyAuditChain: { complete: boolean; checked: number } }>(
      VERIFY,
      { cursor: first.cursor },
      await manager(tenant),
    );
    expect(again.verifyAuditChain).toMatchObject({ complete: true, checked: 0 });
  });

  it('records the break it finds, for every later verification and report', async () => {
    const tenant = 'bg-verify-break';
    await appendChain(tenant, 1, 2 * VERIFY_PAGE_EVENTS + 100, GENESIS_HASH);
    const broken = VERIFY_PAGE_EVENTS + 321;
    await env.DB.prepare(`UPDATE audit_events SET actor_id = 'mallory' WHERE tenant_id = ?1 AND seq = ?2`)
      .bind(tenant, broken)
      .run();

    await startFull(tenant);
    expect(await cronUntilDone(tenant)).toBe(1);
    const [run] = await runsOf(tenant);
    expect(run).toMatchObject({ status: 'BROKEN', brokenAtSeq: broken, verifiedToSeq: broken - 1 });
    expect(run?.reason).toMatch(/modified/);
    expect(await chainStatus(env.DB, tenant)).toMatchObject({ brokenAtSeq: broken });
    const report = await gqlOk<{ complianceReport: { auditChain: { valid: boolean; brokenAtSeq: number } } }>(
      '{ complianceReport(from: "2026-01-01T00:00:00Z", to: "2026-06-01T00:00:00Z") { auditChain { valid brokenAtSeq } } }',
      {},
      await manager(tenant),
    );
    expect(report.complianceReport.auditChain).toEqual({ valid: false, brokenAtSeq: broken });
  });

  it('two requests share one run, and concurrent invocations never check a page twice', async () => {
    const tenant = 'bg-verify-once';
    const events = 4 * VERIFY_PAGE_EVENTS;
    await appendChain(tenant, 1, events, GENESIS_HASH);

    const a = await startFull(tenant);
    const b = await startFull(tenant);
    expect(b.cursor).toBe(a.cursor);
    expect((await runsOf(tenant)).map((r) => r.id)).toEqual([a.cursor]);

    // Two cron invocations at once (two minutes' overlapping runs, the Node timer and a Worker…).
    const reports = await Promise.all([
      continueBackgroundVerifications(deps, 5),
      continueBackgroundVerifications(deps, 5),
    ]);
    const pages = reports.flatMap((r) => r.advanced.filter((x) => x.tenantId === tenant));
    await cronUntilDone(tenant);
    const [run] = await runsOf(tenant);
    // Every event checked exactly once: the run's count is the chain's length, not more.
    expect(run).toMatchObject({ status: 'VALID', checked: events, verifiedToSeq: events });
    // The three pages after the caller's were each taken by one invocation only.
    expect(pages.length).toBeLessThanOrEqual(3);
  });

  it('another tenant can neither see the run nor continue it', async () => {
    const tenant = 'bg-verify-owner';
    await appendChain(tenant, 1, VERIFY_PAGE_EVENTS + 10, GENESIS_HASH);
    const run = await startFull(tenant);

    expect(await runsOf('bg-verify-intruder')).toEqual([]);
    const res = await gql(VERIFY, { cursor: run.cursor }, { token: await manager('bg-verify-intruder') });
    expect(res.errors?.[0]?.extensions?.code).toBe('AUDIT_VERIFICATION_NOT_FOUND');

    // A lower role cannot list runs either.
    const viewer = await token({ tenant, roles: ['viewer'], sub: 'v' });
    const denied = await gql(RUNS, {}, { token: viewer });
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('the Worker’s every-minute cron moves a run on', async () => {
    const tenant = 'bg-verify-cron';
    const events = 2 * VERIFY_PAGE_EVENTS + 5;
    await appendChain(tenant, 1, events, GENESIS_HASH);
    await startFull(tenant);
    const ctx = createExecutionContext();
    await worker.scheduled(
      createScheduledController({ scheduledTime: Date.now(), cron: '* * * * *' }),
      env,
      ctx,
    );
    await waitOnExecutionContext(ctx);
    const [run] = await runsOf(tenant);
    expect(run).toMatchObject({ status: 'VALID', verifiedToSeq: events, checked: events });
  });
});
