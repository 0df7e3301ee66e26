-- An index the cost curves showed missing (issue 17 item 3, bench/curves.mjs): the audit trail of
-- one target (auditLog(targetId:), a change's history) walked the tenant's whole chain newest
-- first, filtering by target, since idx_audit_tenant_target starts with target_type, which that
-- query does not know. At 10,000 changes and 120,000 events it took 82 ms, in proportion to the
-- chain; by this index it reads the target's own events only.
CREATE INDEX idx_audit_tenant_target_seq ON audit_events (tenant_id, target_id, seq);

-- The change KPIs (metrics) are aggregates over every change of the tenant, so they grow with it;
-- but they read each change's row from the table for its type and its approval times (one
-- random row lookup per change: 34 ms at 10,000 changes, 0.5 s at 100,000). Covering indexes
-- make both a walk of one index range (about 6× and 4× less at 10,000). Still in proportion to
-- the changes: counters kept on write (as compliance_daily) would make them flat.
CREATE INDEX idx_changes_tenant_status_type ON change_requests (tenant_id, status, type);
CREATE INDEX idx_changes_tenant_approval_times ON change_requests (tenant_id, approved_at, submitted_at)
  WHERE approved_at IS NOT NULL AND submitted_at IS NOT NULL;
