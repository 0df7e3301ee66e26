import type { Principal } from '../domain/principal';
import type { AuditSource } from './audit';

/** The transactional outbox (migration 0012): follow-ups of committed writes, run until they succeed. */

export type FollowUp =
  /** A change was decided: the approval gates waiting on it look again. */
  | { kind: 'wake-gates'; changeId: string }
  /** A change was approved: its runbook starts if it has a change-approved trigger. */
  | { kind: 'change-approved'; changeId: string }
  /** A runbook execution ended: the change it implemented completes or fails. */
  | { kind: 'settle-runbook'; executionId: string }
  /** An event for a webhook endpoint: its delivery is sent (usecases/webhooks/deliver.ts). */
  | { kind: 'webhook-delivery'; deliveryId: string };

export type FollowUpKind = FollowUp['kind'];

/** Who a follow-up acts as: the principal of the write that queued it, without name or email. */
export type OutboxActor = Pick<Principal, 'id' | 'tenantId' | 'kind' | 'roles' | 'apiKey'>;

/** What a write queues: the row before any drainer has claimed it. */
export interface NewOutboxRow {
  id: string;
  tenantId: string;
  followUp: FollowUp;
  /** Null: the workflow engine (a settle queued by the engine itself). */
  actor: OutboxActor | null;
  source: AuditSource;
  toolName: string | null;
  requestId: string;
  createdAt: string;
}

export interface OutboxRow extends NewOutboxRow {
  attempts: number;
  nextAttemptAt: string;
  leaseId: string | null;
  leaseUntil: string | null;
  lastError: string | null;
  doneAt: string | null;
}

interface Row {
  id: string;
  tenant_id: string;
  kind: string;
  payload: string;
  actor: string | null;
  source: string;
  tool_name: string | null;
  request_id: string;
  created_at: string;
  attempts: number;
  next_attempt_at: string;
  lease_id: string | null;
  lease_until: string | null;
  last_error: string | null;
  done_at: string | null;
}

const COLUMNS =
  'id, tenant_id, kind, payload, actor, source, tool_name, request_id, created_at, attempts, next_attempt_at, ' +
  'lease_id, lease_until, last_error, done_at';

const fromRow = (r: Row): OutboxRow => ({
  id: r.id,
  tenantId: r.tenant_id,
  followUp: { kind: r.kind, ...JSON.parse(r.payload) } as FollowUp,
  actor: r.actor ? (JSON.parse(r.actor) as OutboxActor) : null,
  source: r.source as AuditSource,
  toolName: r.tool_name,
  requestId: r.request_id,
  createdAt: r.created_at,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  leaseId: r.lease_id,
  leaseUntil: r.lease_until,
  lastError: r.last_error,
  doneAt: r.done_at,
});

/** The settle of an execution has one row, whoever queues it (the engine, the watchdog). */
export const settleRowId = (executionId: string) => `obx_settle_${executionId}`;

/** A webhook delivery has one row, named after it. */
export const webhookRowId = (deliveryId: string) => `obx_${deliveryId}`;

/** Whether a row sends a webhook delivery (by its id: the drainers run those apart). */
export const isWebhookRowId = (id: string) => id.startsWith('obx_whd_');

const payloadOf = ({ kind: _, ...rest }: FollowUp) => JSON.stringify(rest);

/**
 * Queues a follow-up, due at once. A row with the same id is left as it is; with `reopen`, one
 * already done is due again (the watchdog re-queues a settle whose change is still IMPLEMENTING).
 */
export function insertOutboxStatement(
  db: D1Database,
  row: NewOutboxRow,
  opts: { reopen?: boolean } = {},
): D1PreparedStatement {
  const onConflict = opts.reopen
    ? `DO UPDATE SET done_at = NULL, next_attempt_at = excluded.next_attempt_at WHERE outbox.done_at IS NOT NULL`
    : 'DO NOTHING';
  return db
    .prepare(
      `INSERT INTO outbox (id, tenant_id, kind, payload, actor, source, tool_name, request_id, created_at, next_attempt_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
       ON CONFLICT (id) ${onConflict}`,
    )
    .bind(
      row.id,
      row.tenantId,
      row.followUp.kind,
      payloadOf(row.followUp),
      row.actor ? JSON.stringify(row.actor) : null,
      row.source,
      row.toolName,
      row.requestId,
      row.createdAt,
    );
}

