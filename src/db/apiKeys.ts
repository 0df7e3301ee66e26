import type { Role } from '../domain/types';

export interface ApiKeyRecord {
  id: string;
  tenantId: string;
  name: string;
  prefix: string;
  roles: Role[];
  createdBy: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  /** The person the key belongs to (who created it). */
  ownerId: string;
  /** The owner's roles when the key was created. */
  ownerRoles: Role[];
  /** May cast its owner's CAB votes and emergency overrides. */
  delegatedVoting: boolean;
}

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  roles: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  owner_id: string | null;
  owner_roles: string;
  delegated_voting: number;
}

const COLUMNS =
  'id, tenant_id, name, prefix, roles, created_by, created_at, expires_at, revoked_at, owner_id, owner_roles, delegated_voting';

const fromRow = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  prefix: r.prefix,
  roles: JSON.parse(r.roles) as Role[],
  createdBy: r.created_by,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  ownerId: r.owner_id ?? r.created_by,
  ownerRoles: JSON.parse(r.owner_roles) as Role[],
  delegatedVoting: r.delegated_voting === 1,
});

export async function apiKeyByHash(db: D1Database, keyHash: string): Promise<ApiKeyRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = ?1`)
    .bind(keyHash)
    .first<ApiKeyRow>();
  return row ? fromRow(row) : null;
}

export async function apiKeyById(db: D1Database, tenantId: string, id: string): Promise<ApiKeyRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<ApiKeyRow>();
  return row ? fromRow(row) : null;
}

export async function listApiKeys(db: D1Database, tenantId: string): Promise<ApiKeyRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = ?1 ORDER BY created_at DESC, id`)
    .bind(tenantId)
    .all<ApiKeyRow>();
  return results.map(fromRow);
}

export function insertApiKeyStatement(db: D1Database, k: ApiKeyRecord, keyHash: string): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO api_keys (${COLUMNS}, key_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)`,
    )
    .bind(
      k.id,
      k.tenantId,
      k.name,
      k.prefix,
      JSON.stringify(k.roles),
      k.createdBy,
      k.createdAt,
      k.expiresAt,
      k.revokedAt,
      k.ownerId,
      JSON.stringify(k.ownerRoles),
      k.delegatedVoting ? 1 : 0,
      keyHash,
    );
}

export function revokeApiKeyStatement(
  db: D1Database,
  tenantId: string,
  id: string,
  at: string,
): D1PreparedStatement {
  return db
    .prepare('UPDATE api_keys SET revoked_at = ?3 WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL')
    .bind(tenantId, id, at);
}

/**
 * The person behind a requester or voter id: an API key's owner, or the id itself. Changes that a
 * key requested record the key's id; segregation of duties is judged between people.
 */
export async function personBehind(db: D1Database, tenantId: string, id: string): Promise<string> {
  if (!id.startsWith('key_')) return id;
  const row = await db
    .prepare('SELECT owner_id FROM api_keys WHERE tenant_id = ?1 AND id = ?2')
    .bind(tenantId, id)
    .first<{ owner_id: string | null }>();
  return row?.owner_id ?? id;
}
