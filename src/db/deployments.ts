import type { CreatedAtCursor } from '../domain/pagination';
import type { SealedSecret } from '../secrets/envelope';

/** Deployment integrations, their deployments and the claims of their deliveries (migration 0019). */

export type DeploymentIntegrationKind = 'GITHUB' | 'GENERIC';
export type DeploymentIntegrationStatus = 'ACTIVE' | 'DISABLED';

export interface EnvironmentMapping {
  environment: string;
  templateId: string;
}

/** An integration as anyone may see it: never its secret, sealed or not. */
export interface DeploymentIntegrationRecord {
  id: string;
  tenantId: string;
  name: string;
  kind: DeploymentIntegrationKind;
  environments: EnvironmentMapping[];
  status: DeploymentIntegrationStatus;
  /** The key-encryption key the secret is sealed under (src/secrets/envelope.ts). */
  keyId: string;
  /** 1 when created, one more on each rotation. */
  secretVersion: number;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
  updatedBy: string;
  disabledAt: string | null;
}

interface IntegrationRow {
  id: string;
  tenant_id: string;
  name: string;
  kind: DeploymentIntegrationKind;
  environments: string;
  status: DeploymentIntegrationStatus;
  key_id: string;
  secret_version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  disabled_at: string | null;
}

const INTEGRATION_COLUMNS =
  'id, tenant_id, name, kind, environments, status, key_id, secret_version, created_at, created_by, updated_at, updated_by, disabled_at';

const integrationFromRow = (r: IntegrationRow): DeploymentIntegrationRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  kind: r.kind,
  environments: JSON.parse(r.environments) as EnvironmentMapping[],
  status: r.status,
  keyId: r.key_id,
  secretVersion: r.secret_version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
  disabledAt: r.disabled_at,
});

/** The secret's name in the envelope's additional data: a sealed secret opens for this integration only. */
export const integrationSecretName = (id: string) => `deployment-integration:${id}`;

export async function getDeploymentIntegration(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<DeploymentIntegrationRecord | null> {
  const row = await db
    .prepare(`SELECT ${INTEGRATION_COLUMNS} FROM deployment_integrations WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<IntegrationRow>();
  return row ? integrationFromRow(row) : null;
}

/**
 * The integration a delivery names, whichever its tenant (the path carries no tenant: the
 * signature decides), with its sealed secret for the one place that opens it.
 */
export async function integrationForDelivery(
  db: D1Database,
  id: string,
): Promise<(DeploymentIntegrationRecord & { sealed: SealedSecret }) | null> {
  const row = await db
    .prepare(
      `SELECT ${INTEGRATION_COLUMNS}, wrapped_key, ciphertext FROM deployment_integrations WHERE id = ?1`,
    )
    .bind(id)
    .first<IntegrationRow & { wrapped_key: string; ciphertext: string }>();
  if (!row) return null;
  return {
    ...integrationFromRow(row),
    sealed: { keyId: row.key_id, wrappedKey: row.wrapped_key, ciphertext: row.ciphertext },
  };
}

export async function listDeploymentIntegrations(
  db: D1Database,
  tenantId: string,
  limit: number,
): Promise<DeploymentIntegrationRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${INTEGRATION_COLUMNS} FROM deployment_integrations WHERE tenant_id = ?1
       ORDER BY created_at DESC, id DESC LIMIT ?2`,
    )
    .bind(tenantId, limit)
    .all<IntegrationRow>();
  return results.map(integrationFromRow);
}

export function insertIntegrationStatement(
  db: D1Database,
  r: DeploymentIntegrationRecord,
  sealed: SealedSecret,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deployment_integrations (${INTEGRATION_COLUMNS}, wrapped_key, ciphertext)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)`,
    )
    .bind(
      r.id,
      r.tenantId,
      r.name,
      r.kind,
      JSON.stringify(r.environments),
      r.status,
      sealed.keyId,
      r.secretVersion,
      r.createdAt,
      r.createdBy,
      r.updatedAt,
      r.updatedBy,
      r.disabledAt,
      sealed.wrappedKey,
      sealed.ciphertext,
    );
}

/** Saves an edit; a new sealed secret replaces the old one only when given. */
export function updateIntegrationStatement(
  db: D1Database,
  next: DeploymentIntegrationRecord,
  sealed: SealedSecret | null,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE deployment_integrations SET name = ?3, environments = ?4, status = ?5, secret_version = ?6,
         updated_at = ?7, updated_by = ?8, disabled_at = ?9,
         key_id = COALESCE(?10, key_id), wrapped_key = COALESCE(?11, wrapped_key), ciphertext = COALESCE(?12, ciphertext)
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(
      next.tenantId,
      next.id,
      next.name,
      JSON.stringify(next.environments),
      next.status,
      next.secretVersion,
      next.updatedAt,
      next.updatedBy,
      next.disabledAt,
      sealed?.keyId ?? null,
      sealed?.wrappedKey ?? null,
      sealed?.ciphertext ?? null,
    );
}

export type DeploymentStatus = 'PENDING' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'INACTIVE' | 'BLOCKED';

export interface DeploymentRecord {
  id: string;
  tenantId: string;
  integrationId: string;
  /** The pipeline's own id of the deployment (GitHub's deployment.id, the generic deploymentId). */
  externalId: string;
  environment: string;
  commit: string;
  ref: string;
  url: string | null;
  status: DeploymentStatus;
  changeId: string | null;
  /** Whether the change was raised from the environment's template for this deployment. */
  changeCreated: boolean;
  blockedCode: string | null;
  blockedReason: string | null;
  createdAt: string;
  updatedAt: string;
}

interface DeploymentRow {
  id: string;
  tenant_id: string;
  integration_id: string;
  external_id: string;
  environment: string;
  commit_sha: string;
  ref: string;
  url: string | null;
  status: DeploymentStatus;
  change_id: string | null;
  change_created: number;
  blocked_code: string | null;
  blocked_reason: string | null;
  created_at: string;
  updated_at: string;
}

const DEPLOYMENT_COLUMNS =
  'id, tenant_id, integration_id, external_id, environment, commit_sha, ref, url, status, change_id, change_created, blocked_code, blocked_reason, created_at, updated_at';

const deploymentFromRow = (r: DeploymentRow): DeploymentRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  integrationId: r.integration_id,
  externalId: r.external_id,
  environment: r.environment,
  commit: r.commit_sha,
  ref: r.ref,
  url: r.url,
  status: r.status,
  changeId: r.change_id,
  changeCreated: r.change_created === 1,
  blockedCode: r.blocked_code,
  blockedReason: r.blocked_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export async function deploymentByExternalId(
  db: D1Database,
  tenantId: string,
  integrationId: string,
  externalId: string,
): Promise<DeploymentRecord | null> {
  const row = await db
    .prepare(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments
       WHERE tenant_id = ?1 AND integration_id = ?2 AND external_id = ?3`,
    )
    .bind(tenantId, integrationId, externalId)
    .first<DeploymentRow>();
  return row ? deploymentFromRow(row) : null;
}

