import type { FreezeWindowRecord } from '../domain/types';
import { type FreezeWindowRow, freezeWindowFromRow } from './changeRows';

const COLUMNS = 'id, tenant_id, name, reason, starts_at, ends_at, created_by, created_at';

/** Windows that overlap [from, to); either bound may be open. */
export async function listFreezeWindows(
  db: D1Database,
  tenantId: string,
  from: string | null,
  to: string | null,
): Promise<FreezeWindowRecord[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM freeze_windows
       WHERE tenant_id = ?1 AND (?2 IS NULL OR ends_at > ?2) AND (?3 IS NULL OR starts_at < ?3)
       ORDER BY starts_at, id`,
    )
    .bind(tenantId, from, to)
    .all<FreezeWindowRow>();
  return results.map(freezeWindowFromRow);
}

export async function getFreezeWindow(db: D1Database, tenantId: string, id: string) {
  const row = await db
    .prepare(`SELECT ${COLUMNS} FROM freeze_windows WHERE tenant_id = ?1 AND id = ?2`)
    .bind(tenantId, id)
    .first<FreezeWindowRow>();
  return row ? freezeWindowFromRow(row) : null;
}

export function insertFreezeWindowStatement(db: D1Database, w: FreezeWindowRecord): D1PreparedStatement {
  return db
    .prepare(`INSERT INTO freeze_windows (${COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`)
    .bind(w.id, w.tenantId, w.name, w.reason, w.startsAt, w.endsAt, w.createdBy, w.createdAt);
}

export function deleteFreezeWindowStatement(
  db: D1Database,
  tenantId: string,
  id: string,
): D1PreparedStatement {
  return db.prepare('DELETE FROM freeze_windows WHERE tenant_id = ?1 AND id = ?2').bind(tenantId, id);
}
