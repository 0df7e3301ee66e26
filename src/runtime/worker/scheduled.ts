import { loadConfig } from '../../config';
import { pruneWebhookDeliveriesStatement, staleLiveExecutions, unsettledRunbooks } from '../../db/executions';
import { insertOutboxStatement, pruneDoneOutboxStatement, settleRowId } from '../../db/outbox';
import { pruneEndedDeliveriesStatement } from '../../db/webhooks';
import type { ExecutionRecord } from '../../domain/types';
import { DELIVERY_LOG_KEEP_MS } from '../../domain/webhooks';
import { abandonExecution } from '../../engine/engine';
import { createLogger } from '../../log';
import { digestSweepStep } from '../../usecases/auditDigests';
import { continueBackgroundVerifications } from '../../usecases/auditVerification';
import {
  auditTenantMigrations,
  migrationPrincipal,
  tenantsWithUnauditedMigrations,
} from '../../usecases/changes/migrations';
import { type DrainReport, drainDue } from '../../usecases/outbox';
import { type PruneReport, pruneExpired } from '../../usecases/retention';
import { runScheduledExports } from '../../usecases/tenantExports';
import { startCronWorkflows } from '../../usecases/workflows/cron';
import {
  asEngine,
  type ExecutionEnv,
  enginePorts,
  followUpRunner,
  r2Archive,
  release,
  settleRunbook,
  WAKE_EVENT,
  workflowsExecutor,
} from './ports';

/**
 * The Worker's cron (every minute, wrangler.toml [triggers]): starts the workflows whose cron
 * trigger matches this minute, and runs the watchdog that keeps executions from being stuck.
 */

/**
 * A live execution silent this long past its wake time (or since its last write) is failed with
 * EXECUTION-009: no step legitimately runs that long (HTTP attempts time out within a minute).
 */
export const ABANDON_AFTER_MS = 30 * 60_000;
/** Longer than the signature tolerance both ways (5 min old, 5 min ahead), so a replay is always caught. */
const WEBHOOK_REPLAY_WINDOW_MS = 15 * 60_000;
const SCAN_LIMIT = 200;
/** Follow-ups done this long ago are forgotten (their effects' own rows remain), a bounded batch a minute. */
const OUTBOX_KEEP_MS = 7 * 24 * 3600_000;
const OUTBOX_PRUNE_LIMIT = 500;

const logger = createLogger({ service: 'changeflow', component: 'scheduled' });

export interface SweepReport {
  cronStarted: string[];
  nudged: string[];
  restarted: string[];
  abandoned: string[];
  /** Runbook executions that ended while their change stayed IMPLEMENTING: settles queued again. */
  resettled: string[];
  followUps: DrainReport;
  /** What the retention policies pruned this run; null if pruning failed (logged). */
  pruned: PruneReport | null;
}

/** How late the execution is: past its wake time, or since its last write when it set none. */
function lateness(e: ExecutionRecord, now: number): number {
  const due = e.wakeAt ? Date.parse(e.wakeAt) : Date.parse(e.updatedAt);
  return now - due;
}

/**
 * Looks at every live execution that has not moved for a while and makes sure it is either
 * moving or ended: a PENDING one whose hand-over failed is handed over again; one whose instance
 * ended, errored or vanished is failed (EXECUTION-009); one that overslept (a `wrangler dev`
 * restart leaves waits without their timer) is woken; one silent for ABANDON_AFTER_MS is failed.
 * Then the changes a runbook left IMPLEMENTING after it ended get their settle queued again.
 */
