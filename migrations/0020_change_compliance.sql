-- Compliance facts maintained on write (issue 15 item 4): complianceReport reads aggregates and a
-- bounded page of findings instead of loading every change of the period.
--
-- Kept in step by triggers rather than statements added to the db layer's batches: the facts of a
-- change depend on four tables (the change, its approvals, the services it touches and their
-- tags), written from many places (commitWithAudit batches, the engine, erasure, restore, tests
-- and migrations that write SQL directly). A trigger runs inside whatever statement made the
-- write, so no writer can forget it and no batch can commit the change without its facts.
--
-- The rules mirror src/domain/compliance.ts (buildComplianceReport, kept as the reference and
-- compared against in test/usecases/complianceAggregates.test.ts):
--   sox1     an APPROVED vote by the change's own requester
--   sox2     1: implemented without an approval, 2: implemented before its approval
--            (exempt: an emergency override, a pre-approved STANDARD change at LOW risk)
--   pci_gaps bits of what a change past SUBMITTED lacks: 1 test plan, 2 backout plan,
--            4 a recorded approval (once the vote is over, unless overridden)
--   touches_pci  one of its affected services is tagged `pci`
--   review_pending_due  an emergency override not yet reviewed: when the review is due
-- "Blank" is empty after trimming the whitespace JavaScript's String.prototype.trim removes.
CREATE VIEW change_compliance_facts AS
SELECT
  tenant_id,
  change_id,
  created_at,
  self_approved AS sox1,
  CASE
    WHEN NOT implemented OR override OR (type = 'STANDARD' AND risk_level = 'LOW') THEN 0
    WHEN approved_at IS NULL THEN 1
    WHEN implemented_at IS NOT NULL AND julianday(approved_at) > julianday(implemented_at) THEN 2
    ELSE 0
  END AS sox2,
  CASE
    WHEN status IN ('PENDING_APPROVAL', 'APPROVED', 'SCHEDULED', 'IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK')
      THEN (CASE WHEN no_test_plan THEN 1 ELSE 0 END)
         | (CASE WHEN no_backout_plan THEN 2 ELSE 0 END)
         | (CASE
              WHEN status IN ('APPROVED', 'SCHEDULED', 'IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK')
                AND NOT override AND NOT has_approval THEN 4
              ELSE 0
            END)
    ELSE 0
  END AS pci_gaps,
  touches_pci,
  CASE WHEN override AND reviewed_at IS NULL THEN review_due_at END AS review_pending_due
FROM (
  SELECT
    c.tenant_id,
    c.id AS change_id,
    c.created_at,
    c.status,
    c.type,
    c.risk_level,
    c.approved_at,
    c.implemented_at,
    c.reviewed_at,
    c.review_due_at,
    (c.status IN ('IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK') OR c.implemented_at IS NOT NULL) AS implemented,
    trim(COALESCE(c.emergency_justification, ''),
      char(32, 9, 10, 11, 12, 13, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202,
        8232, 8233, 8239, 8287, 12288, 65279)) <> '' AS override,
    trim(COALESCE(c.test_plan, ''),
      char(32, 9, 10, 11, 12, 13, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202,
        8232, 8233, 8239, 8287, 12288, 65279)) = '' AS no_test_plan,
    trim(COALESCE(c.backout_plan, ''),
      char(32, 9, 10, 11, 12, 13, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202,
        8232, 8233, 8239, 8287, 12288, 65279)) = '' AS no_backout_plan,
    EXISTS (
      SELECT 1 FROM approvals a
      WHERE a.change_id = c.id AND a.decision = 'APPROVED' AND a.approver_id = c.requester_id
    ) AS self_approved,
    EXISTS (SELECT 1 FROM approvals a WHERE a.change_id = c.id AND a.decision = 'APPROVED') AS has_approval,
    EXISTS (
      SELECT 1 FROM json_each(c.affected_services) j
      WHERE EXISTS (
        SELECT 1 FROM services s, json_each(s.tags) t
        WHERE s.tenant_id = c.tenant_id AND s.name = j.value AND t.value = 'pci')
    ) AS touches_pci
  FROM change_requests c
);

