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

/** Records who acted, so a change can show its requester's name; keeps known names when the token has none. */
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
         display_name = COALESCE(excluded.display_name, users.display_name),
         email = COALESCE(excluded.email, users.email)`,
    )
    .bind(tenantId, user.id, user.displayName, user.email, now);
}
