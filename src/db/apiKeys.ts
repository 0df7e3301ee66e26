import type { Role } from '../resolvers/domain';

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
}

const COLUMNS = 'id, tenant_id, name, prefix, roles, created_by, created_at, expires_at, revoked_at';

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
    .prepare(`INSERT INTO api_keys (${COLUMNS}, key_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)`)
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