export async function watchdog(
  env: ExecutionEnv,
  now: Date,
): Promise<Omit<SweepReport, 'cronStarted' | 'followUps' | 'pruned'>> {
  const report = {
    nudged: [] as string[],
    restarted: [] as string[],
    abandoned: [] as string[],
    resettled: [] as string[],
  };
  const nudgeAfter = loadConfig(env).execution.nudgeAfterMs;
  const candidates = await staleLiveExecutions(
    env.DB,
    new Date(now.getTime() - nudgeAfter).toISOString(),
    SCAN_LIMIT,
  );
  for (const e of candidates) {
    const late = lateness(e, now.getTime());
    if (late >= nudgeAfter) report[await sweepOne(env, e, late)].push(e.id);
  }
  report.resettled = await requeueSettles(env, new Date(now.getTime() - nudgeAfter));
  return report;
}

/**
 * Finds changes still IMPLEMENTING whose runbook execution ended before `before` (its settle was
 * lost, or came from before the outbox) and queues their settle again; the drain that follows
 * in the same sweep runs it.
 */
async function requeueSettles(env: ExecutionEnv, before: Date): Promise<string[]> {
  const ended = await unsettledRunbooks(env.DB, before.toISOString(), SCAN_LIMIT);
  if (ended.length === 0) return [];
  const at = new Date().toISOString();
  await env.DB.batch(
    ended.map(({ tenantId, executionId }) =>
      insertOutboxStatement(
        env.DB,
        {
          id: settleRowId(executionId),
          tenantId,
          followUp: { kind: 'settle-runbook', executionId },
          actor: null,
          source: 'system',
          toolName: null,
          requestId: `watchdog:${executionId}`,
          createdAt: at,
        },
        { reopen: true },
      ),
    ),
  );
  return ended.map((e) => e.executionId);
}

/** Puts one late execution back on its way, or ends it; says which. */
async function sweepOne(
  env: ExecutionEnv,
  e: ExecutionRecord,
  late: number,
): Promise<'nudged' | 'restarted' | 'abandoned'> {
  const ids = { tenantId: e.tenantId, executionId: e.id };
  const abandon = async (why: string) => {
    const ended = await abandonExecution(enginePorts(env, e.tenantId), ids, why);
    if (ended?.changeId && ended.trigger === 'RUNBOOK') await settleRunbook(env, ended.id);
    const instance = await env.EXECUTOR.get(e.id).catch(() => null);
    await instance?.terminate().catch(() => {});
    release(instance);
    return 'abandoned' as const;
  };
  const instance = await env.EXECUTOR.get(e.id).catch(() => null);
  if (!instance) {
    if (e.status !== 'PENDING') return abandon('the workflow engine has no instance for this execution');
    await workflowsExecutor(env).start(ids);
    return 'restarted';
  }
  try {
    const { status, error } = await instance.status();
    if (status === 'errored' || status === 'terminated' || status === 'complete') {
      const why = error ? `: ${error.message}` : '';
      return abandon(`the workflow engine's instance ended ${status}${why} without recording a result`);
    }
    if (late >= ABANDON_AFTER_MS) return abandon(`no progress for ${Math.round(late / 60_000)} minutes`);
    if (status === 'paused') await instance.resume().catch(() => {});
    await instance.sendEvent({ type: WAKE_EVENT, payload: null }).catch(() => {});
    return 'nudged';
  } finally {
    release(instance);
  }
}

/** Audit events for rows a migration changed (see src/usecases/changes/migrations.ts); nothing to do once caught up. */
export async function auditMigrations(env: ExecutionEnv): Promise<number> {
  let total = 0;
  for (const tenantId of await tenantsWithUnauditedMigrations(env.DB)) {
    total += await asEngine(env, tenantId, 'migration', (ctx) =>
      auditTenantMigrations({ ...ctx, principal: migrationPrincipal(tenantId) }),
    );
  }
  return total;
}

/**
 * When digests are on: at the top of every hour a sweep over the tenants starts, and every
 * invocation (this minute's and the next ones') digests a bounded batch of them, to R2 and D1
 * (src/usecases/auditDigests.ts), until all are done. A failure is logged, never stops the sweep.
 */
