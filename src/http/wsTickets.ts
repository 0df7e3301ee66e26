import type { Principal } from '../domain/principal';
import type { SessionCredential } from './wsSession';

/**
 * Single-use tickets for browser WebSockets. A browser cannot set an Authorization header on an
 * upgrade, so an authenticated `POST /graphql/ws-ticket` hands it a ticket to put in the URL
 * (`/graphql?ticket=…`). A ticket stands for the credential that asked for it (its principal and
 * a JWT's expiry), lives TICKET_TTL_MS, and is deleted when redeemed: a replay finds nothing.
 * Only its SHA-256 is stored, so the table is no list of usable tickets.
 */

/** Long enough to open a socket right after asking, short enough that a leaked URL is stale. */
export const TICKET_TTL_MS = 30_000;
const PREFIX = 'cft_';

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function randomTicket(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const b64 = btoa(String.fromCharCode(...bytes));
  return PREFIX + b64.replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');
}

export async function issueTicket(
  db: D1Database,
  credential: SessionCredential,
  now = Date.now(),
): Promise<{ ticket: string; expiresAt: string }> {
  const ticket = randomTicket();
  // A ticket never outlives the credential it stands for.
  const expiresAt = Math.min(now + TICKET_TTL_MS, credential.expiresAt ?? Number.POSITIVE_INFINITY);
  await db.batch([
    // Tickets nobody redeemed are swept as new ones are issued (indexed by expiry).
    db.prepare('DELETE FROM ws_tickets WHERE expires_at <= ?1').bind(now),
    db
      .prepare(
        `INSERT INTO ws_tickets (ticket_hash, tenant_id, principal, credential_expires_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)`,
      )
      .bind(
        await sha256Hex(ticket),
        credential.principal.tenantId,
        JSON.stringify(credential.principal),
        credential.expiresAt,
        expiresAt,
      ),
  ]);
  return { ticket, expiresAt: new Date(expiresAt).toISOString() };
}

/** The credential a ticket stands for, once: the row is deleted as it is read. Null: unknown, used or expired. */
export async function redeemTicket(
  db: D1Database,
  ticket: string,
  now = Date.now(),
): Promise<SessionCredential | null> {
  if (!ticket.startsWith(PREFIX) || ticket.length > 100) return null;
  const row = await db
    .prepare(
      'DELETE FROM ws_tickets WHERE ticket_hash = ?1 RETURNING principal, credential_expires_at, expires_at',
    )
    .bind(await sha256Hex(ticket))
    .first<{ principal: string; credential_expires_at: number | null; expires_at: number }>();
  if (!row || row.expires_at <= now) return null;
  return { principal: JSON.parse(row.principal) as Principal, expiresAt: row.credential_expires_at };
}
