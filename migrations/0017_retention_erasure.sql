-- Retention and erasure (issue 15 item 6).

-- How each audit event is hashed (src/domain/auditChain.ts): 1 for the events written before
-- this migration (over their payloads' JSON), 2 for new ones (over one SHA-256 per payload field,
-- so a field can be redacted while the chain verifies).
ALTER TABLE audit_events ADD COLUMN hash_version INTEGER NOT NULL DEFAULT 1;

-- Version-1 events edited by an erasure: each row is vouched for by the `user.erased` event at
-- record_seq, which lists the same seq, hash and redacted_hash. Verifiers that page through the
-- chain look a mismatching version-1 event up here (one indexed read) instead of scanning for it.
CREATE TABLE audit_redactions (
  tenant_id     TEXT NOT NULL,
  seq           INTEGER NOT NULL,
  hash          TEXT NOT NULL,
  redacted_hash TEXT NOT NULL,
  record_seq    INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, seq)
);

-- An erased person: their name and email are gone and later tokens do not write them back.
ALTER TABLE users ADD COLUMN erased_at TEXT;

-- One row per tenant that changed the defaults (src/domain/retention.ts has them).
CREATE TABLE retention_policies (
  tenant_id          TEXT PRIMARY KEY,
  step_output_days   INTEGER NOT NULL,
  idempotency_hours  INTEGER NOT NULL,
  erase_free_text    INTEGER NOT NULL,
  legal_hold         INTEGER NOT NULL,
  updated_at         TEXT NOT NULL,
  updated_by         TEXT NOT NULL
);

-- Pruning step outputs by age, a bounded batch at a time.
CREATE INDEX idx_step_runs_output_age ON workflow_step_runs (tenant_id, ended_at) WHERE output IS NOT NULL;
CREATE INDEX idx_executions_output_age ON workflow_executions (tenant_id, ended_at) WHERE outputs IS NOT NULL;
