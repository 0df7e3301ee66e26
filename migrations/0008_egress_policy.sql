-- A tenant's egress allow-list for workflow HTTP steps (src/engine/egress.ts): when
-- a tenant has one, its steps may only call the hosts on it. No row, or an empty list (kept so
-- that the policy shows who cleared it), means no allow-list: only the default refusals of
-- private, loopback and metadata addresses apply.
CREATE TABLE egress_policies (
  tenant_id     TEXT PRIMARY KEY,
  -- JSON array of exact hosts and `*.example.com` patterns, lower case, as validated on save.
  allowed_hosts TEXT NOT NULL,
  updated_by    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