export async function hourlyAuditDigests(env: ExecutionEnv, at: Date): Promise<void> {
  const settings = loadConfig(env).auditDigests;
  if (!settings.enabled) return;
  try {
    const report = await digestSweepStep(
      { db: env.DB, archive: r2Archive(env.AUDIT_ARCHIVE), settings, now: () => new Date() },
      at,
    );
    if (report) logger.log(report.failed.length ? 'error' : 'info', 'audit digests', { ...report });
  } catch (e) {
    logger.log('error', 'audit digests failed', { error: String(e) });
  }
}

/**
 * FULL audit verifications (src/usecases/auditVerification.ts): every minute, a bounded number of
 * pages of the running ones, whether or not their caller comes back with the cursor. Failures are
 * logged; the run's lease runs out and the next minute takes it again.
 */
export async function backgroundVerifications(env: ExecutionEnv): Promise<void> {
  try {
    const report = await continueBackgroundVerifications({
      db: env.DB,
      auditDigestSettings: loadConfig(env).auditDigests,
      now: () => new Date(),
    });
    if (report.advanced.length || report.failed.length) {
      logger.log(report.failed.length ? 'error' : 'info', 'audit verifications', { ...report });
    }
  } catch (e) {
    logger.log('error', 'audit verifications failed', { error: String(e) });
  }
}

/**
 * Tenant exports (src/usecases/tenantExports.ts): every minute, bounded steps of the running ones;
 * at minute 30, new ones for the tenants due (BACKUP_EXPORT_INTERVAL_HOURS). Failures are logged.
 */
export async function scheduledExports(env: ExecutionEnv, at: Date): Promise<void> {
  const config = loadConfig(env);
  try {
    const report = await runScheduledExports(
      {
        db: env.DB,
        archive: r2Archive(env.AUDIT_ARCHIVE),
        digests: config.auditDigests,
        now: () => new Date(),
      },
      at,
      config.backupExportIntervalHours,
    );
    if (report.advanced.length || report.failed.length) {
      logger.log(report.failed.length ? 'error' : 'info', 'tenant exports', { ...report });
    }
  } catch (e) {
    logger.log('error', 'tenant exports failed', { error: String(e) });
  }
}

export async function runScheduled(env: ExecutionEnv, scheduledTime: number): Promise<SweepReport> {
  const at = new Date(scheduledTime);
  await auditMigrations(env).catch((e) =>
    logger.log('error', 'migration audit failed', { error: String(e) }),
  );
  const cronStarted = await startCronWorkflows(env.DB, at, (tenantId, requestId, work) =>
    asEngine(env, tenantId, requestId, work),
  );
  const swept = await watchdog(env, new Date());
  // Every tenant's due follow-ups: those whose alarm was lost, and the settles just re-queued.
  const followUps = await drainDue(followUpRunner(env), { limit: SCAN_LIMIT });
  await env.DB.batch([
    pruneWebhookDeliveriesStatement(env.DB, new Date(Date.now() - WEBHOOK_REPLAY_WINDOW_MS).toISOString()),
    pruneDoneOutboxStatement(env.DB, new Date(Date.now() - OUTBOX_KEEP_MS).toISOString(), OUTBOX_PRUNE_LIMIT),
    pruneEndedDeliveriesStatement(
      env.DB,
      new Date(Date.now() - DELIVERY_LOG_KEEP_MS).toISOString(),
      OUTBOX_PRUNE_LIMIT,
    ),
  ]);
  // The tenants' retention policies: a bounded batch a minute, none of a tenant under legal hold.
  const pruned = await pruneExpired(env.DB, new Date()).catch((e) => {
    logger.log('error', 'retention pruning failed', { error: String(e) });
    return null;
  });
  const report = { cronStarted, ...swept, followUps, pruned };
  logger.log('info', 'scheduled sweep', report);
  await hourlyAuditDigests(env, at);
  await backgroundVerifications(env);
  await scheduledExports(env, at);
  return report;
}
