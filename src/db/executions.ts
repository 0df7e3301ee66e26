import type {
  AttemptRecord,
  ExecutionErrorRecord,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionTrigger,
  StepRunRecord,
  StepRunStatus,
} from '../domain/types';

/** Workflow executions and their step runs. */

interface ExecutionRow {
  id: string;
  tenant_id: string;
  workflow_id: string;
  workflow_version: number;
  status: string;
  trigger: string;
  trigger_ref: string | null;
  change_id: string | null;
  inputs: string;
  outputs: string | null;
  error_code: string | null;
  error_class: string | null;
  error_message: string | null;
  error_step: string | null;
  error_http_status: number | null;
  current_step: number | null;
  wake_at: string | null;
  cancel_requested_at: string | null;
  cancel_requested_by: string | null;
  created_by: string;
  caused_by: string | null;
  created_at: string;
  started_at: string | null;
  ended_at: string | null;
  updated_at: string;
}

interface StepRunRow {
  execution_id: string;
  step_index: number;
  step_id: string;
  type: string;
  status: string;
  attempts: number;
  attempt_log: string;
  started_at: string;
  ended_at: string | null;
  output: string | null;
  output_truncated: number;
  error_code: string | null;
  error_class: string | null;
  error_message: string | null;
  http_status: number | null;
  waiting_on_change: string | null;
}

const COLUMNS =
  'id, tenant_id, workflow_id, workflow_version, status, trigger, trigger_ref, change_id, inputs, outputs, ' +
  'error_code, error_class, error_message, error_step, error_http_status, current_step, wake_at, cancel_requested_at, ' +
  'cancel_requested_by, created_by, created_at, started_at, ended_at, updated_at, caused_by';
const STEP_COLUMNS =
  'execution_id, step_index, step_id, type, status, attempts, attempt_log, started_at, ended_at, output, ' +
  'output_truncated, error_code, error_class, error_message, http_status, waiting_on_change';

const parse = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

function errorOf(
  code: string | null,
  cls: string | null,
  message: string | null,
  extra: Partial<ExecutionErrorRecord>,
): ExecutionErrorRecord | null {
  if (!code) return null;
  return { code, class: cls ?? 'UNKNOWN', message: message ?? '', ...extra };
}

const fromRow = (r: ExecutionRow): ExecutionRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  workflowId: r.workflow_id,
  workflowVersion: r.workflow_version,
  status: r.status as ExecutionStatus,
  trigger: r.trigger as ExecutionTrigger,
  triggerRef: r.trigger_ref,
  changeId: r.change_id,
  inputs: parse(r.inputs),
  outputs: parse(r.outputs),
  error: errorOf(r.error_code, r.error_class, r.error_message, {
    stepId: r.error_step,
    status: r.error_http_status,
  }),
  currentStep: r.current_step,
  wakeAt: r.wake_at,
  cancelRequestedAt: r.cancel_requested_at,
  cancelRequestedBy: r.cancel_requested_by,
  createdBy: r.created_by,
  causedBy: r.caused_by,
  createdAt: r.created_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  updatedAt: r.updated_at,
});

const stepFromRow = (r: StepRunRow): StepRunRecord => ({
  executionId: r.execution_id,
  index: r.step_index,
  stepId: r.step_id,
  type: r.type,
  status: r.status as StepRunStatus,
  attempts: r.attempts,
  attemptLog: JSON.parse(r.attempt_log) as AttemptRecord[],
  startedAt: r.started_at,
  endedAt: r.ended_at,
  output: parse(r.output),
  outputTruncated: r.output_truncated === 1,
  error: errorOf(r.error_code, r.error_class, r.error_message, { status: r.http_status }),
  waitingOnChange: r.waiting_on_change,
});

const jsonOrNull = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v));

/** error_code, error_class, error_message, error_step, error_http_status, in that order. */
const errorColumns = (error: ExecutionErrorRecord | null) => [
  error?.code ?? null,
  error?.class ?? null,
  error?.message ?? null,
  error?.stepId ?? null,
  error?.status ?? null,
];

/**
 * Records an execution. `outboxId`: the follow-up that starts it (src/usecases/outbox.ts), unique,
 * so a second run of that follow-up finds this row instead of starting another.
 */
