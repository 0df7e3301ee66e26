-- Standard changes are pre-authorised templates (ITIL): a change manager fixes what a standard
-- change does (services, plans, runbook and its inputs, a pre-assessed risk); a requester only
-- fills in the title variables and the window. Only a change created from an ACTIVE template is
-- STANDARD and may be pre-approved.

CREATE TABLE standard_change_templates (
  id                  TEXT PRIMARY KEY,
  tenant_id           TEXT NOT NULL,
  name                TEXT NOT NULL,
  -- e.g. "Rotate TLS cert for {{service}}"; title_variables lists the names it uses (JSON array).
  title_pattern       TEXT NOT NULL,
  title_variables     TEXT NOT NULL,
  description         TEXT NOT NULL,
  affected_services   TEXT NOT NULL,
  impact              TEXT NOT NULL CHECK (impact IN ('LOW', 'MEDIUM', 'HIGH')),
  urgency             TEXT NOT NULL CHECK (urgency IN ('LOW', 'MEDIUM', 'HIGH')),
  implementation_plan TEXT NOT NULL,
  backout_plan        TEXT NOT NULL,
  test_plan           TEXT NOT NULL,
  risk_level          TEXT NOT NULL CHECK (risk_level IN ('LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH')),
  runbook_workflow_id TEXT,
  runbook_inputs      TEXT,
  status              TEXT NOT NULL CHECK (status IN ('ACTIVE', 'RETIRED')),
  version             INTEGER NOT NULL DEFAULT 1,
  created_by          TEXT NOT NULL,
  created_at          TEXT NOT NULL,
  updated_by          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  retired_at          TEXT
);

CREATE INDEX idx_templates_tenant_created ON standard_change_templates (tenant_id, created_at DESC, id DESC);

-- Every write (edit or retirement) is a new version: a writer that read a stale row aborts its batch.
CREATE TRIGGER standard_change_templates_version_guard
BEFORE UPDATE ON standard_change_templates
WHEN NEW.version <> OLD.version + 1
BEGIN
  SELECT RAISE(ABORT, 'TEMPLATE_VERSION_CONFLICT');
END;

-- Each version as it was saved (the whole template as JSON), so a change names exactly what it came from.
CREATE TABLE standard_change_template_versions (
  tenant_id   TEXT NOT NULL,
  template_id TEXT NOT NULL,
  version     INTEGER NOT NULL,
  snapshot    TEXT NOT NULL,
  created_by  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  PRIMARY KEY (template_id, version)
);

-- A change records the template (and version) it came from, the inputs its runbook runs with,
-- and who attached its runbook: a runbook runs only when a change manager or a template put it there.
ALTER TABLE change_requests ADD COLUMN template_id TEXT;
ALTER TABLE change_requests ADD COLUMN template_version INTEGER;
ALTER TABLE change_requests ADD COLUMN runbook_inputs TEXT;
ALTER TABLE change_requests ADD COLUMN runbook_attached_by TEXT;

-- The person whose act started an execution (the approver, the implementer, the person who ran it).
ALTER TABLE workflow_executions ADD COLUMN caused_by TEXT;

-- What this migration changed in existing rows. SQL cannot extend a tenant's audit chain (each
-- event hashes the previous one, in code), so the application writes one audit event per row
-- through the normal path (src/usecases/changes/migrations.ts) and sets audited_at in the same batch.
CREATE TABLE change_migrations (
  tenant_id   TEXT NOT NULL,
  change_id   TEXT NOT NULL,
  migration   TEXT NOT NULL,
  before_json TEXT NOT NULL,
  after_json  TEXT NOT NULL,
  migrated_at TEXT NOT NULL,
  audited_at  TEXT,
  PRIMARY KEY (change_id, migration)
);

CREATE INDEX idx_change_migrations_pending ON change_migrations (tenant_id) WHERE audited_at IS NULL;

-- Each row is audited once: a second writer that raced for the same rows aborts its whole batch
-- (its audit events included) instead of auditing them twice.
CREATE TRIGGER change_migrations_audited_once
BEFORE UPDATE OF audited_at ON change_migrations
WHEN OLD.audited_at IS NOT NULL
BEGIN
  SELECT RAISE(ABORT, 'CHANGE_MIGRATION_ALREADY_AUDITED');
END;

-- STANDARD changes not yet approved came from no template: they go to the CAB as NORMAL changes.
-- A DRAFT stays a DRAFT (its submission goes to the CAB); SUBMITTED (a state only passed through)
-- and PENDING_APPROVAL wait for the CAB. A stored risk gains the NORMAL type's 10 points, as
-- src/domain/risk.ts scores it. APPROVED and later keep their type and status.
INSERT INTO change_migrations (tenant_id, change_id, migration, before_json, after_json, migrated_at)
SELECT tenant_id, id, '0009_standard_requires_template',
       json_object('type', type, 'status', status, 'version', version,
                   'riskScore', risk_score, 'riskLevel', risk_level),
       json_object('type', 'NORMAL',
                   'status', CASE status WHEN 'SUBMITTED' THEN 'PENDING_APPROVAL' ELSE status END,
                   'version', version + 1,
                   'riskScore', CASE WHEN risk_score IS NULL THEN NULL ELSE MIN(100, risk_score + 10) END,
                   'riskLevel', CASE
                     WHEN risk_score IS NULL THEN NULL
                     WHEN MIN(100, risk_score + 10) < 25 THEN 'LOW'
                     WHEN MIN(100, risk_score + 10) < 50 THEN 'MEDIUM'
                     WHEN MIN(100, risk_score + 10) < 75 THEN 'HIGH'
                     ELSE 'VERY_HIGH' END),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
FROM change_requests
WHERE type = 'STANDARD' AND template_id IS NULL AND status IN ('DRAFT', 'SUBMITTED', 'PENDING_APPROVAL');

UPDATE change_requests
SET type = 'NORMAL',
    status = CASE status WHEN 'SUBMITTED' THEN 'PENDING_APPROVAL' ELSE status END,
    risk_score = CASE WHEN risk_score IS NULL THEN NULL ELSE MIN(100, risk_score + 10) END,
    risk_level = CASE
      WHEN risk_score IS NULL THEN NULL
      WHEN MIN(100, risk_score + 10) < 25 THEN 'LOW'
      WHEN MIN(100, risk_score + 10) < 50 THEN 'MEDIUM'
      WHEN MIN(100, risk_score + 10) < 75 THEN 'HIGH'
      ELSE 'VERY_HIGH' END,
    risk_factors = CASE WHEN risk_factors IS NULL THEN NULL
      ELSE json_insert(risk_factors, '$[#]', json_object('key', 'type', 'label', 'NORMAL change', 'contribution', 10)) END,
    version = version + 1,
    updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
WHERE id IN (SELECT change_id FROM change_migrations WHERE migration = '0009_standard_requires_template');
