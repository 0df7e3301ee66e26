-- Workflow definitions: ordered steps and triggers, versioned. The current definition lives in
-- workflows; every version ever saved (the current one included) lives in workflow_versions, so
-- an execution can keep running the version it started with after the workflow is edited.
CREATE TABLE workflows (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL,
  name        TEXT NOT NULL,
  description TEXT,
  status      TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE')),
  version     INTEGER NOT NULL DEFAULT 1,
  steps       TEXT NOT NULL,
  triggers    TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE INDEX idx_workflows_tenant_created ON workflows (tenant_id, created_at DESC, id DESC);
CREATE INDEX idx_workflows_tenant_status ON workflows (tenant_id, status, created_at DESC);
-- One ACTIVE workflow per name and tenant; inactive ones may share it.
CREATE UNIQUE INDEX idx_workflows_tenant_active_name ON workflows (tenant_id, name) WHERE status = 'ACTIVE';

-- Same guard as change_requests: a writer that read a stale definition aborts its whole batch.
-- Status-only updates (activate, deactivate) set neither column and keep the version.
CREATE TRIGGER workflows_version_guard
BEFORE UPDATE OF version, steps, triggers ON workflows
WHEN NEW.version <> OLD.version + 1
BEGIN
  SELECT RAISE(ABORT, 'WORKFLOW_VERSION_CONFLICT');
END;

CREATE TABLE workflow_versions (
  tenant_id   TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  version     INTEGER NOT NULL,
  steps       TEXT NOT NULL,
  triggers    TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (workflow_id, version)
);

CREATE INDEX idx_workflow_versions_tenant ON workflow_versions (tenant_id, workflow_id, version DESC);