export function insertExecutionStatement(
  db: D1Database,
  e: ExecutionRecord,
  outboxId: string | null = null,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO workflow_executions (${COLUMNS}, outbox_id)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26)`,
    )
    .bind(
      e.id,
      e.tenantId,
      e.workflowId,
      e.workflowVersion,
      e.status,
      e.trigger,
      e.triggerRef,
      e.changeId,
      JSON.stringify(e.inputs ?? {}),
      jsonOrNull(e.outputs),
      ...errorColumns(e.error),
      e.currentStep,
      e.wakeAt,
      e.cancelRequestedAt,
      e.cancelRequestedBy,
      e.createdBy,
      e.createdAt,
      e.startedAt,
      e.endedAt,
      e.updatedAt,
      e.causedBy,
      outboxId,
    );
}

/** The execution a follow-up started, if it did (see insertExecutionStatement). */
export async function executionOfOutbox(
  db: D1Database,
  tenantId: string,
  outboxId: string,
): Promise<ExecutionRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM workflow_executions WHERE tenant_id = ?1 AND outbox_id = ?2`)
    .bind(tenantId, outboxId)
    .first<ExecutionRow>();
  return row ? fromRow(row) : null;
}

export async function getExecution(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<ExecutionRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM workflow_executions WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<ExecutionRow>();
  return row ? fromRow(row) : null;
}

export interface ExecutionFilter {
  workflowId?: string | null;
  status?: ExecutionStatus | null;
  changeId?: string | null;
}

export interface ExecutionCursor {
  createdAt: string;
  id: string;
}

/** Newest first, keyset-paginated; fetches `limit` rows. */
export async function listExecutions(
  db: D1Database,
  tenantId: string,
  filter: ExecutionFilter,
  limit: number,
  cursor: ExecutionCursor | null,
): Promise<ExecutionRecord[]> {
  const clauses = ['tenant_id = ?'];
  const params: unknown[] = [tenantId];
  for (const [column, value] of [
    ['workflow_id', filter.workflowId],
    ['status', filter.status],
    ['change_id', filter.changeId],
  ] as const) {
    if (value) {
      clauses.push(`${column} = ?`);
      params.push(value);
    }
  }
  if (cursor) {
    // A row value: an index bound, so a deep page seeks to its cursor (docs/performance.md).
    clauses.push('(created_at, id) < (?, ?)');
    params.push(cursor.createdAt, cursor.id);
  }
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM workflow_executions WHERE ${clauses.join(' AND ')}
       ORDER BY created_at DESC, id DESC LIMIT ?`,
    )
    .bind(...params, limit)
    .all<ExecutionRow>();
  return results.map(fromRow);
}

/** The step runs of several executions of one tenant, in step order (one statement). */
export async function getStepRuns(
  db: D1Database,
  tenantId: string,
  executionIds: readonly string[],
): Promise<StepRunRecord[]> {
  if (executionIds.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT ${STEP_COLUMNS} FROM workflow_step_runs
       WHERE tenant_id = ?1 AND execution_id IN (SELECT value FROM json_each(?2))
       ORDER BY execution_id, step_index`,
    )
    .bind(tenantId, JSON.stringify(executionIds))
    .all<StepRunRow>();
  return results.map(stepFromRow);
}

/** Inserts or replaces a step run (its row is rewritten as the step moves on). */
export function upsertStepRunStatement(
  db: D1Database,
  tenantId: string,
  s: StepRunRecord,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR REPLACE INTO workflow_step_runs (tenant_id, ${STEP_COLUMNS})
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)`,
    )
    .bind(
      tenantId,
      s.executionId,
      s.index,
      s.stepId,
      s.type,
      s.status,
      s.attempts,
      JSON.stringify(s.attemptLog),
      s.startedAt,
      s.endedAt,
      jsonOrNull(s.output),
      s.outputTruncated ? 1 : 0,
      s.error?.code ?? null,
      s.error?.class ?? null,
      s.error?.message ?? null,
      s.error?.status ?? null,
      s.waitingOnChange,
    );
}

/**
 * Moves a live execution on. Once an execution is terminal no later write (a late step, a second
 * finisher) can change it, so CANCELLED and a result are never mixed up: the trigger of migration
 * 0014 refuses with EXECUTION_ALREADY_ENDED, failing the whole batch with the audit event that
 * described the write (a WHERE on the status would drop the update and keep the event).
 */
export function updateLiveExecutionStatement(db: D1Database, e: ExecutionRecord): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE workflow_executions
       SET status = ?3, outputs = ?4, error_code = ?5, error_class = ?6, error_message = ?7, error_step = ?8,
           error_http_status = ?9, current_step = ?10, wake_at = ?11, started_at = ?12, ended_at = ?13,
           updated_at = ?14
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(
      e.tenantId,
      e.id,
      e.status,
      jsonOrNull(e.outputs),
      ...errorColumns(e.error),
      e.currentStep,
      e.wakeAt,
      e.startedAt,
      e.endedAt,
      e.updatedAt,
    );
}

/** Records a cancel request on a live execution; the engine acts on it at its next check. */
export function requestCancelStatement(
  db: D1Database,
  tenantId: string,
  id: string,
  by: string,
  at: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE workflow_executions SET cancel_requested_at = ?3, cancel_requested_by = ?4, updated_at = ?3
       WHERE tenant_id = ?1 AND id = ?2 AND status IN ('PENDING', 'RUNNING') AND cancel_requested_at IS NULL`,
    )
    .bind(tenantId, id, at, by);
}

