import type { ChangeRecord, ChangeStatus, ChangeType, RiskLevel } from '../domain/types';
import { CHANGE_COLUMNS, type ChangeRow, changeFromRow, changeToRow } from './changeRows';

const SELECT = `SELECT ${CHANGE_COLUMNS.join(', ')} FROM change_requests`;
const INSERT = `INSERT INTO change_requests (${CHANGE_COLUMNS.join(', ')}) VALUES (${CHANGE_COLUMNS.map(
  (_, i) => `?${i + 1}`,
).join(', ')})`;
const UPDATABLE = CHANGE_COLUMNS.filter((c) => c !== 'id' && c !== 'tenant_id' && c !== 'created_at');
// The version guard trigger aborts the batch unless version moves from N to N + 1.
const UPDATE = `UPDATE change_requests SET ${UPDATABLE.map((c, i) => `${c} = ?${i + 3}`).join(', ')}
  WHERE id = ?1 AND tenant_id = ?2`;

export async function getChange(db: D1Database, tenantId: string, id: string): Promise<ChangeRecord | null> {
  const row = await db
    .prepare(`${SELECT} WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<ChangeRow>();
  return row ? changeFromRow(row) : null;
}

/**
 * Changes by id for a DataLoader: one statement whatever the number of ids. `+tenant_id` keeps
 * SQLite from walking the tenant's whole range of a tenant index (with a Bloom filter of the ids)
 * instead of looking each id up by its primary key: without table statistics it picks that walk,
 * which costs in proportion to the tenant's changes (bench/curves.mjs measured it).
 */
export async function getChangesByIds(db: D1Database, tenantId: string, ids: readonly string[]) {
  const { results } = await db
    .prepare(`${SELECT} WHERE id IN (SELECT value FROM json_each(?2)) AND +tenant_id = ?1`)
    .bind(tenantId, JSON.stringify(ids))
    .all<ChangeRow>();
  return results.map(changeFromRow);
}

export interface ChangeFilter {
  status?: ChangeStatus[] | null;
  type?: ChangeType[] | null;
  riskLevel?: RiskLevel[] | null;
  service?: string | null;
  requesterId?: string | null;
  search?: string | null;
}

export interface ChangeCursor {
  createdAt: string;
  id: string;
}

function where(tenantId: string, f: ChangeFilter, cursor: ChangeCursor | null) {
  const clauses = ['tenant_id = ?'];
  const params: unknown[] = [tenantId];
  const inList = (column: string, values: readonly string[] | null | undefined) => {
    if (!values?.length) return;
    clauses.push(`${column} IN (SELECT value FROM json_each(?))`);
    params.push(JSON.stringify(values));
  };
  inList('status', f.status);
  inList('type', f.type);
  inList('risk_level', f.riskLevel);
  if (f.requesterId) {
    clauses.push('requester_id = ?');
    params.push(f.requesterId);
  }
  if (f.service) {
    // Per row of the newest-first walk, one primary-key probe: the page stops after `limit`
    // matches. (An IN list of the service's changes is built whole first, however many it has.)
    clauses.push(
      'EXISTS (SELECT 1 FROM change_services cs WHERE cs.change_id = change_requests.id AND cs.service = ? AND cs.tenant_id = ?)',
    );
    params.push(f.service, tenantId);
  }
  if (f.search) {
    clauses.push("(title LIKE ? ESCAPE '\\' OR description LIKE ? ESCAPE '\\')");
    const like = `%${f.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    params.push(like, like);
  }
  if (cursor) {
    // A row value: SQLite seeks the index to the cursor. The same test spelt with OR walks the
    // index from the newest change down to the cursor, so a deep page cost its depth.
    clauses.push('(created_at, id) < (?, ?)');
    params.push(cursor.createdAt, cursor.id);
  }
  return { sql: clauses.join(' AND '), params };
}

/** Newest first, keyset-paginated; fetches `limit` rows (callers ask one more to know if a page follows). */
export async function listChanges(
  db: D1Database,
  tenantId: string,
  filter: ChangeFilter,
  limit: number,
  cursor: ChangeCursor | null,
): Promise<ChangeRecord[]> {
  const w = where(tenantId, filter, cursor);
  const { results } = await db
    .prepare(`${SELECT} WHERE ${w.sql} ORDER BY created_at DESC, id DESC LIMIT ?`)
    .bind(...w.params, limit)
    .all<ChangeRow>();
  return results.map(changeFromRow);
}

export async function countChanges(db: D1Database, tenantId: string, filter: ChangeFilter): Promise<number> {
  const w = where(tenantId, filter, null);
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM change_requests WHERE ${w.sql}`)
    .bind(...w.params)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

function serviceStatements(db: D1Database, change: ChangeRecord): D1PreparedStatement[] {
  return [
    db.prepare('DELETE FROM change_services WHERE change_id = ?1').bind(change.id),
    db
      .prepare(
        `INSERT INTO change_services (tenant_id, change_id, service)
         SELECT ?1, ?2, value FROM json_each(?3)`,
      )
      .bind(change.tenantId, change.id, JSON.stringify(change.affectedServices)),
    db
      .prepare(
        `INSERT OR IGNORE INTO services (tenant_id, name, created_at)
         SELECT ?1, value, ?2 FROM json_each(?3)`,
      )
      .bind(change.tenantId, change.updatedAt, JSON.stringify(change.affectedServices)),
  ];
}

export function insertChangeStatements(db: D1Database, change: ChangeRecord): D1PreparedStatement[] {
  const row = changeToRow(change);
  return [
    db.prepare(INSERT).bind(...CHANGE_COLUMNS.map((c) => row[c])),
    ...serviceStatements(db, change).slice(1),
  ];
}

/** Writes the whole row; `next.version` must be the stored version + 1 or the batch aborts. */
export function updateChangeStatements(
  db: D1Database,
  prev: ChangeRecord,
  next: ChangeRecord,
): D1PreparedStatement[] {
  const row = changeToRow(next);
  const update = db.prepare(UPDATE).bind(next.id, next.tenantId, ...UPDATABLE.map((c) => row[c]));
  const servicesChanged = JSON.stringify(prev.affectedServices) !== JSON.stringify(next.affectedServices);
  return servicesChanged ? [update, ...serviceStatements(db, next)] : [update];
}

/** Past outcomes of finished changes per service, for the risk score. */
export async function serviceHistory(
  db: D1Database,
  tenantId: string,
  services: readonly string[],
  excludeChangeId: string,
): Promise<Record<string, { total: number; failed: number }>> {
  if (services.length === 0) return {};
  const { results } = await db
    .prepare(
      `SELECT cs.service AS service, COUNT(*) AS total,
              SUM(CASE WHEN c.status IN ('FAILED', 'ROLLED_BACK') THEN 1 ELSE 0 END) AS failed
       FROM change_services cs JOIN change_requests c ON c.id = cs.change_id
       WHERE cs.tenant_id = ?1 AND cs.service IN (SELECT value FROM json_each(?2))
         AND c.status IN ('COMPLETED', 'FAILED', 'ROLLED_BACK') AND c.id <> ?3
       GROUP BY cs.service`,
    )
    .bind(tenantId, JSON.stringify(services), excludeChangeId)
    .all<{ service: string; total: number; failed: number }>();
  return Object.fromEntries(results.map((r) => [r.service, { total: r.total, failed: r.failed }]));
}

/** Scheduled or in-flight changes sharing a service whose window overlaps [start, end). */
export async function overlappingScheduled(
  db: D1Database,
  tenantId: string,
  services: readonly string[],
  start: string,
  end: string,
  excludeChangeId: string,
): Promise<ChangeRecord[]> {
  if (services.length === 0) return [];
  const { results } = await db
    .prepare(
      `${SELECT} WHERE tenant_id = ?1 AND status IN ('SCHEDULED', 'IMPLEMENTING') AND id <> ?2
         AND planned_start < ?4 AND planned_end > ?3
         AND id IN (SELECT change_id FROM change_services
                    WHERE tenant_id = ?1 AND service IN (SELECT value FROM json_each(?5)))`,
    )
    .bind(tenantId, excludeChangeId, start, end, JSON.stringify(services))
    .all<ChangeRow>();
  return results.map(changeFromRow);
}

/** Up to `limit` changes created in [from, to), oldest first, for the compliance report. */
export async function changesCreatedBetween(
  db: D1Database,
  tenantId: string,
  from: string,
  to: string,
  limit: number,
) {
  const { results } = await db
    .prepare(
      `${SELECT} WHERE tenant_id = ?1 AND created_at >= ?2 AND created_at < ?3 ORDER BY created_at LIMIT ?4`,
    )
    .bind(tenantId, from, to, limit)
    .all<ChangeRow>();
  return results.map(changeFromRow);
}