CREATE TABLE change_compliance (
  change_id          TEXT PRIMARY KEY,
  tenant_id          TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  sox1               INTEGER NOT NULL,
  sox2               INTEGER NOT NULL,
  pci_gaps           INTEGER NOT NULL,
  touches_pci        INTEGER NOT NULL,
  review_pending_due TEXT
);

-- The period's rows (the edges of a period that does not start or end at midnight UTC), covering.
CREATE INDEX idx_change_compliance_period
  ON change_compliance (tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci);
-- One partial index per per-change check: a page of its findings reads failing rows only.
CREATE INDEX idx_change_compliance_sox1 ON change_compliance (tenant_id, created_at, change_id) WHERE sox1 = 1;
CREATE INDEX idx_change_compliance_sox2 ON change_compliance (tenant_id, created_at, change_id) WHERE sox2 <> 0;
CREATE INDEX idx_change_compliance_pci
  ON change_compliance (tenant_id, created_at, change_id) WHERE touches_pci = 1 AND pci_gaps <> 0;
CREATE INDEX idx_change_compliance_review
  ON change_compliance (tenant_id, created_at, change_id) WHERE review_pending_due IS NOT NULL;

-- Per tenant and UTC day of creation: the changes and the failures of the checks that do not
-- depend on the time the report is made. A report sums the whole days of its period here.
CREATE TABLE compliance_daily (
  tenant_id TEXT NOT NULL,
  day       TEXT NOT NULL,
  changes   INTEGER NOT NULL,
  sox1      INTEGER NOT NULL,
  sox2      INTEGER NOT NULL,
  pci       INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, day)
);

CREATE TRIGGER compliance_daily_on_insert
AFTER INSERT ON change_compliance
BEGIN
  INSERT INTO compliance_daily (tenant_id, day, changes, sox1, sox2, pci)
  VALUES (NEW.tenant_id, substr(NEW.created_at, 1, 10), 1, NEW.sox1, NEW.sox2 <> 0,
    NEW.touches_pci = 1 AND NEW.pci_gaps <> 0)
  ON CONFLICT (tenant_id, day) DO UPDATE SET
    changes = changes + excluded.changes,
    sox1 = sox1 + excluded.sox1,
    sox2 = sox2 + excluded.sox2,
    pci = pci + excluded.pci;
END;

CREATE TRIGGER compliance_daily_on_update
AFTER UPDATE ON change_compliance
WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.created_at IS NOT NEW.created_at OR OLD.sox1 IS NOT NEW.sox1
  OR (OLD.sox2 <> 0) IS NOT (NEW.sox2 <> 0)
  OR (OLD.touches_pci = 1 AND OLD.pci_gaps <> 0) IS NOT (NEW.touches_pci = 1 AND NEW.pci_gaps <> 0)
BEGIN
  UPDATE compliance_daily SET
    changes = changes - 1,
    sox1 = sox1 - OLD.sox1,
    sox2 = sox2 - (OLD.sox2 <> 0),
    pci = pci - (OLD.touches_pci = 1 AND OLD.pci_gaps <> 0)
  WHERE tenant_id = OLD.tenant_id AND day = substr(OLD.created_at, 1, 10);
  INSERT INTO compliance_daily (tenant_id, day, changes, sox1, sox2, pci)
  VALUES (NEW.tenant_id, substr(NEW.created_at, 1, 10), 1, NEW.sox1, NEW.sox2 <> 0,
    NEW.touches_pci = 1 AND NEW.pci_gaps <> 0)
  ON CONFLICT (tenant_id, day) DO UPDATE SET
    changes = changes + excluded.changes,
    sox1 = sox1 + excluded.sox1,
    sox2 = sox2 + excluded.sox2,
    pci = pci + excluded.pci;
