-- The change KPIs (metrics, metrics_dashboard, the live dashboard) kept on write, so that they
-- cost the same at 100 changes as at 100,000 (issue 17 item 3: with 0021's covering indexes they
-- still walked one index entry per change, 37 ms at 100,000). Like the compliance facts (0020),
-- triggers keep them, because change_requests is written from many places (commitWithAudit, the
-- engine, erasure, restore) and a trigger cannot be skipped by any of them.
--
-- One row per tenant, status and type: how many changes, how many of them have both a submission
-- and an approval time, and the sum of those approval durations in whole milliseconds (integers,
-- so that adding and taking away as changes move never drifts). Rows whose count falls to zero
-- stay (at most 11 statuses × 3 types per tenant).
CREATE TABLE change_kpi_counts (
  tenant_id  TEXT NOT NULL,
  status     TEXT NOT NULL,
  type       TEXT NOT NULL,
  changes    INTEGER NOT NULL,
  approved   INTEGER NOT NULL,
  approve_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, status, type)
) WITHOUT ROWID;

INSERT INTO change_kpi_counts (tenant_id, status, type, changes, approved, approve_ms)
SELECT tenant_id, status, type, COUNT(*),
  COALESCE(SUM(approved_at IS NOT NULL AND submitted_at IS NOT NULL), 0),
  COALESCE(SUM(CASE WHEN approved_at IS NOT NULL AND submitted_at IS NOT NULL
    THEN CAST(round((julianday(approved_at) - julianday(submitted_at)) * 86400000.0) AS INTEGER)
    ELSE 0 END), 0)
FROM change_requests
GROUP BY tenant_id, status, type;

CREATE TRIGGER change_kpi_on_insert
AFTER INSERT ON change_requests
BEGIN
  INSERT INTO change_kpi_counts (tenant_id, status, type, changes, approved, approve_ms)
  VALUES (NEW.tenant_id, NEW.status, NEW.type, 1,
    NEW.approved_at IS NOT NULL AND NEW.submitted_at IS NOT NULL,
    CASE WHEN NEW.approved_at IS NOT NULL AND NEW.submitted_at IS NOT NULL
      THEN CAST(round((julianday(NEW.approved_at) - julianday(NEW.submitted_at)) * 86400000.0) AS INTEGER)
      ELSE 0 END)
  ON CONFLICT (tenant_id, status, type) DO UPDATE SET
    changes = changes + excluded.changes,
    approved = approved + excluded.approved,
    approve_ms = approve_ms + excluded.approve_ms;
END;

CREATE TRIGGER change_kpi_on_update
AFTER UPDATE ON change_requests
WHEN OLD.tenant_id IS NOT NEW.tenant_id OR OLD.status IS NOT NEW.status OR OLD.type IS NOT NEW.type
  OR OLD.approved_at IS NOT NEW.approved_at OR OLD.submitted_at IS NOT NEW.submitted_at
BEGIN
  UPDATE change_kpi_counts SET
    changes = changes - 1,
    approved = approved - (OLD.approved_at IS NOT NULL AND OLD.submitted_at IS NOT NULL),
    approve_ms = approve_ms - CASE WHEN OLD.approved_at IS NOT NULL AND OLD.submitted_at IS NOT NULL
      THEN CAST(round((julianday(OLD.approved_at) - julianday(OLD.submitted_at)) * 86400000.0) AS INTEGER)
      ELSE 0 END
  WHERE tenant_id = OLD.tenant_id AND status = OLD.status AND type = OLD.type;
  INSERT INTO change_kpi_counts (tenant_id, status, type, changes, approved, approve_ms)
  VALUES (NEW.tenant_id, NEW.status, NEW.type, 1,
    NEW.approved_at IS NOT NULL AND NEW.submitted_at IS NOT NULL,
    CASE WHEN NEW.approved_at IS NOT NULL AND NEW.submitted_at IS NOT NULL
      THEN CAST(round((julianday(NEW.approved_at) - julianday(NEW.submitted_at)) * 86400000.0) AS INTEGER)
      ELSE 0 END)
  ON CONFLICT (tenant_id, status, type) DO UPDATE SET
    changes = changes + excluded.changes,
    approved = approved + excluded.approved,
    approve_ms = approve_ms + excluded.approve_ms;
END;

CREATE TRIGGER change_kpi_on_delete
AFTER DELETE ON change_requests
BEGIN
  UPDATE change_kpi_counts SET
    changes = changes - 1,
    approved = approved - (OLD.approved_at IS NOT NULL AND OLD.submitted_at IS NOT NULL),
    approve_ms = approve_ms - CASE WHEN OLD.approved_at IS NOT NULL AND OLD.submitted_at IS NOT NULL
      THEN CAST(round((julianday(OLD.approved_at) - julianday(OLD.submitted_at)) * 86400000.0) AS INTEGER)
      ELSE 0 END
  WHERE tenant_id = OLD.tenant_id AND status = OLD.status AND type = OLD.type;
END;

-- 0021's two covering indexes served only the KPIs' aggregates, which these counts now give
-- (every other read by tenant and status has idx_changes_tenant_status): kept, they would only
-- cost every write to change_requests.
DROP INDEX idx_changes_tenant_approval_times;
DROP INDEX idx_changes_tenant_status_type;
