-- Bounded audit verification (issue 15 item 4). A verification checks a bounded page of a tenant's
-- chain per call; one that needs more (a FULL run from seq 1, a long stretch since the last
-- digest) is a run the caller continues with a cursor. The cursor names a row here and the state
-- (where the run is, the hash the next event must link to) stays here, so a client cannot skip
-- ahead by forging one.
CREATE TABLE audit_verifications (
  tenant_id     TEXT NOT NULL,
  id            TEXT NOT NULL,
  mode          TEXT NOT NULL CHECK (mode IN ('RECENT', 'FULL')),
  -- What it started from: seq 1 (GENESIS), the last signed digest, an earlier verification.
  anchor        TEXT NOT NULL CHECK (anchor IN ('GENESIS', 'DIGEST', 'CHECKPOINT')),
  -- Where the run started (the anchor's seq + 1) and the head when it started: it ends there.
  from_seq      INTEGER NOT NULL,
  to_seq        INTEGER NOT NULL,
  -- The next event to check and the hash it must link to.
  next_seq      INTEGER NOT NULL,
  prev_hash     TEXT NOT NULL,
  checked       INTEGER NOT NULL DEFAULT 0,
  status        TEXT NOT NULL CHECK (status IN ('RUNNING', 'VALID', 'BROKEN')),
  broken_at_seq INTEGER,
  reason        TEXT,
  started_by    TEXT NOT NULL,
  started_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (tenant_id, id)
);

-- Runs nobody continued for 7 days are deleted when the tenant starts another.
CREATE INDEX idx_audit_verifications_updated ON audit_verifications (tenant_id, updated_at);

-- What the tenant's verifications established, one row per tenant: what complianceReport reads
-- instead of hashing the chain. verified_seq/verified_hash is the newest event a verification
-- reached from a trusted anchor (where the next RECENT one starts); full_verified_seq the end of the
-- last FULL run that found seq 1 to it whole; broken_at_seq the lowest break found and not since
-- verified whole again.
CREATE TABLE audit_chain_status (
  tenant_id         TEXT PRIMARY KEY,
  verified_seq      INTEGER NOT NULL,
  verified_hash     TEXT NOT NULL,
  verified_at       TEXT NOT NULL,
  full_verified_seq INTEGER,
  full_verified_at  TEXT,
  broken_at_seq     INTEGER,
  broken_reason     TEXT,
  broken_found_at   TEXT
);

-- The hourly digest run walks the tenants a bounded batch per cron invocation: where it is.
CREATE TABLE audit_digest_sweeps (
  id           INTEGER PRIMARY KEY CHECK (id = 1),
  -- The hour the sweep runs for (2026-12-07T01), and the last tenant it handed out.
  hour         TEXT NOT NULL,
  after_tenant TEXT NOT NULL,
  done         INTEGER NOT NULL DEFAULT 0
);
