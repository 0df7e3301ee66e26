import type { AuditDigestSettings } from '../config';
import { auditEventsFrom, auditHead } from '../db/audit';
import { lastAuditDigest } from '../db/auditDigests';
import {
  type AnchorKind,
  advanceVerificationRun,
  type ChainStatus,
  chainStatus,
  dueBackgroundRuns,
  insertVerificationRun,
  leaseBackgroundRun,
  listVerificationRuns,
  recordChainFinding,
  runningBackgroundRun,
  type VerificationMode,
  type VerificationRun,
  verificationRun,
} from '../db/auditVerifications';
import { v1RedactionFromDb } from '../db/redactions';
import { type AuditChainVerification, GENESIS_HASH, verifyAuditStretch } from '../domain/auditChain';
import { systemPrincipal } from '../domain/principal';
import { AppError } from '../errors';
import { anchorProblem, passedDigests } from './auditAnchors';
import { type AuthedContext, createRequestContext } from './context';

/**
 * Bounded verification of a tenant's audit chain (issue 15 item 4). Every call reads and hashes at
 * most VERIFY_PAGE_EVENTS events (and a few rows besides), whatever the chain's length:
 *
 * - RECENT (the default) starts at the newest trusted anchor: the last signed digest (its
 *   signature checked, and the event at its toSeq still carrying its headHash) or, when newer, the
 *   last event an earlier verification reached (still carrying the hash it had then). It checks
 *   the events after it. A digest is never signed over a broken chain, so what precedes it was
 *   whole when signed; FULL and the offline verifier re-check that part.
 * - FULL starts at seq 1 and checks the whole chain, a page per call, and every digest it passes.
 *
 * When more events remain than one page, the answer carries a cursor: the id of a run recorded in
 * D1 with where it is and the hash the next event must link to, so the next call continues it and
 * a client cannot skip ahead by forging one. What each call established is folded into the
 * tenant's status (audit_chain_status), which complianceReport reads instead of the chain.
 */

/** The most events one call reads and hashes. */
export const VERIFY_PAGE_EVENTS = 1000;
/** Runs nobody continued for this long are forgotten when the tenant starts another. */
const RUN_TTL_MS = 7 * 24 * 3600_000;

export interface BoundedVerification extends AuditChainVerification {
  mode: VerificationMode;
  /** What the run started from (its seq is fromSeq - 1; 0 for GENESIS). */
  anchor: AnchorKind;
  fromSeq: number;
  /** The run's last event verified so far (fromSeq - 1 before any). */
  verifiedToSeq: number;
  /** Where the run ends: the chain's head when it started. */
  toSeq: number;
  complete: boolean;
  /** Pass it back (with any mode) to continue; null once the run is complete. */
  cursor: string | null;
}

const CURSOR = /^[0-9a-f-]{36}$/;

export async function verifyTenantAuditChain(
  ctx: AuthedContext,
  opts: { mode?: VerificationMode | null; cursor?: string | null } = {},
): Promise<BoundedVerification> {
  const tenantId = ctx.principal.tenantId;
  if (opts.cursor) {
    const run = CURSOR.test(opts.cursor) ? await verificationRun(ctx.db, tenantId, opts.cursor) : null;
    if (!run) {
      throw new AppError(
        'AUDIT_VERIFICATION_NOT_FOUND',
        'No verification run of this tenant has that cursor (it may have expired): start a new one',
      );
    }
    return step(ctx, run, null);
  }
  return start(ctx, opts.mode ?? 'RECENT');
}

interface Anchor {
  kind: AnchorKind;
  seq: number;
  hash: string;
}

async function start(ctx: AuthedContext, mode: VerificationMode): Promise<BoundedVerification> {
  const { db } = ctx;
  const tenantId = ctx.principal.tenantId;
  if (mode === 'FULL') {
    // One FULL run per tenant at a time: a second request joins the one the cron is continuing.
    const staleBefore = new Date(ctx.now().getTime() - RUN_TTL_MS).toISOString();
    const running = await runningBackgroundRun(db, tenantId, staleBefore);
    if (running) return step(ctx, running, null);
  }
  const [digest, status, head] = await Promise.all([
    lastAuditDigest(db, tenantId),
    chainStatus(db, tenantId),
    auditHead(db, tenantId),
  ]);
  const headSeq = head?.seq ?? 0;
  let anchor: Anchor = { kind: 'GENESIS', seq: 0, hash: GENESIS_HASH };
  const problem = await anchorProblem(ctx, headSeq, digest, status);
  if (!problem && mode === 'RECENT') {
    if (digest) anchor = { kind: 'DIGEST', seq: digest.toSeq, hash: digest.headHash };
    if (status && status.verifiedSeq > anchor.seq) {
      anchor = { kind: 'CHECKPOINT', seq: status.verifiedSeq, hash: status.verifiedHash };
    }
  }
  const at = ctx.now().toISOString();
  const run: VerificationRun = {
    tenantId,
    id: crypto.randomUUID(),
    mode,
    anchor: anchor.kind,
    fromSeq: anchor.seq + 1,
    toSeq: headSeq,
    nextSeq: anchor.seq + 1,
    prevHash: anchor.hash,
    checked: 0,
    status: 'RUNNING',
    brokenAtSeq: null,
    reason: null,
    startedBy: ctx.principal.id,
    startedAt: at,
    updatedAt: at,
    background: mode === 'FULL',
  };
  if (problem) {
    const broken = { ...run, status: 'BROKEN' as const, brokenAtSeq: problem.seq, reason: problem.reason };
    await record(ctx, broken, [], null);
    return answer(broken, 0, await chainStatus(db, tenantId));
  }
  return step(ctx, run, anchor);
}

