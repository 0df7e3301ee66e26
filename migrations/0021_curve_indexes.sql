-- An index the cost curves showed missing (issue 17 item 3, bench/curves.mjs): the audit trail of
-- one target (auditLog(targetId:), a change's history) walked the tenant's whole chain newest
-- first, filtering by target, since idx_audit_tenant_target starts with target_type, which that
-- query does not know. At 10,000 changes and 120,000 events it took 82 ms, in proportion to the
-- chain; by this index it reads the target's own events only.
CREATE INDEX idx_audit_tenant_target_seq ON audit_events (tenant_id, target_id, seq);
