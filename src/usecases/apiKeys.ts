import { displayPrefix, generateApiKey, hashApiKey } from '../auth/apiKeys';
import {
  type ApiKeyRecord,
  apiKeyById,
  insertApiKeyStatement,
  listApiKeys,
  revokeApiKeyStatement,
} from '../db/apiKeys';
import { newId } from '../db/ids';
import { coveredRoles, type Principal, personOf } from '../domain/principal';
import type { Role } from '../domain/types';
import { AppError } from '../errors';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';

/** The roles a principal holds as a person: through a key, those its owner's roles cover. */
const personRoles = (p: Principal): Role[] =>
  p.apiKey ? coveredRoles(p.roles, p.apiKey.ownerRoles) : p.roles;

/**
 * Creates a key; the secret is returned here once and never stored or shown again. The key belongs
 * to the person creating it (through a key: that key's owner) and records their roles now.
 */
export async function createApiKey(
  ctx: AuthedContext,
  input: { name: string; roles: Role[]; expiresAt?: string | null; delegatedVoting?: boolean | null },
): Promise<{ apiKey: ApiKeyRecord; secret: string }> {
  const now = ctx.now();
  const delegatedVoting = input.delegatedVoting === true;
  // A leaked admin key must not be able to mint credentials that vote: delegation is given in person.
  if (delegatedVoting && ctx.principal.kind !== 'user') {
    throw new AppError(
      'FORBIDDEN',
      'Only an admin signed in as a person (a token, not an API key) can create a key with delegatedVoting',
    );
  }
  if (input.expiresAt && Date.parse(input.expiresAt) <= now.getTime()) {
    throw new AppError('VALIDATION_FAILED', 'expiresAt must be in the future', {
      issues: [{ field: 'expiresAt', message: 'must be in the future' }],
    });
  }
  const secret = generateApiKey();
  const apiKey: ApiKeyRecord = {
    id: newId('key'),
    tenantId: ctx.principal.tenantId,
    name: input.name,
    prefix: displayPrefix(secret),
    roles: [...new Set(input.roles)],
    createdBy: ctx.principal.id,
    createdAt: now.toISOString(),
    expiresAt: input.expiresAt ?? null,
    revokedAt: null,
    ownerId: personOf(ctx.principal),
    ownerRoles: personRoles(ctx.principal),
    delegatedVoting,
  };
  const keyHash = await hashApiKey(secret);
  await commitWithAudit(ctx, async () => ({
    statements: [insertApiKeyStatement(ctx.db, apiKey, keyHash)],
    // The audit trail records the key's metadata, never the secret or its hash.
    audit: [
      { action: 'api_key.created', targetType: 'ApiKey', targetId: apiKey.id, before: null, after: apiKey },
    ],
    result: undefined,
  }));
  return { apiKey, secret };
}

export async function revokeApiKey(ctx: AuthedContext, id: string): Promise<ApiKeyRecord> {
  return commitWithAudit(ctx, async () => {
    const current = await apiKeyById(ctx.db, ctx.principal.tenantId, id);
    if (!current) throw new AppError('API_KEY_NOT_FOUND', `API key ${id} does not exist`);
    if (current.revokedAt) {
      throw new AppError('VALIDATION_FAILED', `API key ${id} was already revoked at ${current.revokedAt}`, {
        issues: [{ field: 'id', message: 'already revoked' }],
      });
    }
    const revoked = { ...current, revokedAt: ctx.now().toISOString() };
    return {
      statements: [revokeApiKeyStatement(ctx.db, ctx.principal.tenantId, id, revoked.revokedAt)],
      audit: [
        { action: 'api_key.revoked', targetType: 'ApiKey', targetId: id, before: current, after: revoked },
      ],
      result: revoked,
    };
  });
}

/** The tenant's API keys, newest first (their hashes, never their secrets). */
export function apiKeys(ctx: AuthedContext): Promise<ApiKeyRecord[]> {
  return listApiKeys(ctx.db, ctx.principal.tenantId);
}