END;

CREATE TRIGGER compliance_daily_on_delete
AFTER DELETE ON change_compliance
BEGIN
  UPDATE compliance_daily SET
    changes = changes - 1,
    sox1 = sox1 - OLD.sox1,
    sox2 = sox2 - (OLD.sox2 <> 0),
    pci = pci - (OLD.touches_pci = 1 AND OLD.pci_gaps <> 0)
  WHERE tenant_id = OLD.tenant_id AND day = substr(OLD.created_at, 1, 10);
END;

-- The facts of one change, recomputed from the view. An upsert, never INSERT OR REPLACE: a
-- replace deletes without firing delete triggers, which would leave the day's counts wrong.
CREATE TRIGGER change_compliance_on_change_insert
AFTER INSERT ON change_requests
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts WHERE change_id = NEW.id
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

CREATE TRIGGER change_compliance_on_change_update
AFTER UPDATE ON change_requests
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts WHERE change_id = NEW.id
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

CREATE TRIGGER change_compliance_on_change_delete
AFTER DELETE ON change_requests
BEGIN
  DELETE FROM change_compliance WHERE change_id = OLD.id;
END;

CREATE TRIGGER change_compliance_on_approval_insert
AFTER INSERT ON approvals
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts WHERE change_id = NEW.change_id
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

CREATE TRIGGER change_compliance_on_approval_update
AFTER UPDATE ON approvals
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts WHERE change_id IN (OLD.change_id, NEW.change_id)
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

CREATE TRIGGER change_compliance_on_approval_delete
AFTER DELETE ON approvals
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts WHERE change_id = OLD.change_id
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

-- A service tagged or untagged `pci`: the changes that touch it (change_services, kept with
-- every change write) are recomputed. Rare (an admin action) and bounded by that service's changes.
CREATE TRIGGER change_compliance_on_service_insert
AFTER INSERT ON services
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts
  WHERE change_id IN (SELECT change_id FROM change_services WHERE tenant_id = NEW.tenant_id AND service = NEW.name)
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

CREATE TRIGGER change_compliance_on_service_update
AFTER UPDATE OF tenant_id, name, tags ON services
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts
  WHERE change_id IN (
    SELECT change_id FROM change_services
    WHERE (tenant_id = NEW.tenant_id AND service = NEW.name) OR (tenant_id = OLD.tenant_id AND service = OLD.name))
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

CREATE TRIGGER change_compliance_on_service_delete
AFTER DELETE ON services
BEGIN
  INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
  SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
  FROM change_compliance_facts
  WHERE change_id IN (SELECT change_id FROM change_services WHERE tenant_id = OLD.tenant_id AND service = OLD.name)
  ON CONFLICT (change_id) DO UPDATE SET
    tenant_id = excluded.tenant_id, created_at = excluded.created_at, sox1 = excluded.sox1,
    sox2 = excluded.sox2, pci_gaps = excluded.pci_gaps, touches_pci = excluded.touches_pci,
    review_pending_due = excluded.review_pending_due;
END;

-- Backfill: the facts of every existing change (the insert trigger above fills the day counts).
INSERT INTO change_compliance (change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due)
SELECT change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due
FROM change_compliance_facts WHERE true;

-- FULL verifications continued by the cron (issue 15 item 4): a FULL run a caller started (or the
-- weekly schedule) is marked `background` and the cron moves it on a bounded page at a time until
-- it ends, whether or not anyone passes its cursor back. `lease_until` keeps two cron invocations
-- from hashing the same page at once (the next_seq guard already keeps them from recording it twice).
ALTER TABLE audit_verifications ADD COLUMN background INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_verifications ADD COLUMN lease_until TEXT;
CREATE INDEX idx_audit_verifications_background
  ON audit_verifications (updated_at) WHERE background = 1 AND status = 'RUNNING';
CREATE INDEX idx_audit_verifications_started ON audit_verifications (tenant_id, started_at);