/** Whether a deployment drives the change: then the deployment, not a runbook, implements it. */
export async function changeHasDeployment(
  db: D1Database,
  tenantId: string,
  changeId: string,
): Promise<boolean> {
  const row = await db
    .prepare('SELECT 1 AS one FROM deployments WHERE tenant_id = ?1 AND change_id = ?2 LIMIT 1')
    .bind(tenantId, changeId)
    .first<{ one: number }>();
  return row !== null;
}

export async function listDeployments(
  db: D1Database,
  tenantId: string,
  filter: { changeId?: string | null; integrationId?: string | null },
  limit: number,
  cursor: CreatedAtCursor | null,
): Promise<DeploymentRecord[]> {
  const clauses = ['tenant_id = ?'];
  const params: unknown[] = [tenantId];
  if (filter.changeId) {
    clauses.push('change_id = ?');
    params.push(filter.changeId);
  }
  if (filter.integrationId) {
    clauses.push('integration_id = ?');
    params.push(filter.integrationId);
  }
  if (cursor) {
    // A row value: an index bound, so a deep page seeks to its cursor (docs/performance.md).
    clauses.push('(created_at, id) < (?, ?)');
    params.push(cursor.createdAt, cursor.id);
  }
  const { results } = await db
    .prepare(
      `SELECT ${DEPLOYMENT_COLUMNS} FROM deployments WHERE ${clauses.join(' AND ')}
       ORDER BY created_at DESC, id DESC LIMIT ?`,
    )
    .bind(...params, limit)
    .all<DeploymentRow>();
  return results.map(deploymentFromRow);
}

/** Creates the deployment or records what its latest delivery said; never relinks its change. */
export function upsertDeploymentStatement(db: D1Database, d: DeploymentRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deployments (${DEPLOYMENT_COLUMNS})
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
       ON CONFLICT (integration_id, external_id) DO UPDATE SET
         environment = excluded.environment, commit_sha = excluded.commit_sha, ref = excluded.ref,
         url = COALESCE(excluded.url, url), status = excluded.status,
         change_id = COALESCE(change_id, excluded.change_id),
         blocked_code = excluded.blocked_code, blocked_reason = excluded.blocked_reason,
         updated_at = excluded.updated_at`,
    )
    .bind(
      d.id,
      d.tenantId,
      d.integrationId,
      d.externalId,
      d.environment,
      d.commit,
      d.ref,
      d.url,
      d.status,
      d.changeId,
      d.changeCreated ? 1 : 0,
      d.blockedCode,
      d.blockedReason,
      d.createdAt,
      d.updatedAt,
    );
}

/** Links the change raised for a deployment; the trigger of migration 0019 refuses a second link. */
export function linkCreatedChangeStatement(
  db: D1Database,
  tenantId: string,
  deploymentId: string,
  changeId: string,
  now: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE deployments SET change_id = ?3, change_created = 1, updated_at = ?4
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(tenantId, deploymentId, changeId, now);
}

export function setDeploymentStatusStatement(
  db: D1Database,
  d: Pick<DeploymentRecord, 'tenantId' | 'id' | 'status' | 'blockedCode' | 'blockedReason' | 'updatedAt'>,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE deployments SET status = ?3, blocked_code = ?4, blocked_reason = ?5, updated_at = ?6
       WHERE tenant_id = ?1 AND id = ?2`,
    )
    .bind(d.tenantId, d.id, d.status, d.blockedCode, d.blockedReason, d.updatedAt);
}

/** The claim of one delivery: a second one with the same key fails the batch (UNIQUE), so a replay does nothing. */
export function claimDeliveryStatement(
  db: D1Database,
  claim: {
    integrationId: string;
    deliveryKey: string;
    tenantId: string;
    deploymentId: string;
    receivedAt: string;
  },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO deployment_deliveries (integration_id, delivery_key, tenant_id, deployment_id, received_at)
       VALUES (?1, ?2, ?3, ?4, ?5)`,
    )
    .bind(claim.integrationId, claim.deliveryKey, claim.tenantId, claim.deploymentId, claim.receivedAt);
}
