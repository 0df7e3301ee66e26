/**
 * Work the service owes, across tenants, for `/metrics`: what the outbox, the audit archive and the
 * workflow engine have not finished. Each figure reads a partial index of unfinished rows only
 * (idx_outbox_due, idx_audit_digests_unarchived, idx_executions_live), so a scrape costs the
 * backlog, never the history.
 */
export interface Backlog {
  outboxPending: number;
  /** Pending follow-ups whose last attempt failed (the drainer retries them with backoff). */
  outboxFailing: number;
  /** Age of the oldest pending follow-up, 0 when none. */
  outboxOldestSeconds: number;
  digestsUnarchived: number;
  executionsLive: number;
  /** Time since the live execution that moved least recently last moved, 0 when none. */
  executionsStalestSeconds: number;
}

const ageSeconds = (iso: string | null, now: Date) =>
  iso === null ? 0 : Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));

export async function backlog(db: D1Database, now: Date): Promise<Backlog> {
  const row = await db
    .prepare(
      `SELECT
         (SELECT COUNT(*) FROM outbox WHERE done_at IS NULL) AS outbox_pending,
         (SELECT COUNT(*) FROM outbox WHERE done_at IS NULL AND last_error IS NOT NULL) AS outbox_failing,
         (SELECT MIN(created_at) FROM outbox WHERE done_at IS NULL) AS outbox_oldest,
         (SELECT COUNT(*) FROM audit_digests WHERE archived_at IS NULL) AS digests_unarchived,
         (SELECT COUNT(*) FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING')) AS executions_live,
         (SELECT MIN(updated_at) FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING')) AS executions_stalest`,
    )
    .first<{
      outbox_pending: number;
      outbox_failing: number;
      outbox_oldest: string | null;
      digests_unarchived: number;
      executions_live: number;
      executions_stalest: string | null;
    }>();
  if (!row) throw new Error('backlog: the aggregate query returned no row');
  return {
    outboxPending: row.outbox_pending,
    outboxFailing: row.outbox_failing,
    outboxOldestSeconds: ageSeconds(row.outbox_oldest, now),
    digestsUnarchived: row.digests_unarchived,
    executionsLive: row.executions_live,
    executionsStalestSeconds: ageSeconds(row.executions_stalest, now),
  };
}
