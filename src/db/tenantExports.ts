import type { ExportDigest, ExportedTable, ExportFile } from '../domain/tenantExport';

export type TenantExportStatus = 'RUNNING' | 'COMPLETE' | 'FAILED';
export type TenantExportTrigger = 'SCHEDULED' | 'ON_DEMAND';

export interface TenantExportRecord {
  id: string;
  tenantId: string;
  status: TenantExportStatus;
  trigger: TenantExportTrigger;
  requestedBy: string | null;
  prefix: string;
  tableIndex: number;
  cursor: unknown[] | null;
  auditHead: { seq: number; hash: string } | null;
  files: ExportFile[];
  digests: ExportDigest[];
  version: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  completedAt: string | null;
}

interface ExportRow {
  id: string;
  tenant_id: string;
  status: TenantExportStatus;
  trigger: TenantExportTrigger;
  requested_by: string | null;
  prefix: string;
  table_index: number;
  cursor: string | null;
  audit_head_seq: number | null;
  audit_head_hash: string | null;
  files: string;
  digests: string;
  version: number;
  error: string | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

const fromRow = (r: ExportRow): TenantExportRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  status: r.status,
  trigger: r.trigger,
  requestedBy: r.requested_by,
  prefix: r.prefix,
  tableIndex: r.table_index,
  cursor: r.cursor === null ? null : (JSON.parse(r.cursor) as unknown[]),
  auditHead:
    r.audit_head_seq === null || r.audit_head_hash === null
      ? null
      : { seq: r.audit_head_seq, hash: r.audit_head_hash },
  files: JSON.parse(r.files) as ExportFile[],
  digests: JSON.parse(r.digests) as ExportDigest[],
  version: r.version,
  error: r.error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  completedAt: r.completed_at,
});

export function insertTenantExportStatement(db: D1Database, e: TenantExportRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO tenant_exports (id, tenant_id, status, trigger, requested_by, prefix, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)`,
    )
    .bind(e.id, e.tenantId, e.status, e.trigger, e.requestedBy, e.prefix, e.createdAt);
}

export async function tenantExportById(db: D1Database, id: string): Promise<TenantExportRecord | null> {
  const row = await db.prepare('SELECT * FROM tenant_exports WHERE id = ?1').bind(id).first<ExportRow>();
  return row ? fromRow(row) : null;
}

export async function runningTenantExport(
  db: D1Database,
  tenantId: string,
): Promise<TenantExportRecord | null> {
  const row = await db
    .prepare("SELECT * FROM tenant_exports WHERE tenant_id = ?1 AND status = 'RUNNING'")
    .bind(tenantId)
    .first<ExportRow>();
  return row ? fromRow(row) : null;
}

/** Exports still running, oldest first (the cron continues them). */
export async function runningTenantExports(db: D1Database, limit: number): Promise<TenantExportRecord[]> {
  const { results } = await db
    .prepare("SELECT * FROM tenant_exports WHERE status = 'RUNNING' ORDER BY updated_at LIMIT ?1")
    .bind(limit)
    .all<ExportRow>();
  return results.map(fromRow);
}

/** When the tenant's newest export started (whatever became of it), or null. */
/**
 * Up to `limit` tenants whose last export started before `dueBefore` (or that have none), in one
 * statement: the cron's schedule asks once per run, not once per tenant.
 */
export async function tenantsDueForExport(
  db: D1Database,
  dueBefore: string,
  limit: number,
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT t.tenant_id FROM (SELECT DISTINCT tenant_id FROM users) AS t
       WHERE NOT EXISTS (
         SELECT 1 FROM tenant_exports e WHERE e.tenant_id = t.tenant_id AND e.created_at > ?1
       )
       ORDER BY t.tenant_id LIMIT ?2`,
    )
    .bind(dueBefore, limit)
    .all<{ tenant_id: string }>();
  return results.map((r) => r.tenant_id);
}

/**
 * Records a step, if no other runner recorded one since `e.version` was read: true when it did.
 * The caller passes the record as it should be after the step.
 */
export async function recordTenantExportStep(
  db: D1Database,
  e: TenantExportRecord,
  readVersion: number,
): Promise<boolean> {
  const result = await db
    .prepare(
      `UPDATE tenant_exports SET status = ?3, table_index = ?4, cursor = ?5, audit_head_seq = ?6,
         audit_head_hash = ?7, files = ?8, error = ?9, updated_at = ?10, completed_at = ?11, digests = ?12,
         version = version + 1
       WHERE id = ?1 AND version = ?2 AND status = 'RUNNING'`,
    )
    .bind(
      e.id,
      readVersion,
      e.status,
      e.tableIndex,
      e.cursor === null ? null : JSON.stringify(e.cursor),
      e.auditHead?.seq ?? null,
      e.auditHead?.hash ?? null,
      JSON.stringify(e.files),
      e.error,
      e.updatedAt,
      e.completedAt,
      JSON.stringify(e.digests),
    )
    .run();
  return result.meta.changes === 1;
}

/**
 * Up to `limit` of the tenant's rows of a table, in key order, after the row whose key is `after`
 * (from the start when null); `maxToSeq` bounds audit_digests to the exported chain. Table and
 * column names come from EXPORTED_TABLES, never from input.
 */
export async function tenantTablePage(
  db: D1Database,
  table: ExportedTable,
  tenantId: string,
  after: unknown[] | null,
  limit: number,
  maxToSeq: number | null = null,
): Promise<Record<string, unknown>[]> {
  const binds: unknown[] = [tenantId];
  const where = ['tenant_id = ?1'];
  if (after) {
    const marks = after.map((v) => {
      binds.push(v);
      return `?${binds.length}`;
    });
    where.push(`(${table.key.join(', ')}) > (${marks.join(', ')})`);
  }
  if (maxToSeq !== null) {
    binds.push(maxToSeq);
    where.push(`to_seq <= ?${binds.length}`);
  }
  binds.push(limit);
  const { results } = await db
    .prepare(
      `SELECT * FROM ${table.name} WHERE ${where.join(' AND ')} ORDER BY ${table.key.join(', ')} LIMIT ?${binds.length}`,
    )
    .bind(...binds)
    .all<Record<string, unknown>>();
  return results;
}
