import type { Level, RiskLevel } from '../domain/types';

/** Standard-change templates and their saved versions. */

export type TemplateStatus = 'ACTIVE' | 'RETIRED';

export interface StandardChangeTemplateRecord {
  id: string;
  tenantId: string;
  name: string;
  titlePattern: string;
  titleVariables: string[];
  description: string;
  affectedServices: string[];
  impact: Level;
  urgency: Level;
  implementationPlan: string;
  backoutPlan: string;
  testPlan: string;
  riskLevel: RiskLevel;
  runbookWorkflowId: string | null;
  runbookInputs: Record<string, unknown> | null;
  status: TemplateStatus;
  version: number;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  retiredAt: string | null;
}

interface TemplateRow {
  id: string;
  tenant_id: string;
  name: string;
  title_pattern: string;
  title_variables: string;
  description: string;
  affected_services: string;
  impact: string;
  urgency: string;
  implementation_plan: string;
  backout_plan: string;
  test_plan: string;
  risk_level: string;
  runbook_workflow_id: string | null;
  runbook_inputs: string | null;
  status: string;
  version: number;
  created_by: string;
  created_at: string;
  updated_by: string;
  updated_at: string;
  retired_at: string | null;
}

const COLUMNS = [
  'id',
  'tenant_id',
  'name',
  'title_pattern',
  'title_variables',
  'description',
  'affected_services',
  'impact',
  'urgency',
  'implementation_plan',
  'backout_plan',
  'test_plan',
  'risk_level',
  'runbook_workflow_id',
  'runbook_inputs',
  'status',
  'version',
  'created_by',
  'created_at',
  'updated_by',
  'updated_at',
  'retired_at',
] as const satisfies readonly (keyof TemplateRow)[];

const SELECT = `SELECT ${COLUMNS.join(', ')} FROM standard_change_templates`;
const UPDATABLE = COLUMNS.filter(
  (c) => c !== 'id' && c !== 'tenant_id' && c !== 'created_at' && c !== 'created_by',
);

const fromRow = (r: TemplateRow): StandardChangeTemplateRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  titlePattern: r.title_pattern,
  titleVariables: JSON.parse(r.title_variables) as string[],
  description: r.description,
  affectedServices: JSON.parse(r.affected_services) as string[],
  impact: r.impact as Level,
  urgency: r.urgency as Level,
  implementationPlan: r.implementation_plan,
  backoutPlan: r.backout_plan,
  testPlan: r.test_plan,
  riskLevel: r.risk_level as RiskLevel,
  runbookWorkflowId: r.runbook_workflow_id,
  runbookInputs: r.runbook_inputs === null ? null : (JSON.parse(r.runbook_inputs) as Record<string, unknown>),
  status: r.status as TemplateStatus,
  version: r.version,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedBy: r.updated_by,
  updatedAt: r.updated_at,
  retiredAt: r.retired_at,
});

const toRow = (t: StandardChangeTemplateRecord): TemplateRow => ({
  id: t.id,
  tenant_id: t.tenantId,
  name: t.name,
  title_pattern: t.titlePattern,
  title_variables: JSON.stringify(t.titleVariables),
  description: t.description,
  affected_services: JSON.stringify(t.affectedServices),
  impact: t.impact,
  urgency: t.urgency,
  implementation_plan: t.implementationPlan,
  backout_plan: t.backoutPlan,
  test_plan: t.testPlan,
  risk_level: t.riskLevel,
  runbook_workflow_id: t.runbookWorkflowId,
  runbook_inputs: t.runbookInputs === null ? null : JSON.stringify(t.runbookInputs),
  status: t.status,
  version: t.version,
  created_by: t.createdBy,
  created_at: t.createdAt,
  updated_by: t.updatedBy,
  updated_at: t.updatedAt,
  retired_at: t.retiredAt,
});

export async function getTemplate(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<StandardChangeTemplateRecord | null> {
  const row = await db
    .prepare(`${SELECT} WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<TemplateRow>();
  return row ? fromRow(row) : null;
}

/** One saved version, as it was when saved. */
export async function getTemplateVersion(
  db: D1Database,
  tenantId: string,
  id: string,
  version: number,
): Promise<StandardChangeTemplateRecord | null> {
  const row = await db
    .prepare(
      `SELECT snapshot FROM standard_change_template_versions
       WHERE tenant_id = ?1 AND template_id = ?2 AND version = ?3`,
    )
    .bind(tenantId, id, version)
    .first<{ snapshot: string }>();
  return row ? (JSON.parse(row.snapshot) as StandardChangeTemplateRecord) : null;
}

/** Every saved version, newest first. */
export async function listTemplateVersions(
  db: D1Database,
  tenantId: string,
  id: string,
): Promise<StandardChangeTemplateRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT snapshot FROM standard_change_template_versions
       WHERE tenant_id = ?1 AND template_id = ?2 ORDER BY version DESC`,
    )
    .bind(tenantId, id)
    .all<{ snapshot: string }>();
  return results.map((r) => JSON.parse(r.snapshot) as StandardChangeTemplateRecord);
}

/** Newest first; RETIRED ones only when asked for. At most `limit`. */
export async function listTemplates(
  db: D1Database,
  tenantId: string,
  includeRetired: boolean,
  limit: number,
): Promise<StandardChangeTemplateRecord[]> {
  const { results } = await db
    .prepare(
      `${SELECT} WHERE tenant_id = ?1 AND (?2 = 1 OR status = 'ACTIVE')
       ORDER BY created_at DESC, id DESC LIMIT ?3`,
    )
    .bind(tenantId, includeRetired ? 1 : 0, limit)
    .all<TemplateRow>();
  return results.map(fromRow);
}

function versionStatement(db: D1Database, t: StandardChangeTemplateRecord): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO standard_change_template_versions
       (tenant_id, template_id, version, snapshot, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
    )
    .bind(t.tenantId, t.id, t.version, JSON.stringify(t), t.updatedBy, t.updatedAt);
}

export function insertTemplateStatements(
  db: D1Database,
  t: StandardChangeTemplateRecord,
): D1PreparedStatement[] {
  const row = toRow(t);
  return [
    db
      .prepare(
        `INSERT INTO standard_change_templates (${COLUMNS.join(', ')})
         VALUES (${COLUMNS.map((_, i) => `?${i + 1}`).join(', ')})`,
      )
      .bind(...COLUMNS.map((c) => row[c])),
    versionStatement(db, t),
  ];
}

/** Writes the whole row and saves the version; `next.version` must be the stored one + 1 or the batch aborts. */
export function updateTemplateStatements(
  db: D1Database,
  next: StandardChangeTemplateRecord,
): D1PreparedStatement[] {
  const row = toRow(next);
  return [
    db
      .prepare(
        `UPDATE standard_change_templates SET ${UPDATABLE.map((c, i) => `${c} = ?${i + 3}`).join(', ')}
         WHERE id = ?1 AND tenant_id = ?2`,
      )
      .bind(next.id, next.tenantId, ...UPDATABLE.map((c) => row[c])),
    versionStatement(db, next),
  ];
}
