import { type DocumentNode, Kind, parse, print, visit } from 'graphql';
import { findIdempotencyKey, type IdempotencyScope, storeIdempotentResponse } from '../db/idempotency';
import { canonicalJson } from '../domain/auditChain';
import type { Principal } from '../domain/principal';
import type { SecretKeys } from '../secrets/envelope';
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
  /** Set by a mutation declared `returnsSecret`: its answer is not stored (see withIdempotency). */
  secretResult?: { field: string; id: string } | null;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Write-only arguments, by field: their values are never stored, not even inside a hash. */
const SECRET_ARGUMENTS: Readonly<Record<string, string>> = { setWorkflowSecret: 'value' };

/**
 * How a secret value appears in the request's fingerprint: an HMAC under SECRETS_KEY, so a
 * retry with another value is still told apart, while the stored hash cannot be tested against
 * guesses without the key. Without a key no secret can be saved anyway: a fixed mark.
 */
function secretMarker(keys: SecretKeys | null): (value: string) => Promise<string> {
  let key: Promise<CryptoKey> | null = null;
  return async (value) => {
    if (!keys) return '[secret]';
    key ??= crypto.subtle.importKey('raw', keys.current.raw, { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
    ]);
    const mac = await crypto.subtle.sign(
      'HMAC',
      await key,
      new TextEncoder().encode(`changeflow/idempotency-secret/v1:${value}`),
    );
    return `[secret:${[...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('')}]`;
  };
}

/** The request with every secret value (inline or in variables) replaced by its marker. */
async function withoutSecretValues(request: unknown, keys: SecretKeys | null): Promise<unknown> {
  const { query, variables } = (request ?? {}) as { query?: unknown; variables?: unknown };
  const fields = Object.keys(SECRET_ARGUMENTS);
  if (typeof query !== 'string' || !fields.some((f) => query.includes(f))) return request;
  let document: DocumentNode;
  try {
    document = parse(query);
  } catch {
    // Yoga refuses it before any write, so this hash is never stored: it only has to hold no value.
    return { unparseable: true };
  }
  const mark = secretMarker(keys);
  const literals = new Map<string, string>();
  const variableNames = new Set<string>();
  visit(document, {
    Field(field) {
      const arg = field.arguments?.find((a) => a.name.value === SECRET_ARGUMENTS[field.name.value]);
      if (arg?.value.kind === Kind.VARIABLE) variableNames.add(arg.value.name.value);
      else if (arg?.value.kind === Kind.STRING) literals.set(arg.value.value, '');
    },
  });
  for (const value of literals.keys()) literals.set(value, await mark(value));
  const redacted = visit(document, {
    Field(field) {
      const secretArg = SECRET_ARGUMENTS[field.name.value];
      if (!secretArg) return undefined;
      return {
        ...field,
        arguments: field.arguments?.map((a) =>
          a.name.value === secretArg && a.value.kind === Kind.STRING
            ? { ...a, value: { kind: Kind.STRING, value: literals.get(a.value.value) ?? '[secret]' } }
            : a,
        ),
      };
    },
  });
  const vars = { ...((variables ?? {}) as Record<string, unknown>) };
  for (const name of variableNames) {
    if (name in vars) vars[name] = await mark(JSON.stringify(vars[name]));
  }
  return { ...(request as object), query: print(redacted), variables: vars };
}

/**
 * The same operation and variables hash the same, whatever the key order or whitespace. A
 * secret value never enters the hash (see withoutSecretValues).
 */
async function requestHash(body: string, keys: SecretKeys | null): Promise<string> {
  let request: unknown;
  try {
    request = JSON.parse(body);
  } catch {
    // Not JSON: Yoga refuses it before any write, so this hash is never stored.
    return sha256(Object.keys(SECRET_ARGUMENTS).some((f) => body.includes(f)) ? '(unparseable)' : body);
  }
  return sha256(canonicalJson(await withoutSecretValues(request, keys)));
}

/**
 * Runs a GraphQL request under an idempotency key. A retry with the same key and the same body
 * gets the first response back (`Idempotent-Replayed: true`) without doing the work again; the
 * same key with a different body is refused; a key whose first request is still running is 409.
 * An answer that holds a secret (a mutation declared `returnsSecret`) is never stored: its retry
 * is 409 IDEMPOTENCY_SECRET_NOT_REPLAYABLE with the id of what was created.
 */
export async function withIdempotency(opts: {
  db: D1Database;
  principal: Principal;
  key: string;
  requestId: string;
  body: string;
  /** SECRETS_KEY, which keys the fingerprint of secret values in the request hash. */
  secretKeys: SecretKeys | null;
  run: (claim: IdempotencyClaim) => Response | Promise<Response>;
}): Promise<Response> {
  const { db, principal, key } = opts;
  if (!KEY.test(key)) {
    return graphqlError('BAD_REQUEST', 'Idempotency-Key must be 1–255 visible ASCII characters');
  }
  const scope: IdempotencyScope = { tenantId: principal.tenantId, principalId: principal.id, key };
  const now = new Date();
  const hash = await requestHash(opts.body, opts.secretKeys);
  const existing = await findIdempotencyKey(db, scope, now.toISOString());
  if (existing) {
    if (existing.requestHash !== hash) {
      return graphqlError(
        'IDEMPOTENCY_KEY_REUSED',
        'This Idempotency-Key was already used for a different request; use a new key for new work',
      );
    }
    if (!existing.response) {
      return graphqlError('IDEMPOTENCY_IN_PROGRESS', 'A request with this Idempotency-Key is still running');
    }
    if ('withheld' in existing.response) {
      const { field, id } = existing.response.withheld;
      return graphqlError(
        'IDEMPOTENCY_SECRET_NOT_REPLAYABLE',
        `The request with this Idempotency-Key already ran: ${field} created ${id}. Its answer held a secret shown only once, which is not kept, so it cannot be replayed; use the secret you received, or revoke ${id} and create a new one`,
        { field, id },
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
  // The answer holds a secret (a mutation declared `returnsSecret`): keep only what was created.
  if (claim.secretResult) {
    await storeIdempotentResponse(db, scope, opts.requestId, { withheld: claim.secretResult });
    return response;
  }
  const body = await response.text();
  const contentType = response.headers.get('content-type') ?? 'application/json';
  await storeIdempotentResponse(db, scope, opts.requestId, { status: response.status, contentType, body });
  return new Response(body, response);
}
