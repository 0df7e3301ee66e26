import {
  claimOutboxRow,
  completeOutboxRow,
  dueOutboxRows,
  failOutboxRow,
  type OutboxRow,
} from '../db/outbox';
import { retryDelayMs } from '../engine/backoff';
import { createLogger } from '../log';
import type { AuthedContext } from './context';

/**
 * The transactional outbox's drainer. A follow-up of a committed write (db/outbox.ts FollowUp)
 * is a row written in the write's own batch (commit.ts); this runs it: right after the commit
 * (the caller's answer never waits on its success), then from the cron, the tenant's Durable
 * Object alarm (a timer on Node) until it succeeds. A run claims its row with a lease, so two
 * drainers never run one row at once; every effect is keyed by a row of ours written with the
 * effect, so a run after a crash (its effect done, the row not yet marked) does nothing twice.
 * The effects are in followUps.ts; each runtime wires both (ports.ts in a Worker, in Node).
 */

/** How long a claim holds: longer than any follow-up takes (a batch and a hand-over). */
export const LEASE_MS = 2 * 60_000;
/** Retries back off with full jitter from this, doubling per attempt, up to the cap. */
const RETRY_BASE_MS = 5_000;
const RETRY_CAP_MS = 30 * 60_000;
/** Rows one drain runs at most (the cron and an alarm come back for the rest). */
export const DRAIN_LIMIT = 50;

const logger = createLogger({ service: 'changeflow', component: 'outbox' });

/** Where a drainer runs follow-ups. */
export interface FollowUpRunner {
  db: D1Database;
  now(): Date;
  /** Runs the row's effect (followUps.ts runFollowUpEffect) as its actor; says what it did. */
  run(row: OutboxRow): Promise<string>;
  /** Another drain of the tenant at `at` (a Durable Object alarm, a timer); absent: the next cron. */
  retryAt?(tenantId: string, at: Date): Promise<void>;
}

/**
 * Runs the follow-ups a write queued right after it committed (commit.ts), as the writer; never
 * throws: the write committed, and its answer stands whatever becomes of them. Provided by the
 * runtime; where none is, they wait for the cron.
 */
export interface FollowUpsPort {
  afterCommit(ctx: AuthedContext, ids: readonly string[]): Promise<void>;
}

/** The pause before the retry after `attempts` claims. */
export const retryAfterMs = (attempts: number, random: () => number = Math.random) =>
  Math.max(1_000, retryDelayMs({ attempt: attempts, baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS, random }));

export type RunOutcome = 'done' | 'failed' | 'skipped';

/**
 * Thrown by an effect that is not finished and knows when to run again (a webhook delivery that
 * backs off on its own schedule, or waits for an earlier one): the row is due again at `at`.
 */
export class RetryAt extends Error {
  constructor(
    readonly at: Date,
    message: string,
  ) {
    super(message);
    this.name = 'RetryAt';
  }
}

/**
 * Claims and runs one row; never throws. 'skipped': the row is done, not due yet, or another
 * drainer holds it. A failure is logged and recorded on the row, which is due again after a backoff.
 */
export async function runFollowUp(runner: FollowUpRunner, id: string): Promise<RunOutcome> {
  const lease = crypto.randomUUID();
  const claimedAt = runner.now();
  let row: OutboxRow | null;
  try {
    row = await claimOutboxRow(
      runner.db,
      id,
      lease,
      claimedAt.toISOString(),
      new Date(claimedAt.getTime() + LEASE_MS).toISOString(),
    );
  } catch (e) {
    logger.log('warn', 'outbox claim failed', { outboxId: id, error: String(e) });
    return 'failed';
  }
  if (!row) return 'skipped';
  const fields = { outboxId: id, tenantId: row.tenantId, kind: row.followUp.kind, attempt: row.attempts };
  try {
    const outcome = await runner.run(row);
    if (!(await completeOutboxRow(runner.db, id, lease, runner.now().toISOString()))) {
      logger.log('warn', 'outbox claim lost before the row was marked done', fields);
    }
    logger.log('info', 'follow-up done', { ...fields, outcome });
    return 'done';
  } catch (e) {
    const next = e instanceof RetryAt ? e.at : new Date(runner.now().getTime() + retryAfterMs(row.attempts));
    logger.log(e instanceof RetryAt ? 'info' : 'warn', 'follow-up failed; will retry', {
      ...fields,
      error: String(e),
      retryAt: next.toISOString(),
    });
    await failOutboxRow(runner.db, id, lease, String(e), next.toISOString()).catch((err) =>
      // The lease runs out by itself: the row is claimed again after LEASE_MS.
      logger.log('warn', 'outbox failure not recorded', { ...fields, error: String(err) }),
    );
    await runner
      .retryAt?.(row.tenantId, next)
      .catch((err) =>
        logger.log('warn', 'outbox retry not scheduled; the cron will', { ...fields, error: String(err) }),
      );
    return 'failed';
  }
}

export interface DrainReport {
  done: string[];
  failed: string[];
  skipped: string[];
}

/** Runs the due rows (of one tenant, or of all), at most `limit`; never throws. */
export async function drainDue(
  runner: FollowUpRunner,
  opts: { tenantId?: string; limit?: number } = {},
): Promise<DrainReport> {
  const report: DrainReport = { done: [], failed: [], skipped: [] };
  let due: { id: string }[];
  try {
    due = await dueOutboxRows(
      runner.db,
      runner.now().toISOString(),
      opts.limit ?? DRAIN_LIMIT,
      opts.tenantId,
    );
  } catch (e) {
    logger.log('warn', 'outbox scan failed', { error: String(e) });
    return report;
  }
  for (const { id } of due) report[await runFollowUp(runner, id)].push(id);
  return report;
}
