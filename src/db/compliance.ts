/**
 * Compliance facts kept on write by the triggers of migration 0020 (change_compliance, one row per
 * change; compliance_daily, counts per tenant and UTC day of creation). A report reads the day
 * counts of its whole days, the rows of its partial edge days, the unreviewed emergency changes
 * of its period, and at most `limit` findings per check: never every change of the period.
 */

export interface ComplianceCounts {
  changes: number;
  sox1: number;
  sox2: number;
  pci: number;
}

/** A period split at midnight UTC: whole days read from the day counts, edges from the rows. */
export interface CompliancePeriod {
  from: string;
  to: string;
  /** [fromDay, toDay) as YYYY-MM-DD, both null when the period holds no whole day. */
  fromDay: string | null;
  toDay: string | null;
}

export interface Sox1Row {
  change_id: string;
  requester_id: string;
}
export interface Sox2Row {
  change_id: string;
  sox2: number;
  approved_at: string | null;
  implemented_at: string | null;
}
export interface PciRow {
  change_id: string;
  pci_gaps: number;
  affected_services: string;
}
export interface ReviewRow {
  change_id: string;
  review_due_at: string;
}

export interface ComplianceFacts {
  counts: ComplianceCounts;
  overdueReviews: number;
  sox1: Sox1Row[];
  sox2: Sox2Row[];
  pci: PciRow[];
  overdue: ReviewRow[];
}

type CountRow = { changes: number | null; sox1: number | null; sox2: number | null; pci: number | null };

const PERIOD = 'cc.tenant_id = ?1 AND cc.created_at >= ?2 AND cc.created_at < ?3';
const PAGE = 'ORDER BY cc.created_at, cc.change_id LIMIT ?4';

/** One batch (one round trip, one snapshot) of bounded reads. */
export async function complianceFacts(
  db: D1Database,
  tenantId: string,
  period: CompliancePeriod,
  now: string,
  limit: number,
): Promise<ComplianceFacts> {
  const { from, to } = period;
  // Edges: [from, fromDay) and [toDay, to); with no whole day, the whole period is one edge.
  const edges: [string, string][] =
    period.fromDay === null || period.toDay === null
      ? [[from, to]]
      : [
          [from, `${period.fromDay}T00:00:00.000Z`],
          [`${period.toDay}T00:00:00.000Z`, to],
        ];
  const edgeCount = (range: [string, string]) =>
    db
      .prepare(
        `SELECT COUNT(*) AS changes, SUM(sox1) AS sox1, SUM(sox2 <> 0) AS sox2,
                SUM(touches_pci = 1 AND pci_gaps <> 0) AS pci
         FROM change_compliance cc WHERE ${PERIOD}`,
      )
      .bind(tenantId, range[0], range[1]);
  const statements = [
    db
      .prepare(
        `SELECT SUM(changes) AS changes, SUM(sox1) AS sox1, SUM(sox2) AS sox2, SUM(pci) AS pci
         FROM compliance_daily WHERE tenant_id = ?1 AND day >= ?2 AND day < ?3`,
      )
      .bind(tenantId, period.fromDay ?? '', period.toDay ?? ''),
    ...edges.map(edgeCount),
    db
      .prepare(
        `SELECT COUNT(*) AS n FROM change_compliance cc
         WHERE ${PERIOD} AND cc.review_pending_due IS NOT NULL
           AND julianday(cc.review_pending_due) < julianday(?4)`,
      )
      .bind(tenantId, from, to, now),
    db
      .prepare(
        `SELECT cc.change_id, c.requester_id FROM change_compliance cc JOIN change_requests c ON c.id = cc.change_id
         WHERE ${PERIOD} AND cc.sox1 = 1 ${PAGE}`,
      )
      .bind(tenantId, from, to, limit),
    db
      .prepare(
        `SELECT cc.change_id, cc.sox2, c.approved_at, c.implemented_at
         FROM change_compliance cc JOIN change_requests c ON c.id = cc.change_id
         WHERE ${PERIOD} AND cc.sox2 <> 0 ${PAGE}`,
      )
      .bind(tenantId, from, to, limit),
    db
      .prepare(
        `SELECT cc.change_id, cc.pci_gaps, c.affected_services
         FROM change_compliance cc JOIN change_requests c ON c.id = cc.change_id
         WHERE ${PERIOD} AND cc.touches_pci = 1 AND cc.pci_gaps <> 0 ${PAGE}`,
      )
      .bind(tenantId, from, to, limit),
    db
      .prepare(
        `SELECT cc.change_id, cc.review_pending_due AS review_due_at FROM change_compliance cc
         WHERE ${PERIOD} AND cc.review_pending_due IS NOT NULL
           AND julianday(cc.review_pending_due) < julianday(?5) ${PAGE}`,
      )
      .bind(tenantId, from, to, limit, now),
  ];
  const results = await db.batch(statements);
  const countRows = results.slice(0, 1 + edges.length).map((r) => (r.results[0] ?? {}) as CountRow);
  const counts: ComplianceCounts = { changes: 0, sox1: 0, sox2: 0, pci: 0 };
  for (const row of countRows) {
    counts.changes += row.changes ?? 0;
    counts.sox1 += row.sox1 ?? 0;
    counts.sox2 += row.sox2 ?? 0;
    counts.pci += row.pci ?? 0;
  }
  const rest = results.slice(1 + edges.length);
  const rows = <T>(i: number) => (rest[i]?.results ?? []) as T[];
  return {
    counts,
    overdueReviews: rows<{ n: number }>(0)[0]?.n ?? 0,
    sox1: rows<Sox1Row>(1),
    sox2: rows<Sox2Row>(2),
    pci: rows<PciRow>(3),
    overdue: rows<ReviewRow>(4),
  };
}
