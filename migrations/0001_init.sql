-- ChangeFlow initial schema. Every row carries tenant_id; every lookup the resolvers make is
-- served by an index that starts with tenant_id.

CREATE TABLE users (
  tenant_id    TEXT NOT NULL,
  id           TEXT NOT NULL,
  display_name TEXT,
  email        TEXT,
  created_at   TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE services (
  tenant_id  TEXT NOT NULL,
  name       TEXT NOT NULL,
  tags       TEXT NOT NULL DEFAULT '[]',
  created_at TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE change_requests (
  id                      TEXT PRIMARY KEY,
  tenant_id               TEXT NOT NULL,
  title                   TEXT NOT NULL,
  description             TEXT NOT NULL,
  type                    TEXT NOT NULL CHECK (type IN ('STANDARD', 'NORMAL', 'EMERGENCY')),
  impact                  TEXT NOT NULL CHECK (impact IN ('LOW', 'MEDIUM', 'HIGH')),
  urgency                 TEXT NOT NULL CHECK (urgency IN ('LOW', 'MEDIUM', 'HIGH')),
  priority                TEXT NOT NULL CHECK (priority IN ('P1', 'P2', 'P3', 'P4')),
  status                  TEXT NOT NULL,
  requester_id            TEXT NOT NULL,
  affected_services       TEXT NOT NULL DEFAULT '[]',
  implementation_plan     TEXT,
  backout_plan            TEXT,
  test_plan               TEXT,
  risk_score              INTEGER,
  risk_level              TEXT,
  risk_factors            TEXT,
  planned_start           TEXT,
  planned_end             TEXT,
  emergency_justification TEXT,
  review_due_at           TEXT,
  reviewed_at             TEXT,
  runbook_workflow_id     TEXT,
  failure_reason          TEXT,
  version                 INTEGER NOT NULL DEFAULT 1,
  created_at              TEXT NOT NULL,
  updated_at              TEXT NOT NULL,
  submitted_at            TEXT,
  approved_at             TEXT,
  implemented_at          TEXT,
  completed_at            TEXT
);

CREATE INDEX idx_changes_tenant_created ON change_requests (tenant_id, created_at DESC, id DESC);
CREATE INDEX idx_changes_tenant_status ON change_requests (tenant_id, status, created_at DESC);
CREATE INDEX idx_changes_tenant_requester ON change_requests (tenant_id, requester_id, created_at DESC);

-- Optimistic concurrency: every update must move version from N to N + 1. A writer that read a
-- stale row aborts its whole D1 batch (the row and its audit event), so no update is lost.
CREATE TRIGGER change_requests_version_guard
BEFORE UPDATE ON change_requests
WHEN NEW.version <> OLD.version + 1
BEGIN
  SELECT RAISE(ABORT, 'CHANGE_VERSION_CONFLICT');
END;

-- One row per (change, service): filters by service and conflict / failure-rate lookups.
CREATE TABLE change_services (
  tenant_id TEXT NOT NULL,
  change_id TEXT NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
  service   TEXT NOT NULL,
  PRIMARY KEY (change_id, service)
);

CREATE INDEX idx_change_services_tenant_service ON change_services (tenant_id, service);

CREATE TABLE approvals (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL,
  change_id      TEXT NOT NULL REFERENCES change_requests (id) ON DELETE CASCADE,
  approver_id    TEXT NOT NULL,
  approver_roles TEXT NOT NULL DEFAULT '[]',
  decision       TEXT NOT NULL CHECK (decision IN ('APPROVED', 'REJECTED')),
  comment        TEXT,
  created_at     TEXT NOT NULL,
  UNIQUE (change_id, approver_id)
);

CREATE INDEX idx_approvals_tenant_change ON approvals (tenant_id, change_id, created_at);

CREATE TABLE freeze_windows (
  id         TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL,
  name       TEXT NOT NULL,
  reason     TEXT,
  starts_at  TEXT NOT NULL,
  ends_at    TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at TEXT NOT NULL
);

CREATE INDEX idx_freeze_windows_tenant_start ON freeze_windows (tenant_id, starts_at);

-- Hash-chained per tenant: (tenant_id, seq) is the primary key, so two writers that raced for
-- the same seq cannot both commit; the loser's batch (change row included) rolls back.
CREATE TABLE audit_events (
  tenant_id   TEXT NOT NULL,
  seq         INTEGER NOT NULL,
  id          TEXT NOT NULL UNIQUE,
  actor_id    TEXT NOT NULL,
  actor_type  TEXT NOT NULL,
  source      TEXT NOT NULL,
  tool_name   TEXT,
  action      TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_id   TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  before_json TEXT,
  after_json  TEXT,
  created_at  TEXT NOT NULL,
  prev_hash   TEXT NOT NULL,
  hash        TEXT NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

CREATE INDEX idx_audit_tenant_target ON audit_events (tenant_id, target_type, target_id, seq);
