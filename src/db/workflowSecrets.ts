import type { SealedSecret } from '../secrets/envelope';

/** A tenant's workflow secret as anyone may see it: never the value, sealed or not. */
export interface WorkflowSecretRecord {
  tenantId: string;
  name: string;
  allowedHosts: string[];
  /** The key-encryption key the value is sealed under (see src/secrets/envelope.ts). */
  keyId: string;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
}

interface Row {
  tenant_id: string;
  name: string;
  allowed_hosts: string;
  key_id: string;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
}

/** Metadata columns only: the sealed value is read by `sealedWorkflowSecrets` alone. */
const COLUMNS = 'tenant_id, name, allowed_hosts, key_id, created_at, created_by, updated_at, updated_by';

const fromRow = (r: Row): WorkflowSecretRecord => ({
  tenantId: r.tenant_id,
  name: r.name,
  allowedHosts: JSON.parse(r.allowed_hosts) as string[],
  keyId: r.key_id,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

export async function listWorkflowSecrets(db: D1Database, tenantId: string): Promise<WorkflowSecretRecord[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM workflow_secrets WHERE tenant_id = ?1 ORDER BY name`)
    .bind(tenantId)
    .all<Row>();
  return results.map(fromRow);
}

/** The tenant's secrets among `names` (metadata only); names the tenant has not set are absent. */
export async function workflowSecretsNamed(
  db: D1Database,
  tenantId: string,
  names: readonly string[],
): Promise<Map<string, WorkflowSecretRecord>> {
  if (names.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM workflow_secrets
       WHERE tenant_id = ?1 AND name IN (SELECT value FROM json_each(?2))`,
    )
    .bind(tenantId, JSON.stringify(names))
    .all<Row>();
  return new Map(results.map((r) => [r.name, fromRow(r)]));
}

/** The tenant's secrets among `names`, with their sealed values, for the one place that opens them. */
export async function sealedWorkflowSecrets(
  db: D1Database,
  tenantId: string,
  names: readonly string[],
): Promise<Map<string, WorkflowSecretRecord & { sealed: SealedSecret }>> {
  if (names.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS}, wrapped_key, ciphertext FROM workflow_secrets
       WHERE tenant_id = ?1 AND name IN (SELECT value FROM json_each(?2))`,
    )
    .bind(tenantId, JSON.stringify(names))
    .all<Row & { wrapped_key: string; ciphertext: string }>();
  return new Map(
    results.map((r) => [
      r.name,
      { ...fromRow(r), sealed: { keyId: r.key_id, wrappedKey: r.wrapped_key, ciphertext: r.ciphertext } },
    ]),
  );
}

/** Creates or replaces a secret; a replacement keeps its creation time and author. */
export function upsertWorkflowSecretStatement(
  db: D1Database,
  record: WorkflowSecretRecord,
  sealed: SealedSecret,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO workflow_secrets
         (tenant_id, name, allowed_hosts, key_id, wrapped_key, ciphertext, created_at, created_by, updated_at, updated_by)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
       ON CONFLICT (tenant_id, name) DO UPDATE SET
         allowed_hosts = excluded.allowed_hosts, key_id = excluded.key_id, wrapped_key = excluded.wrapped_key,
         ciphertext = excluded.ciphertext, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    )
    .bind(
      record.tenantId,
      record.name,
      JSON.stringify(record.allowedHosts),
      sealed.keyId,
      sealed.wrappedKey,
      sealed.ciphertext,
      record.createdAt,
      record.createdBy,
      record.updatedAt,
      record.updatedBy,
    );
}

export function deleteWorkflowSecretStatement(
  db: D1Database,
  tenantId: string,
  name: string,
): D1PreparedStatement {
  return db.prepare('DELETE FROM workflow_secrets WHERE tenant_id = ?1 AND name = ?2').bind(tenantId, name);
}
