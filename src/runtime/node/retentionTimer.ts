import { pruneEndedDeliveriesStatement } from '../../db/webhooks';
import { DELIVERY_LOG_KEEP_MS } from '../../domain/webhooks';
import type { createLogger } from '../../log';
import { pruneExpired } from '../../usecases/retention';

const MINUTE_MS = 60_000;

/**
 * The Worker cron's retention pruning, in this process: a bounded batch every minute (the tenants'
 * retention policies, src/usecases/retention.ts). Returns what stops it once a run in flight has
 * ended, so the database is not closed under it. The timer does not keep the process alive.
 */
export function retentionTimer(
  db: D1Database,
  logger: ReturnType<typeof createLogger>,
  everyMs = MINUTE_MS,
): () => Promise<void> {
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() =>
      Promise.all([
        pruneExpired(db, new Date()),
        // The webhook delivery log, as the Worker's cron forgets it.
        pruneEndedDeliveriesStatement(
          db,
          new Date(Date.now() - DELIVERY_LOG_KEEP_MS).toISOString(),
          500,
        ).run(),
      ]).then(
        ([report]) => {
          if (report.stepOutputs + report.executionOutputs + report.idempotencyRecords > 0)
            logger.log('info', 'retention pruning', { ...report });
        },
        (e) => logger.log('error', 'retention pruning failed', { error: String(e) }),
      ),
    );
  }, everyMs);
  timer.unref?.();
  return () => {
    clearInterval(timer);
    return running;
  };
}
