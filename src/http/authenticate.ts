import { hashApiKey, isWellFormedApiKey, looksLikeApiKey } from '../auth/apiKeys';
import { verifyJwt } from '../auth/jwt';
import type { Config } from '../config';
import { apiKeyByHash } from '../db/apiKeys';
import type { Principal } from '../domain/principal';
import { AppError } from '../errors';

/** The outcome of reading a request's credentials: a principal, none at all, or a rejection. */
export type AuthResult = { principal: Principal } | { principal: null; error: AppError | null };

const BEARER = /^Bearer[ ]+(\S+)$/i;

async function verifyApiKey(key: string, db: D1Database, now: Date): Promise<Principal> {
  if (!isWellFormedApiKey(key)) throw new AppError('UNAUTHENTICATED', 'API key is malformed');
  const record = await apiKeyByHash(db, await hashApiKey(key));
  if (!record) throw new AppError('UNAUTHENTICATED', 'API key is not recognised');
  if (record.revokedAt) throw new AppError('UNAUTHENTICATED', `API key ${record.prefix}… was revoked`);
  if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) {
    throw new AppError('UNAUTHENTICATED', `API key ${record.prefix}… expired at ${record.expiresAt}`);
  }
  return {
    id: record.id,
    tenantId: record.tenantId,
    roles: record.roles,
    kind: 'api_key',
    name: record.name,
    email: null,
    apiKey: {
      ownerId: record.ownerId,
      ownerRoles: record.ownerRoles,
      delegatedVoting: record.delegatedVoting,
    },
  };
}

/**
 * Reads `Authorization: Bearer <jwt | cf_ key>` or `X-API-Key: cf_…`. `resource` is the URL a
 * JWT's `aud` must name on this route instead of JWT_AUDIENCE (the MCP endpoint, RFC 8707).
 */
export async function authenticate(
  request: Request,
  config: Config,
  db: D1Database,
  resource?: string,
): Promise<AuthResult> {
  const header = request.headers.get('authorization');
  const apiKeyHeader = request.headers.get('x-api-key');
  try {
    if (apiKeyHeader !== null && !header) {
      return { principal: await verifyApiKey(apiKeyHeader.trim(), db, new Date()) };
    }
    if (!header) return { principal: null, error: null };
    const credential = BEARER.exec(header.trim())?.[1];
    if (!credential) throw new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"');
    if (looksLikeApiKey(credential)) return { principal: await verifyApiKey(credential, db, new Date()) };
    return { principal: await verifyJwt(credential, config, resource) };
  } catch (e) {
    if (e instanceof AppError) return { principal: null, error: e };
    throw e;
  }
}
