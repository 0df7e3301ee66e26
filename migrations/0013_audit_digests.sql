-- Signed audit digests (issue 15): one row per digest a tenant's chain got, the record in D1 of
-- what was written outside it (the R2 bucket AUDIT_ARCHIVE, or AUDIT_ARCHIVE_DIR on Node). The
-- archive copy is the evidence; this row lists it and tells the next digest where to continue.
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
  -- Where the archive holds it (digests/<tenant>/<toSeq padded>.json) and the file as written.
  object_key           TEXT NOT NULL,
  document             TEXT NOT NULL,
  PRIMARY KEY (tenant_id, to_seq)
);
