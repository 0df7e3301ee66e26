-- Single-use tickets for browser WebSockets (POST /graphql/ws-ticket): a browser cannot set an
-- Authorization header on an upgrade, so it passes a ticket in the URL. Only a SHA-256 of the
-- ticket is stored; redeeming deletes the row, so a replayed ticket finds nothing.
CREATE TABLE ws_tickets (
  ticket_hash           TEXT PRIMARY KEY,
  tenant_id             TEXT NOT NULL,
  -- The principal the ticket stands for (JSON) and when its credential expires (ms, JWT exp).
  principal             TEXT NOT NULL,
  credential_expires_at INTEGER,
  -- When the ticket itself expires (ms since epoch; at most 60 s after it was issued).
  expires_at            INTEGER NOT NULL
);

CREATE INDEX idx_ws_tickets_expiry ON ws_tickets (expires_at);