/**
 * Checks the run's next page, records what it found, and answers. `anchor` is a new run's; null
 * for a run continued from its cursor.
 */
async function step(
  ctx: AuthedContext,
  run: VerificationRun,
  anchor: Anchor | null,
): Promise<BoundedVerification> {
  const tenantId = ctx.principal.tenantId;
  if (run.status !== 'RUNNING') return answer(run, 0, await chainStatus(ctx.db, tenantId));
  const end = Math.min(run.toSeq, run.nextSeq + VERIFY_PAGE_EVENTS - 1);
  const events =
    run.nextSeq <= end
      ? await auditEventsFrom(ctx.db, tenantId, run.nextSeq, end, end - run.nextSeq + 1)
      : [];
  let result = await verifyAuditStretch(
    events,
    { seq: run.nextSeq, prevHash: run.prevHash },
    v1RedactionFromDb(ctx.db, tenantId),
  );
  if (result.valid && events.length < end - run.nextSeq + 1) {
    const missing = run.nextSeq + events.length;
    result = {
      valid: false,
      checked: events.length,
      brokenAtSeq: missing,
      reason: `Event ${missing} is missing`,
    };
  }
  const verified = events.slice(0, result.checked);
  const digestBreak = await passedDigests(ctx, verified);
  if (digestBreak) {
    const upTo = verified.findIndex((e) => e.seq === digestBreak.seq);
    result = { valid: false, checked: upTo, brokenAtSeq: digestBreak.seq, reason: digestBreak.reason };
  }
  const last = result.checked > 0 ? verified[result.checked - 1] : null;
  const next: VerificationRun = {
    ...run,
    nextSeq: run.nextSeq + result.checked,
    prevHash: last?.hash ?? run.prevHash,
    checked: run.checked + result.checked,
    status: !result.valid ? 'BROKEN' : run.nextSeq + result.checked > run.toSeq ? 'VALID' : 'RUNNING',
    brokenAtSeq: result.brokenAtSeq,
    reason: result.reason,
    updatedAt: ctx.now().toISOString(),
  };
  const moved = await record(ctx, next, verified.slice(0, result.checked), anchor ?? run.nextSeq);
  if (!moved) {
    // Another call with the same cursor recorded this page first: answer with what it recorded.
    const current = (await verificationRun(ctx.db, tenantId, run.id)) ?? next;
    return answer(current, 0, await chainStatus(ctx.db, tenantId));
  }
  return answer(next, result.checked, await chainStatus(ctx.db, tenantId));
}

/**
 * Stores the run and folds what this call found into the tenant's status. `from` is a new run's
 * anchor (or null when it broke before any event was read): the run is inserted only when it
 * continues, since only a cursor looks for it. A number is where a continued run was: it moves on
 * only from there, and false says another call moved it first.
 */
async function record(
  ctx: AuthedContext,
  run: VerificationRun,
  verified: { seq: number; hash: string }[],
  from: Anchor | number | null,
): Promise<boolean> {
  const { db } = ctx;
  if (typeof from === 'number') {
    if (!(await advanceVerificationRun(db, run, from))) return false;
  } else if (run.status === 'RUNNING') {
    await insertVerificationRun(db, run, new Date(ctx.now().getTime() - RUN_TTL_MS).toISOString());
  }
  const last = verified.at(-1);
  const reached = last ?? (from !== null && typeof from === 'object' ? from : null);
  await recordChainFinding(db, run.tenantId, {
    reached: reached ? { seq: reached.seq, hash: reached.hash } : { seq: 0, hash: GENESIS_HASH },
    validFrom: verified[0]?.seq ?? 1,
    validTo: last?.seq ?? 0,
    fullTo: run.mode === 'FULL' && run.status === 'VALID' ? run.toSeq : null,
    broken:
      run.status === 'BROKEN' && run.brokenAtSeq !== null
        ? { seq: run.brokenAtSeq, reason: run.reason ?? '' }
        : null,
    at: run.updatedAt,
  });
  return true;
}