/**
 * Claims a due row for `leaseMs`: no other drainer claims it before the lease ends (a drainer
 * that dies mid-run loses its claim then). Null when the row is done, not due, or claimed.
 */
export async function claimOutboxRow(
  db: D1Database,
  id: string,
  leaseId: string,
  now: string,
  leaseUntil: string,
): Promise<OutboxRow | null> {
  const row = await db
    .prepare(
      `UPDATE outbox SET lease_id = ?2, lease_until = ?4, attempts = attempts + 1
       WHERE id = ?1 AND done_at IS NULL AND next_attempt_at <= ?3 AND (lease_until IS NULL OR lease_until <= ?3)
       RETURNING ${COLUMNS}`,
    )
    .bind(id, leaseId, now, leaseUntil)
    .first<Row>();
  return row ? fromRow(row) : null;
}

/** Marks a claimed row done; false when the claim was lost (its lease ran out and another took it). */
export async function completeOutboxRow(
  db: D1Database,
  id: string,
  leaseId: string,
  now: string,
): Promise<boolean> {
  const r = await db
    .prepare(
      `UPDATE outbox SET done_at = ?3, lease_id = NULL, lease_until = NULL, last_error = NULL
       WHERE id = ?1 AND lease_id = ?2 AND done_at IS NULL`,
    )
    .bind(id, leaseId, now)
    .run();
  return r.meta.changes > 0;
}

/** Releases a claimed row after a failed run: due again at `nextAttemptAt`. */
export async function failOutboxRow(
  db: D1Database,
  id: string,
  leaseId: string,
  error: string,
  nextAttemptAt: string,
): Promise<void> {
  await db
    .prepare(
      `UPDATE outbox SET lease_id = NULL, lease_until = NULL, last_error = ?3, next_attempt_at = ?4
       WHERE id = ?1 AND lease_id = ?2 AND done_at IS NULL`,
    )
    .bind(id, leaseId, error.slice(0, 1000), nextAttemptAt)
    .run();
}

/** Rows still to run that are due by `now` (of one tenant, or of all), the longest-waiting first. */
export async function dueOutboxRows(
  db: D1Database,
  now: string,
  limit: number,
  tenantId?: string,
): Promise<{ id: string; tenantId: string }[]> {
  const { results } = await (tenantId
    ? db
        .prepare(
          `SELECT id, tenant_id FROM outbox WHERE tenant_id = ?1 AND done_at IS NULL AND next_attempt_at <= ?2
           ORDER BY next_attempt_at LIMIT ?3`,
        )
        .bind(tenantId, now, limit)
    : db
        .prepare(
          `SELECT id, tenant_id FROM outbox WHERE done_at IS NULL AND next_attempt_at <= ?1
           ORDER BY next_attempt_at LIMIT ?2`,
        )
        .bind(now, limit)
  ).all<{ id: string; tenant_id: string }>();
  return results.map((r) => ({ id: r.id, tenantId: r.tenant_id }));
}

/** When a tenant's next row to run is due (a claimed row: when its lease ends); null when none is left. */
export async function nextOutboxDue(db: D1Database, tenantId: string): Promise<string | null> {
  const row = await db
    .prepare(
      `SELECT MIN(MAX(next_attempt_at, COALESCE(lease_until, ''))) AS due FROM outbox
       WHERE tenant_id = ?1 AND done_at IS NULL`,
    )
    .bind(tenantId)
    .first<{ due: string | null }>();
  return row?.due ?? null;
}

export async function getOutboxRow(db: D1Database, id: string): Promise<OutboxRow | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM outbox WHERE id = ?1`).bind(id).first<Row>();
  return row ? fromRow(row) : null;
}

/** Forgets rows done before `before`, at most `limit` of them (the cron calls it every minute). */
export function pruneDoneOutboxStatement(db: D1Database, before: string, limit: number): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM outbox WHERE id IN (
         SELECT id FROM outbox WHERE done_at IS NOT NULL AND done_at < ?1 LIMIT ?2)`,
    )
    .bind(before, limit);
}
