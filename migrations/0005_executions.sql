-- Workflow executions and their step runs. The durable control flow lives in Cloudflare
-- Workflows (one instance per execution, named by the execution id); these rows are what people
-- and agents read, and what the watchdog uses to find an execution that stopped moving.
CREATE TABLE workflow_executions (
  id                  TEXT PRIMARY KEY,
  tenant_id           TEXT NOT NULL,
  workflow_id         TEXT NOT NULL,
  workflow_version    INTEGER NOT NULL,
  status              TEXT NOT NULL CHECK (status IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  trigger             TEXT NOT NULL CHECK (trigger IN ('MANUAL', 'WEBHOOK', 'CRON', 'CHANGE_APPROVED', 'RUNBOOK')),
  -- What started it beyond the trigger: the change (RUNBOOK), the cron minute (CRON).
  trigger_ref         TEXT,
  change_id           TEXT,
  inputs              TEXT NOT NULL,
  outputs             TEXT,
  error_code          TEXT,
  error_class         TEXT,
  error_message       TEXT,
  error_step          TEXT,
  error_http_status   INTEGER,
  current_step        INTEGER,
  -- When a sleeping or waiting execution next expects to run; the watchdog nudges it after.
  wake_at             TEXT,
  cancel_requested_at TEXT,
  cancel_requested_by TEXT,
  created_by          TEXT NOT NULL,
  created_at          TEXT NOT NULL,
  started_at          TEXT,
  ended_at            TEXT,
  updated_at          TEXT NOT NULL
);

CREATE INDEX idx_executions_tenant_created ON workflow_executions (tenant_id, created_at DESC, id DESC);
CREATE INDEX idx_executions_tenant_workflow ON workflow_executions (tenant_id, workflow_id, status);
-- The watchdog's scan: only live executions are in this index.
CREATE INDEX idx_executions_live ON workflow_executions (updated_at) WHERE status IN ('PENDING', 'RUNNING');
-- One execution per workflow and cron minute, however many scheduled events fire for it.
CREATE UNIQUE INDEX idx_executions_cron_once ON workflow_executions (workflow_id, trigger_ref) WHERE trigger = 'CRON';

CREATE TABLE workflow_step_runs (
  execution_id      TEXT NOT NULL,
  tenant_id         TEXT NOT NULL,
  step_index        INTEGER NOT NULL,
  step_id           TEXT NOT NULL,
  type              TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
  attempts          INTEGER NOT NULL DEFAULT 0,
  -- [{at, ms, status?, error?, retryInMs?}] per attempt, so the backoff actually used is visible.
  attempt_log       TEXT NOT NULL DEFAULT '[]',
  started_at        TEXT NOT NULL,
  ended_at          TEXT,
  output            TEXT,
  output_truncated  INTEGER NOT NULL DEFAULT 0,
  error_code        TEXT,
  error_class       TEXT,
  error_message     TEXT,
  http_status       INTEGER,
  -- An approval gate's change, while it waits: a decision on that change wakes the execution.
  waiting_on_change TEXT,
  PRIMARY KEY (execution_id, step_index)
);

CREATE INDEX idx_step_runs_waiting ON workflow_step_runs (tenant_id, waiting_on_change) WHERE status = 'WAITING';

-- Signed webhook deliveries seen: a replayed delivery is refused. Rows older than
-- the signature tolerance can go (a replay that old fails the timestamp check anyway).
CREATE TABLE webhook_deliveries (
  workflow_id  TEXT NOT NULL,
  -- SHA-256 of "<timestamp>.<body>": the delivery, whatever signature header carried it.
  delivery_key TEXT NOT NULL,
  received_at  TEXT NOT NULL,
  execution_id TEXT NOT NULL,
  PRIMARY KEY (workflow_id, delivery_key)
);

CREATE INDEX idx_webhook_deliveries_received ON webhook_deliveries (received_at);
