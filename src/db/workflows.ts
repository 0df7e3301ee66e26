import type { WorkflowRecord, WorkflowStatus, WorkflowVersionRecord } from '../domain/types';

/** Workflow definitions and their saved versions. */

interface WorkflowRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  status: string;
  version: number;
  steps: string;
  triggers: string;
  created_by: string;
  created_at: string;
  updated_at: string;
}

interface WorkflowVersionRow {
  workflow_id: string;
  version: number;
  steps: string;
  triggers: string;
  created_by: string;
  created_at: string;
}

const COLUMNS =
  'id, tenant_id, name, description, status, version, steps, triggers, created_by, created_at, updated_at';
const VERSION_COLUMNS = 'workflow_id, version, steps, triggers, created_by, created_at';

const fromRow = (r: WorkflowRow): WorkflowRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  description: r.description,
  status: r.status as WorkflowStatus,
  version: r.version,
  steps: JSON.parse(r.steps),
  triggers: JSON.parse(r.triggers),
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const versionFromRow = (r: WorkflowVersionRow): WorkflowVersionRecord => ({
  workflowId: r.workflow_id,
  version: r.version,
  steps: JSON.parse(r.steps),
  triggers: JSON.parse(r.triggers),
  createdBy: r.created_by,
  createdAt: r.created_at,
});

export async function getWorkflow(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<WorkflowRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM workflows WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<WorkflowRow>();
  return row ? fromRow(row) : null;
}

/** The ACTIVE workflow of that name, if any (names are unique among active workflows). */
export async function activeWorkflowNamed(
  db: D1Database,
  tenantId: string,
  name: string,
): Promise<WorkflowRecord | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM workflows WHERE tenant_id = ?1 AND name = ?2 AND status = 'ACTIVE'`)
    .bind(tenantId, name)
    .first<WorkflowRow>();
  return row ? fromRow(row) : null;
}

export interface WorkflowFilter {
  status?: WorkflowStatus | null;
  nameContains?: string | null;
}

export interface WorkflowCursor {
  createdAt: string;
  id: string;
}

/** Newest first, keyset-paginated; fetches `limit` rows (callers ask one more to know if a page follows). */
export async function listWorkflows(
  db: D1Database,
  tenantId: string,
  filter: WorkflowFilter,
  limit: number,
  cursor: WorkflowCursor | null,
): Promise<WorkflowRecord[]> {
  const clauses = ['tenant_id = ?'];
  const params: unknown[] = [tenantId];
  if (filter.status) {
    clauses.push('status = ?');
    params.push(filter.status);
  }
  if (filter.nameContains) {
    clauses.push("name LIKE ? ESCAPE '\\'");
    params.push(`%${filter.nameContains.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (cursor) {
    // A row value: an index bound, so a deep page seeks to its cursor (docs/performance.md).
    clauses.push('(created_at, id) < (?, ?)');
    params.push(cursor.createdAt, cursor.id);
  }
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM workflows WHERE ${clauses.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`,
    )
    .bind(...params, limit)
    .all<WorkflowRow>();
  return results.map(fromRow);
}

/** Every saved version of a workflow, newest first. */
export async function listWorkflowVersions(
  db: D1Database,
  tenantId: string,
  workflowId: string,
): Promise<WorkflowVersionRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${VERSION_COLUMNS} FROM workflow_versions WHERE tenant_id = ?1 AND workflow_id = ?2
       ORDER BY version DESC`,
    )
    .bind(tenantId, workflowId)
    .all<WorkflowVersionRow>();
  return results.map(versionFromRow);
}

/** One saved version: what an execution pinned to that version runs. */
export async function getWorkflowVersion(
  db: D1Database,
  tenantId: string,
  workflowId: string,
  version: number,
): Promise<WorkflowVersionRecord | null> {
  const row = await db
    .prepare(
      `SELECT ${VERSION_COLUMNS} FROM workflow_versions WHERE tenant_id = ?1 AND workflow_id = ?2 AND version = ?3`,
    )
    .bind(tenantId, workflowId, version)
    .first<WorkflowVersionRow>();
  return row ? versionFromRow(row) : null;
}

function insertVersionStatement(db: D1Database, w: WorkflowRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO workflow_versions (tenant_id, ${VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    )
    .bind(
      w.tenantId,
      w.id,
      w.version,
      JSON.stringify(w.steps),
      JSON.stringify(w.triggers),
      w.createdBy,
      w.updatedAt,
    );
}

/** The workflow and its first saved version. */
export function insertWorkflowStatements(db: D1Database, w: WorkflowRecord): D1PreparedStatement[] {
  return [
    db
      .prepare(`INSERT INTO workflows (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`)
      .bind(
        w.id,
        w.tenantId,
        w.name,
        w.description,
        w.status,
        w.version,
        JSON.stringify(w.steps),
        JSON.stringify(w.triggers),
        w.createdBy,
        w.createdAt,
        w.updatedAt,
      ),
    insertVersionStatement(db, w),
  ];
}

/**
 * A new definition: the row moves to `next.version` (the version guard aborts the batch unless it
 * is the stored version + 1) and the version is saved beside the earlier ones. `updatedBy` is
 * recorded as the author of that version.
 */
export function updateWorkflowDefinitionStatements(
  db: D1Database,
  next: WorkflowRecord,
  updatedBy: string,
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `UPDATE workflows SET name = ?3, description = ?4, version = ?5, steps = ?6, triggers = ?7, updated_at = ?8
         WHERE tenant_id = ?1 AND id = ?2`,
      )
      .bind(
        next.tenantId,
        next.id,
        next.name,
        next.description,
        next.version,
        JSON.stringify(next.steps),
        JSON.stringify(next.triggers),
        next.updatedAt,
      ),
    insertVersionStatement(db, { ...next, createdBy: updatedBy }),
  ];
}

export function setWorkflowStatusStatement(
  db: D1Database,
  w: Pick<WorkflowRecord, 'tenantId' | 'id' | 'status' | 'updatedAt'>,
): D1PreparedStatement {
  return db
    .prepare('UPDATE workflows SET status = ?3, updated_at = ?4 WHERE tenant_id = ?1 AND id = ?2')
    .bind(w.tenantId, w.id, w.status, w.updatedAt);
}

/** The workflow and all its saved versions. */
export function deleteWorkflowStatements(
  db: D1Database,
  tenantId: string,
  id: string,
): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM workflow_versions WHERE tenant_id = ?1 AND workflow_id = ?2').bind(tenantId, id),
    db.prepare('DELETE FROM workflows WHERE tenant_id = ?1 AND id = ?2').bind(tenantId, id),
  ];
}
