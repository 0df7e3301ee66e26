/** A claimed idempotency key and, once the request finished, its stored response. */
export interface IdempotencyRecord {
  requestHash: string;
  requestId: string;
  response: StoredResponse | null;
  expiresAt: string;
}

/** What a retry gets back: the first answer, or, when that answer held a secret, only what it created. */
export type StoredResponse = ReplayableResponse | WithheldResponse;

export interface ReplayableResponse {
  status: number;
  contentType: string;
  body: string;
}

/** Stored instead of an answer that held a secret (a mutation declared `returnsSecret`). */
export interface WithheldResponse {
  withheld: { field: string; id: string };
}

export interface IdempotencyScope {
  tenantId: string;
  principalId: string;
  key: string;
}

export async function findIdempotencyKey(
  db: D1Database,
  s: IdempotencyScope,
  now: string,
): Promise<IdempotencyRecord | null> {
  const row = await db
    .prepare(
      `SELECT request_hash, request_id, response, expires_at FROM idempotency_keys
       WHERE tenant_id = ?1 AND principal_id = ?2 AND key = ?3 AND expires_at > ?4`,
    )
    .bind(s.tenantId, s.principalId, s.key, now)
    .first<{ request_hash: string; request_id: string; response: string | null; expires_at: string }>();
  if (!row) return null;
  return {
    requestHash: row.request_hash,
    requestId: row.request_id,
    response: row.response === null ? null : (JSON.parse(row.response) as StoredResponse),
    expiresAt: row.expires_at,
  };
}

/** Statements that claim a key inside a write's batch (expired keys of the tenant are dropped first). */
export function claimIdempotencyKeyStatements(
  db: D1Database,
  s: IdempotencyScope,
  claim: { requestHash: string; requestId: string; now: string; expiresAt: string },
): D1PreparedStatement[] {
  return [
    db
      .prepare('DELETE FROM idempotency_keys WHERE tenant_id = ?1 AND expires_at <= ?2')
      .bind(s.tenantId, claim.now),
    db
      .prepare(
        `INSERT INTO idempotency_keys (tenant_id, principal_id, key, request_hash, request_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
      )
      .bind(s.tenantId, s.principalId, s.key, claim.requestHash, claim.requestId, claim.now, claim.expiresAt),
  ];
}

export async function storeIdempotentResponse(
  db: D1Database,
  s: IdempotencyScope,
  requestId: string,
  response: StoredResponse,
): Promise<void> {
  await db
    .prepare(
      `UPDATE idempotency_keys SET response = ?5
       WHERE tenant_id = ?1 AND principal_id = ?2 AND key = ?3 AND request_id = ?4`,
    )
    .bind(s.tenantId, s.principalId, s.key, requestId, JSON.stringify(response))
    .run();
}