/** The answer: this run's state, and a break recorded earlier that nothing has verified whole since. */
function answer(run: VerificationRun, checked: number, status: ChainStatus | null): BoundedVerification {
  const known = status?.brokenAtSeq ?? null;
  const own = run.status === 'BROKEN' ? { seq: run.brokenAtSeq, reason: run.reason } : null;
  const brokenAt =
    own ??
    (known === null
      ? null
      : {
          seq: known,
          reason: `${status?.brokenReason} (found ${status?.brokenFoundAt}; not verified whole since)`,
        });
  return {
    valid: brokenAt === null,
    checked,
    brokenAtSeq: brokenAt?.seq ?? null,
    reason: brokenAt?.reason ?? null,
    mode: run.mode,
    anchor: run.anchor,
    fromSeq: run.fromSeq,
    verifiedToSeq: run.nextSeq - 1,
    toSeq: run.toSeq,
    complete: run.status !== 'RUNNING',
    cursor: run.status === 'RUNNING' ? run.id : null,
  };
}

/** How long one cron invocation holds a run's next page before another may take it. */
const LEASE_MS = 5 * 60_000;
/** Pages of background runs one cron invocation checks (VERIFY_PAGE_EVENTS events each). */
export const BACKGROUND_PAGES_PER_INVOCATION = 5;

export interface BackgroundVerificationDeps {
  db: D1Database;
  auditDigestSettings: AuditDigestSettings;
  now: () => Date;
}

export interface BackgroundVerificationReport {
  advanced: { tenantId: string; runId: string; verifiedToSeq: number; toSeq: number; complete: boolean }[];
  failed: { tenantId: string; runId: string; error: string }[];
}

/**
 * The cron's part of FULL verification (src/runtime/worker/scheduled.ts, the Node timer): moves the
 * running background runs of every tenant on, a page at a time, at most `pages` pages, least
 * recently moved first. Each page is leased first, so two invocations do not check the same page,
 * and recorded only from where the run was, so none is recorded twice; a failure is reported and
 * the lease runs out for the next invocation.
 */
export async function continueBackgroundVerifications(
  deps: BackgroundVerificationDeps,
  pages = BACKGROUND_PAGES_PER_INVOCATION,
): Promise<BackgroundVerificationReport> {
  const report: BackgroundVerificationReport = { advanced: [], failed: [] };
  let budget = pages;
  while (budget > 0) {
    const now = deps.now();
    const due = await dueBackgroundRuns(deps.db, now.toISOString(), budget);
    if (due.length === 0) break;
    for (const run of due) {
      budget -= 1;
      const until = new Date(now.getTime() + LEASE_MS).toISOString();
      if (!(await leaseBackgroundRun(deps.db, run, now.toISOString(), until))) continue;
      const ctx = createRequestContext({
        db: deps.db,
        requestId: `audit-verification:${run.id}`,
        principal: systemPrincipal(run.tenantId, 'audit-verifier', 'ChangeFlow audit verification'),
        source: 'system',
        auditDigestSettings: deps.auditDigestSettings,
      }) as AuthedContext;
      try {
        const r = await step(ctx, run, null);
        report.advanced.push({
          tenantId: run.tenantId,
          runId: run.id,
          verifiedToSeq: r.verifiedToSeq,
          toSeq: r.toSeq,
          complete: r.complete,
        });
      } catch (e) {
        report.failed.push({ tenantId: run.tenantId, runId: run.id, error: String(e) });
      }
    }
  }
  return report;
}

/** A verification run's progress, as the tenant's auditVerificationRuns query shows it. */
export interface VerificationRunProgress {
  id: string;
  mode: VerificationMode;
  status: VerificationRun['status'];
  continuedByScheduler: boolean;
  fromSeq: number;
  toSeq: number;
  verifiedToSeq: number;
  checked: number;
  brokenAtSeq: number | null;
  reason: string | null;
  startedBy: string;
  startedAt: string;
  updatedAt: string;
}

export const VERIFICATION_RUNS_LIMIT = 20;

/** The tenant's own runs that continued beyond one call, newest first. */
export async function verificationRunsOf(
  ctx: AuthedContext,
  limit: number,
): Promise<VerificationRunProgress[]> {
  const runs = await listVerificationRuns(
    ctx.db,
    ctx.principal.tenantId,
    Math.min(limit, VERIFICATION_RUNS_LIMIT),
  );
  return runs.map((r) => ({
    id: r.id,
    mode: r.mode,
    status: r.status,
    continuedByScheduler: r.background,
    fromSeq: r.fromSeq,
    toSeq: r.toSeq,
    verifiedToSeq: r.nextSeq - 1,
    checked: r.checked,
    brokenAtSeq: r.brokenAtSeq,
    reason: r.reason,
    startedBy: r.startedBy,
    startedAt: r.startedAt,
    updatedAt: r.updatedAt,
  }));
}
