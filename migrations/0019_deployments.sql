-- Changes from CI/CD deployments (issue 16, item 4). A deployment integration is a tenant's: an
-- admin creates it, it signs what its pipeline sends with a secret sealed like workflow secrets
-- (src/secrets/envelope.ts: a random data key, wrapped by SECRETS_KEY, tenant and name bound as
-- additional data), and maps environments to standard change templates (JSON array of
-- {environment, templateId}).
CREATE TABLE deployment_integrations (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL,
  name           TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('GITHUB', 'GENERIC')),
  environments   TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('ACTIVE', 'DISABLED')),
  key_id         TEXT NOT NULL,
  wrapped_key    TEXT NOT NULL,
  ciphertext     TEXT NOT NULL,
  secret_version INTEGER NOT NULL,
  created_at     TEXT NOT NULL,
  created_by     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  updated_by     TEXT NOT NULL,
  disabled_at    TEXT
);

CREATE INDEX idx_deployment_integrations_tenant ON deployment_integrations (tenant_id, created_at DESC, id DESC);

-- One row per deployment an integration reported (its own id for it is external_id): where it
-- went, what it deployed, and the change it runs under. change_created says the change was raised
-- from the environment's template for this deployment (rather than named in its payload).
CREATE TABLE deployments (
  id             TEXT PRIMARY KEY,
  tenant_id      TEXT NOT NULL,
  integration_id TEXT NOT NULL,
  external_id    TEXT NOT NULL,
  environment    TEXT NOT NULL,
  commit_sha     TEXT NOT NULL,
  ref            TEXT NOT NULL,
  url            TEXT,
  status         TEXT NOT NULL CHECK (status IN ('PENDING', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'INACTIVE', 'BLOCKED')),
  change_id      TEXT,
  change_created INTEGER NOT NULL DEFAULT 0,
  blocked_code   TEXT,
  blocked_reason TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  UNIQUE (integration_id, external_id)
);

CREATE INDEX idx_deployments_tenant_created ON deployments (tenant_id, created_at DESC, id DESC);
CREATE INDEX idx_deployments_change ON deployments (tenant_id, change_id) WHERE change_id IS NOT NULL;

-- A deployment runs under one change: two deliveries racing to raise its change cannot both link
-- one (the loser's batch, its change included, aborts).
CREATE TRIGGER deployments_change_linked_once
BEFORE UPDATE OF change_id ON deployments
WHEN OLD.change_id IS NOT NULL AND NEW.change_id IS NOT OLD.change_id
BEGIN
  SELECT RAISE(ABORT, 'DEPLOYMENT_ALREADY_LINKED');
END;

-- Replay protection: each delivery (GitHub's X-GitHub-Delivery, or the digest of a generic
-- delivery's timestamp and body) is claimed once, in the batch of the first write it causes.
CREATE TABLE deployment_deliveries (
  integration_id TEXT NOT NULL,
  delivery_key   TEXT NOT NULL,
  tenant_id      TEXT NOT NULL,
  deployment_id  TEXT NOT NULL,
  received_at    TEXT NOT NULL,
  PRIMARY KEY (integration_id, delivery_key)
);