/**
 * Running executions with an approval gate waiting on this change (one that ended, say abandoned
 * by the watchdog, may leave its step run WAITING: it has nothing left to wake).
 */
export async function executionsWaitingOnChange(
  db: D1Database,
  tenantId: string,
  changeId: string,
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT s.execution_id FROM workflow_step_runs s
       JOIN workflow_executions e ON e.id = s.execution_id AND e.tenant_id = s.tenant_id
       WHERE s.tenant_id = ?1 AND s.waiting_on_change = ?2 AND s.status = 'WAITING' AND e.status = 'RUNNING'`,
    )
    .bind(tenantId, changeId)
    .all<{ execution_id: string }>();
  return results.map((r) => r.execution_id);
}

/** Every live execution, least recently moved first (idx_executions_live): what a restart resumes. */
export async function allLiveExecutions(
  db: D1Database,
): Promise<{ tenantId: string; executionId: string }[]> {
  const { results } = await db
    .prepare(
      `SELECT id, tenant_id FROM workflow_executions WHERE status IN ('PENDING', 'RUNNING') ORDER BY updated_at`,
    )
    .all<{ id: string; tenant_id: string }>();
  return results.map((r) => ({ tenantId: r.tenant_id, executionId: r.id }));
}

/** Live executions not updated since `before`: the watchdog's candidates. */
export async function staleLiveExecutions(
  db: D1Database,
  before: string,
  limit: number,
): Promise<ExecutionRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM workflow_executions
       WHERE status IN ('PENDING', 'RUNNING') AND updated_at < ?1 ORDER BY updated_at LIMIT ?2`,
    )
    .bind(before, limit)
    .all<ExecutionRow>();
  return results.map(fromRow);
}

/**
 * Runbook executions that ended before `before` while their change is still IMPLEMENTING: the
 * settle that should have followed was lost (the watchdog queues it again). Only a change's latest
 * runbook execution counts.
 */
export async function unsettledRunbooks(
  db: D1Database,
  before: string,
  limit: number,
): Promise<{ tenantId: string; executionId: string }[]> {
  const { results } = await db
    .prepare(
      `SELECT e.tenant_id, e.id FROM change_requests c
       JOIN workflow_executions e ON e.tenant_id = c.tenant_id AND e.change_id = c.id AND e.trigger = 'RUNBOOK'
       WHERE c.status = 'IMPLEMENTING' AND e.status IN ('SUCCEEDED', 'FAILED', 'CANCELLED') AND e.ended_at < ?1
         AND NOT EXISTS (SELECT 1 FROM workflow_executions l
                         WHERE l.tenant_id = e.tenant_id AND l.change_id = e.change_id AND l.trigger = 'RUNBOOK'
                           AND l.created_at > e.created_at)
       LIMIT ?2`,
    )
    .bind(before, limit)
    .all<{ tenant_id: string; id: string }>();
  return results.map((r) => ({ tenantId: r.tenant_id, executionId: r.id }));
}

/** How many executions of a workflow are still PENDING or RUNNING. */
export async function countLiveExecutions(
  db: D1Database,
  tenantId: string,
  workflowId: string,
): Promise<number> {
  const row = await db
    .prepare(
      `SELECT COUNT(*) AS n FROM workflow_executions
       WHERE tenant_id = ?1 AND workflow_id = ?2 AND status IN ('PENDING', 'RUNNING')`,
    )
    .bind(tenantId, workflowId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** Claims a webhook delivery by its key; fails with a UNIQUE error when it was seen. */
export function insertWebhookDeliveryStatement(
  db: D1Database,
  workflowId: string,
  deliveryKey: string,
  executionId: string,
  at: string,
): D1PreparedStatement {
  return db
    .prepare(
      'INSERT INTO webhook_deliveries (workflow_id, delivery_key, received_at, execution_id) VALUES (?1, ?2, ?3, ?4)',
    )
    .bind(workflowId, deliveryKey, at, executionId);
}

/** Forgets deliveries older than the signature tolerance (a replay that old is stale anyway). */
export function pruneWebhookDeliveriesStatement(db: D1Database, before: string): D1PreparedStatement {
  return db.prepare('DELETE FROM webhook_deliveries WHERE received_at < ?1').bind(before);
}
