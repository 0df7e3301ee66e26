-- Outgoing event webhooks (issue 16 item 3, docs/webhooks.md). A tenant admin registers endpoints;
-- every committed write whose audit entries map to an event an endpoint subscribes to queues one
-- delivery per endpoint in the write's own batch (src/usecases/commit.ts), with an outbox row of
-- kind 'webhook-delivery' that the outbox drainers run until the delivery succeeds or gives up.

CREATE TABLE webhook_endpoints (
  id                   TEXT PRIMARY KEY,
  tenant_id            TEXT NOT NULL,
  url                  TEXT NOT NULL,
  description          TEXT,
  -- JSON array of event types, e.g. ["change.approved","execution.ended"].
  events               TEXT NOT NULL,
  enabled              INTEGER NOT NULL DEFAULT 1,
  disabled_reason      TEXT,
  disabled_at          TEXT,
  -- The signing secret, envelope-encrypted (src/secrets/envelope.ts) for this tenant and endpoint.
  key_id               TEXT NOT NULL,
  wrapped_key          TEXT NOT NULL,
  ciphertext           TEXT NOT NULL,
  secret_version       INTEGER NOT NULL DEFAULT 1,
  -- After a rotation, the secret it replaced keeps signing beside it until previous_expires_at.
  previous_key_id      TEXT,
  previous_wrapped_key TEXT,
  previous_ciphertext  TEXT,
  previous_expires_at  TEXT,
  -- Deliveries that gave up in a row (a success resets it); the endpoint is disabled at the limit.
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  -- When a delivery last succeeded: a delivery that gives up with none since it was queued means
  -- 24 hours of nothing but failure, and disables the endpoint.
  last_success_at      TEXT,
  created_at           TEXT NOT NULL,
  created_by           TEXT NOT NULL,
  updated_at           TEXT NOT NULL,
  updated_by           TEXT NOT NULL
);
CREATE INDEX idx_webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at);

-- One event for one endpoint (a redelivery is another row with the same webhook_id).
CREATE TABLE endpoint_deliveries (
  id                TEXT PRIMARY KEY,
  tenant_id         TEXT NOT NULL,
  endpoint_id       TEXT NOT NULL,
  -- The Standard Webhooks message id: the same on every attempt and on a redelivery.
  webhook_id        TEXT NOT NULL,
  event_type        TEXT NOT NULL,
  -- What deliveries are ordered by: the change (or execution, deployment) the event is about.
  subject           TEXT NOT NULL,
  -- The audit sequence number of the event: deliveries of one subject go out in this order.
  seq               INTEGER NOT NULL,
  -- The body exactly as it is signed and sent.
  payload           TEXT NOT NULL,
  status            TEXT NOT NULL CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
  attempts          INTEGER NOT NULL DEFAULT 0,
  last_status_code  INTEGER,
  last_error        TEXT,
  last_duration_ms  INTEGER,
  -- At most 512 bytes of the last response body; never more.
  response_excerpt  TEXT,
  last_attempt_at   TEXT,
  next_attempt_at   TEXT,
  redelivery_of     TEXT,
  created_at        TEXT NOT NULL,
  ended_at          TEXT
);
CREATE INDEX idx_endpoint_deliveries_endpoint ON endpoint_deliveries (tenant_id, endpoint_id, created_at, id);
-- The ordering check: an earlier delivery of the same subject to the same endpoint still pending.
-- The cron forgets deliveries that ended more than 30 days ago.
CREATE INDEX idx_endpoint_deliveries_ended ON endpoint_deliveries (ended_at) WHERE ended_at IS NOT NULL;
CREATE INDEX idx_endpoint_deliveries_pending ON endpoint_deliveries (endpoint_id, subject, seq) WHERE status = 'PENDING';

-- The outbox gains the kind 'webhook-delivery'. SQLite cannot alter a CHECK constraint: the table
-- is rebuilt with every row kept as it was.
CREATE TABLE outbox_next (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  kind            TEXT NOT NULL CHECK (kind IN ('wake-gates', 'change-approved', 'settle-runbook', 'webhook-delivery')),
  payload         TEXT NOT NULL,
  actor           TEXT,
  source          TEXT NOT NULL,
  tool_name       TEXT,
  request_id      TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at TEXT NOT NULL,
  lease_id        TEXT,
  lease_until     TEXT,
  last_error      TEXT,
  done_at         TEXT
);
INSERT INTO outbox_next (id, tenant_id, kind, payload, actor, source, tool_name, request_id, created_at, attempts,
                         next_attempt_at, lease_id, lease_until, last_error, done_at)
  SELECT id, tenant_id, kind, payload, actor, source, tool_name, request_id, created_at, attempts,
         next_attempt_at, lease_id, lease_until, last_error, done_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_next RENAME TO outbox;
CREATE INDEX idx_outbox_due ON outbox (next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX idx_outbox_tenant_due ON outbox (tenant_id, next_attempt_at) WHERE done_at IS NULL;
CREATE INDEX idx_outbox_done ON outbox (done_at) WHERE done_at IS NOT NULL;
