-- Idempotency keys: a mutation request's key is claimed in the same D1 batch as the write it
-- makes, and its first response is stored so that a retry gets that response back.
CREATE TABLE idempotency_keys (
  tenant_id    TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  key          TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  request_id   TEXT NOT NULL,
  response     TEXT,
  created_at   TEXT NOT NULL,
  expires_at   TEXT NOT NULL,
  PRIMARY KEY (tenant_id, principal_id, key)
);

CREATE INDEX idx_idempotency_expiry ON idempotency_keys (tenant_id, expires_at);
