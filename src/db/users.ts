export interface UserRecord {
  id: string;
  displayName: string | null;
  email: string | null;
}

export async function usersByIds(db: D1Database, tenantId: string, ids: readonly string[]) {
  const { results } = await db
    .prepare(
      `SELECT id, display_name, email FROM users
       WHERE tenant_id = ?1 AND id IN (SELECT value FROM json_each(?2))`,
    )
    .bind(tenantId, JSON.stringify(ids))
    .all<{ id: string; display_name: string | null; email: string | null }>();
  return results.map((r): UserRecord => ({ id: r.id, displayName: r.display_name, email: r.email }));
}

/**
 * Records who acted, so a change can show its requester's name; keeps known names when the token
 * has none. An erased person's name and email are never written back, whatever the token says.
 */
export function upsertUserStatement(
  db: D1Database,
  tenantId: string,
  user: UserRecord,
  now: string,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO users (tenant_id, id, display_name, email, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
       ON CONFLICT (tenant_id, id) DO UPDATE SET
         display_name = CASE WHEN users.erased_at IS NULL
           THEN COALESCE(excluded.display_name, users.display_name) END,
         email = CASE WHEN users.erased_at IS NULL THEN COALESCE(excluded.email, users.email) END`,
    )
    .bind(tenantId, user.id, user.displayName, user.email, now);
}

/** Whether the tenant knows the person (a user row), and when they were erased. */
export async function userErasure(db: D1Database, tenantId: string, id: string) {
  return db
    .prepare('SELECT erased_at FROM users WHERE tenant_id = ?1 AND id = ?2')
    .bind(tenantId, id)
    .first<{ erased_at: string | null }>();
}

/** Forgets the person's name and email and marks them erased (a row is made if there was none). */
export function eraseUserStatement(
  db: D1Database,
  tenantId: string,
  id: string,
  now: string,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO users (tenant_id, id, display_name, email, created_at, erased_at) VALUES (?1, ?2, NULL, NULL, ?3, ?3)
       ON CONFLICT (tenant_id, id) DO UPDATE SET display_name = NULL, email = NULL,
         erased_at = COALESCE(users.erased_at, excluded.erased_at)`,
    )
    .bind(tenantId, id, now);
}
