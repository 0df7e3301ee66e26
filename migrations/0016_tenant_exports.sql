-- Per-tenant exports (issue 15 item 5): one row per export, the ledger that lets a big tenant's
-- export run in bounded steps across invocations (the on-demand mutation, then the cron).
-- Files go to the archive (R2 AUDIT_ARCHIVE, AUDIT_ARCHIVE_DIR on Node) under
-- exports/<tenant>/<id>/; the manifest is written last, from `files`.
CREATE TABLE tenant_exports (
  id              TEXT PRIMARY KEY,
  tenant_id       TEXT NOT NULL,
  status          TEXT NOT NULL CHECK (status IN ('RUNNING', 'COMPLETE', 'FAILED')),
  trigger         TEXT NOT NULL CHECK (trigger IN ('SCHEDULED', 'ON_DEMAND')),
  requested_by    TEXT,
  prefix          TEXT NOT NULL,
  -- Where the next step resumes: the table (index into the exported tables) and the key of the
  -- last row written from it (JSON array), NULL at a table's start.
  table_index     INTEGER NOT NULL DEFAULT 0,
  cursor          TEXT,
  -- The audit chain's head when the export reached audit_events: it exports up to there.
  audit_head_seq  INTEGER,
  audit_head_hash TEXT,
  -- [{table, key, rows, sha256}] of every file written so far, and [{fromSeq, toSeq, headHash,
  -- digestHash}] of the digests exported: the manifest is made from these, reading no table again.
  files           TEXT NOT NULL DEFAULT '[]',
  digests         TEXT NOT NULL DEFAULT '[]',
  -- Bumped by every step: a step that lost a race to another runner records nothing.
  version         INTEGER NOT NULL DEFAULT 0,
  error           TEXT,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL,
  completed_at    TEXT
);

CREATE INDEX idx_tenant_exports_tenant ON tenant_exports (tenant_id, created_at DESC);
CREATE UNIQUE INDEX idx_tenant_exports_running ON tenant_exports (tenant_id) WHERE status = 'RUNNING';
CREATE INDEX idx_tenant_exports_due ON tenant_exports (updated_at) WHERE status = 'RUNNING';
