export interface ServiceInfo {
  name: string;
  tags: string[];
}

export async function listServices(db: D1Database, tenantId: string): Promise<ServiceInfo[]> {
  const { results } = await db
    .prepare('SELECT name, tags FROM services WHERE tenant_id = ?1 ORDER BY name')
    .bind(tenantId)
    .all<{ name: string; tags: string }>();
  return results.map((r) => ({ name: r.name, tags: JSON.parse(r.tags) as string[] }));
}

export async function servicesTagged(db: D1Database, tenantId: string, tag: string): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT name FROM services
       WHERE tenant_id = ?1 AND EXISTS (SELECT 1 FROM json_each(services.tags) WHERE value = ?2)`,
    )
    .bind(tenantId, tag)
    .all<{ name: string }>();
  return results.map((r) => r.name);
}

export function upsertServiceStatement(
  db: D1Database,
  tenantId: string,
  service: ServiceInfo,
  now: string,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO services (tenant_id, name, tags, created_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (tenant_id, name) DO UPDATE SET tags = excluded.tags`,
    )
    .bind(tenantId, service.name, JSON.stringify(service.tags), now);
}
