-- Workflow secrets belong to a tenant (issue 11). The value is never stored in the clear: a
-- random data key encrypts it (AES-256-GCM) and the key-encryption key SECRETS_KEY, named by
-- key_id, wraps the data key; tenant and name are bound to both as additional data, so a row
-- copied to another tenant or name does not decrypt. allowed_hosts (JSON array) lists the hosts
-- a workflow step may send the value to.
CREATE TABLE workflow_secrets (
  tenant_id     TEXT NOT NULL,
  name          TEXT NOT NULL,
  allowed_hosts TEXT NOT NULL,
  key_id        TEXT NOT NULL,
  wrapped_key   TEXT NOT NULL,
  ciphertext    TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  created_by    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  updated_by    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);
