/** A tenant's egress allow-list (migration 0008); no row means no allow-list. */

export interface EgressPolicyRecord {
  tenantId: string;
  /** Exact hosts and `*.example.com` patterns; empty: no allow-list. */
  allowedHosts: string[];
  updatedBy: string | null;
  updatedAt: string | null;
}

interface EgressPolicyRow {
  tenant_id: string;
  allowed_hosts: string;
  updated_by: string;
  updated_at: string;
}

const none = (tenantId: string): EgressPolicyRecord => ({
  tenantId,
  allowedHosts: [],
  updatedBy: null,
  updatedAt: null,
});

export async function getEgressPolicy(db: D1Database, tenantId: string): Promise<EgressPolicyRecord> {
  const row = await db
    .prepare(
      'SELECT tenant_id, allowed_hosts, updated_by, updated_at FROM egress_policies WHERE tenant_id = ?1',
    )
    .bind(tenantId)
    .first<EgressPolicyRow>();
  if (!row) return none(tenantId);
  return {
    tenantId: row.tenant_id,
    allowedHosts: JSON.parse(row.allowed_hosts) as string[],
    updatedBy: row.updated_by,
    updatedAt: row.updated_at,
  };
}

/** Stores the list; an empty one is kept (who cleared it, when) and means no allow-list. */
export function putEgressPolicyStatement(db: D1Database, policy: EgressPolicyRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO egress_policies (tenant_id, allowed_hosts, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
       ON CONFLICT (tenant_id) DO UPDATE SET allowed_hosts = ?2, updated_by = ?3, updated_at = ?4`,
    )
    .bind(policy.tenantId, JSON.stringify(policy.allowedHosts), policy.updatedBy, policy.updatedAt);
}
