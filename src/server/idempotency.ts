import type { Principal } from '../auth/principal';
import { findIdempotencyKey, type IdempotencyScope, storeIdempotentResponse } from '../db/idempotency';
import { canonicalJson } from '../resolvers/auditChain';
import { graphqlErrorResponse as graphqlError } from './responses';

/** How long a key protects against a repeat. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
const KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * A request's idempotency key, handed to the resolvers: the first write of the request claims it
 * in the same D1 batch as the write itself, so a key is recorded exactly when work was done.
 */
export interface IdempotencyClaim extends IdempotencyScope {
  requestHash: string;
  requestId: string;
  expiresAt: string;
  /** Set once a batch that claimed the key has committed. */
  claimed: boolean;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** The same operation and variables hash the same, whatever the key order or whitespace. */
async function requestHash(body: string): Promise<string> {
  try {
    return sha256(canonicalJson(JSON.parse(body)));
  } catch {
    return sha256(body);
  }
}

/**
 * Runs a GraphQL request under an idempotency key. A retry with the same key and the same body
 * gets the first response back (`Idempotent-Replayed: true`) without doing the work again; the
 * same key with a different body is refused; a key whose first request is still running is 409.
 */
export async function withIdempotency(opts: {
  db: D1Database;
  principal: Principal;
  key: string;
  requestId: string;
  body: string;
  run: (claim: IdempotencyClaim) => Response | Promise<Response>;
}): Promise<Response> {
  const { db, principal, key } = opts;
  if (!KEY.test(key)) {
    return graphqlError(400, 'BAD_REQUEST', 'Idempotency-Key must be 1–255 visible ASCII characters');
  }
  const scope: IdempotencyScope = { tenantId: principal.tenantId, principalId: principal.id, key };
  const now = new Date();
  const hash = await requestHash(opts.body);
  const existing = await findIdempotencyKey(db, scope, now.toISOString());
  if (existing) {
    if (existing.requestHash !== hash) {
      return graphqlError(
        422,
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used for a different request; use a new key for new work',
      );
    }
    if (!existing.response) {
      return graphqlError(
        409,
        'IDEMPOTENCY_IN_PROGRESS',
        'A request with this Idempotency-Key is still running',
      );
    }
    return new Response(existing.response.body, {
      status: existing.response.status,
      headers: { 'content-type': existing.response.contentType, 'Idempotent-Replayed': 'true' },
    });
  }
  const claim: IdempotencyClaim = {
    ...scope,
    requestHash: hash,
    requestId: opts.requestId,
    expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
    claimed: false,
  };
  const response = await opts.run(claim);
  // Nothing was written (a query, or a mutation that failed before its batch): nothing to replay.
  if (!claim.claimed) return response;
  const body = await response.text();
  const contentType = response.headers.get('content-type') ?? 'application/json';
  await storeIdempotentResponse(db, scope, opts.requestId, { status: response.status, contentType, body });
  return new Response(body, response);
}
