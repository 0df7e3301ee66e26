-- Signed audit digests (issue 15): one row per digest of a tenant's chain, and the ledger of what
-- goes outside D1 (the R2 bucket AUDIT_ARCHIVE, or AUDIT_ARCHIVE_DIR on Node). A digest is
-- recorded here first, then written to the archive and marked archived; one that is not yet
-- archived is written again by the next run, so the archive only ever holds recorded digests.
CREATE TABLE audit_digests (
  tenant_id            TEXT NOT NULL,
  from_seq             INTEGER NOT NULL,
  to_seq               INTEGER NOT NULL,
  event_count          INTEGER NOT NULL,
  head_hash            TEXT NOT NULL,
  previous_digest_hash TEXT,
  digest_hash          TEXT NOT NULL,
  key_id               TEXT NOT NULL,
  signature            TEXT NOT NULL,
  created_at           TEXT NOT NULL,
  -- Where the archive holds it (digests/<tenant>/<toSeq padded>.json) and the file, byte for byte.
  object_key           TEXT NOT NULL,
  document             TEXT NOT NULL,
  -- When the archive confirmed the write; NULL until then.
  archived_at          TEXT,
  PRIMARY KEY (tenant_id, to_seq)
);

-- Two runs that read the same last digest both start at its toSeq + 1: only one may record.
CREATE UNIQUE INDEX idx_audit_digests_from ON audit_digests (tenant_id, from_seq);

CREATE INDEX idx_audit_digests_unarchived ON audit_digests (tenant_id, to_seq) WHERE archived_at IS NULL;
