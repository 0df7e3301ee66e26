-- The transactional outbox (issue 15): every follow-up of a committed write (wake the approval
-- gates waiting on a decided change, start its change-approved runbook, settle the change a
-- runbook execution implemented) is a row written in the same batch as the write. A drainer runs
-- it right after the commit, and again from the cron and the tenant's Durable Object alarm until
-- it succeeds (src/usecases/outbox.ts). Its effects are keyed by our own rows, so a second run
-- does nothing twice.
CREATE TABLE outbox (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('wake-gates', 'change-approved', 'settle-runbook')),
  payload         TEXT NOT NULL,
  -- Who the follow-up acts as (JSON: id, kind, roles, apiKey; no name or email); NULL: the engine.
  actor           TEXT,
  source          TEXT NOT NULL,
  tool_name       TEXT,
  request_id      TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  -- Claims so far (a claim counts even when its drainer dies), and when the next one may run.
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  -- A drainer's claim: no other drainer runs the row before lease_until.
  lease_id        TEXT,
  lease_until     TEXT,
  last_error      TEXT,
  done_at         TEXT
);

-- The drainers' scan: only rows still to run are in these indexes.
CREATE INDEX idx_outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX idx_outbox_tenant_due ON outbox (tenant_id, next_attempt_at) WHERE done_at IS NULL;
-- The cron's pruning of rows done long ago.
CREATE INDEX idx_outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;

-- The execution a change-approved follow-up started: a second run of the follow-up finds it here
-- instead of starting another.
ALTER TABLE workflow_executions ADD COLUMN outbox_id TEXT;
CREATE UNIQUE INDEX idx_executions_outbox ON workflow_executions (outbox_id) WHERE outbox_id IS NOT NULL;

-- The watchdog looks for IMPLEMENTING changes whose runbook execution ended (and executions are
-- listed by change): by change, not by a scan of every execution.
CREATE INDEX idx_executions_change ON workflow_executions (tenant_id, change_id, created_at) WHERE change_id IS NOT NULL;
