import type { AuditDigestSettings } from '../config';
import { auditEventsFrom, auditHead } from '../db/audit';
import { isUniqueViolation } from '../db/errors';
import { newId } from '../db/ids';
import {
  insertTenantExportStatement,
  recordTenantExportStep,
  runningTenantExport,
  runningTenantExports,
  type TenantExportRecord,
  type TenantExportTrigger,
  tenantExportById,
  tenantsDueForExport,
  tenantTablePage,
} from '../db/tenantExports';
import {
  buildManifest,
  EXPORT_PAGE_ROWS,
  EXPORTED_TABLES,
  type ExportDigest,
  exportPrefix,
  gzip,
  partKey,
  sha256Hex,
  toNdjson,
} from '../domain/tenantExport';
import { AppError } from '../errors';
import { digestTenant } from './auditDigests';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';
import type { AuditArchive } from './ports/auditArchive';

/**
 * Per-tenant exports to the archive (issue 15 item 5). An export is a row of tenant_exports and
 * advances in steps: each reads at most EXPORT_PAGE_ROWS rows of one table, writes them as one
 * gzip NDJSON file and records where it stopped, so a tenant of any size exports across
 * invocations (the on-demand mutation runs a few steps, the cron continues). The manifest, written
 * by the last step, lists every file with its rows and SHA-256, the audit head and the digests.
 */

/** Steps an on-demand request runs before answering (the cron continues the rest): enough for a small
 * tenant, every exported table one step, to be exported in one request. */
export const ON_DEMAND_STEPS = 40;
/** Steps the cron runs per running export, and exports it advances, per minute. */
export const CRON_STEPS = 10;
const CRON_EXPORTS = 10;
/** Scheduled exports started per hourly run (the others start at the next hour). */
const CRON_STARTS = 20;
/** An export still running after this long has failed: a new one may start. */
export const EXPORT_GIVE_UP_MS = 24 * 3600_000;

export interface ExportDeps {
  db: D1Database;
  archive: AuditArchive | null;
  /** Digests: the export anchors its chain with one first, when they are configured. */
  digests: AuditDigestSettings;
  now: () => Date;
  /** Rows per step and file; EXPORT_PAGE_ROWS unless a test wants more steps. */
  pageRows?: number;
}

function archiveOf(deps: ExportDeps): AuditArchive {
  if (!deps.archive) {
    throw new AppError(
      'TENANT_EXPORT_NOT_CONFIGURED',
      'Tenant exports need an archive: the R2 bucket AUDIT_ARCHIVE (AUDIT_ARCHIVE_DIR on Node)',
    );
  }
  return deps.archive;
}

function newExport(deps: ExportDeps, tenantId: string, trigger: TenantExportTrigger, by: string | null) {
  const id = newId('exp');
  const at = deps.now().toISOString();
  const record: TenantExportRecord = {
    id,
    tenantId,
    status: 'RUNNING',
    trigger,
    requestedBy: by,
    prefix: exportPrefix(tenantId, id),
    tableIndex: 0,
    cursor: null,
    auditHead: null,
    files: [],
    digests: [],
    version: 0,
    error: null,
    createdAt: at,
    updatedAt: at,
    completedAt: null,
  };
  return { record, statement: insertTenantExportStatement(deps.db, record) };
}

/** The audit head the export stops at, after a digest anchored as much of it as one digest may. */
async function anchoredHead(deps: ExportDeps, tenantId: string) {
  const { digests, archive } = deps;
  if (digests.enabled && digests.signingKey && archive) {
    // A broken chain is still worth backing up: the restore's verification reports it.
    await digestTenant({ db: deps.db, archive, settings: digests, now: deps.now }, tenantId).catch(
      () => null,
    );
  }
  return auditHead(deps.db, tenantId);
}

const digestOf = (d: Record<string, unknown>): ExportDigest => ({
  fromSeq: d.from_seq as number,
  toSeq: d.to_seq as number,
  headHash: d.head_hash as string,
  digestHash: d.digest_hash as string,
});

/** The next page of the current table, and the key to resume after it. */
async function readPage(deps: ExportDeps, e: TenantExportRecord, limit: number) {
  const table = EXPORTED_TABLES[e.tableIndex] as (typeof EXPORTED_TABLES)[number];
  if (table.name === 'audit_events') {
    const fromSeq = ((e.cursor?.[0] as number | undefined) ?? 0) + 1;
    const rows = e.auditHead
      ? await auditEventsFrom(deps.db, e.tenantId, fromSeq, e.auditHead.seq, limit)
      : [];
    return { table, rows, last: rows.length ? [rows[rows.length - 1]?.seq] : null };
  }
  const maxToSeq = table.name === 'audit_digests' ? (e.auditHead?.seq ?? 0) : null;
  const rows = await tenantTablePage(deps.db, table, e.tenantId, e.cursor, limit, maxToSeq);
  const lastRow = rows[rows.length - 1];
  return { table, rows, last: lastRow ? table.key.map((k) => lastRow[k]) : null };
}

async function writeManifest(deps: ExportDeps, e: TenantExportRecord, archive: AuditArchive) {
  const manifest = buildManifest(
    {
      tenant: e.tenantId,
      exportId: e.id,
      trigger: e.trigger,
      createdAt: e.createdAt,
      // When the last page was recorded, not the clock: a step retried (or raced) from the same
      // record writes the same bytes, which the write-once archive takes as the same object.
      completedAt: e.updatedAt,
      auditHead: e.auditHead,
      digests: e.digests,
      publicKeys: deps.digests.keySet,
    },
    e.files,
  );
  await archive.put(`${e.prefix}manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest.completedAt;
}

/**
 * One bounded step of a running export; answers the export as it stands after it (another
 * runner's step when this one lost the race to record).
 */
export async function stepTenantExport(deps: ExportDeps, e: TenantExportRecord): Promise<TenantExportRecord> {
  const archive = archiveOf(deps);
  const now = deps.now();
  const next: TenantExportRecord = { ...e, updatedAt: now.toISOString() };
  if (now.getTime() - Date.parse(e.createdAt) > EXPORT_GIVE_UP_MS) {
    Object.assign(next, { status: 'FAILED', error: 'did not finish within 24 hours' });
  } else if (e.tableIndex >= EXPORTED_TABLES.length) {
    Object.assign(next, { status: 'COMPLETE', completedAt: await writeManifest(deps, e, archive) });
  } else if (EXPORTED_TABLES[e.tableIndex]?.name === 'audit_events' && e.cursor === null && !e.auditHead) {
    // Reaching the chain: every row state exported so far has its event at or before this head.
    const head = await anchoredHead(deps, e.tenantId);
    if (!head) next.tableIndex += 1;
    next.auditHead = head ? { seq: head.seq, hash: head.hash } : null;
  } else {
    const limit = deps.pageRows ?? EXPORT_PAGE_ROWS;
    const { table, rows, last } = await readPage(deps, e, limit);
    if (rows.length) {
      const bytes = await gzip(toNdjson(rows));
      const part = e.files.filter((f) => f.table === table.name).length + 1;
      // The nonce keeps a runner that loses the race from overwriting the winner's file.
      const key = partKey(table.name, part, crypto.randomUUID().slice(0, 8));
      await archive.put(`${e.prefix}${key}`, bytes);
      next.files = [
        ...e.files,
        { table: table.name, key, rows: rows.length, sha256: await sha256Hex(bytes) },
      ];
      if (table.name === 'audit_digests')
        next.digests = [...e.digests, ...(rows as Record<string, unknown>[]).map(digestOf)];
    }
    const done = rows.length < limit;
    next.tableIndex = done ? e.tableIndex + 1 : e.tableIndex;
    next.cursor = done ? null : last;
  }
  if (await recordTenantExportStep(deps.db, next, e.version)) return { ...next, version: e.version + 1 };
  return (await tenantExportById(deps.db, e.id)) ?? next;
}

/** Up to `steps` steps of the export, fewer once it is no longer running. */
export async function runTenantExport(deps: ExportDeps, e: TenantExportRecord, steps: number) {
  let current = e;
  for (let i = 0; i < steps && current.status === 'RUNNING' && current.id === e.id; i++) {
    current = await stepTenantExport(deps, current);
  }
  return current;
}

/**
 * An admin's export of their tenant, now: starts one (or continues the one running), audited, and
 * runs up to ON_DEMAND_STEPS steps; the cron finishes a bigger one. Call again to follow it.
 */
export async function exportTenant(ctx: AuthedContext): Promise<TenantExportRecord> {
  const deps: ExportDeps = {
    db: ctx.db,
    archive: ctx.auditArchive,
    digests: ctx.auditDigestSettings,
    now: ctx.now,
  };
  archiveOf(deps);
  const tenantId = ctx.principal.tenantId;
  const running = await runningTenantExport(ctx.db, tenantId);
  const fresh = running ? null : newExport(deps, tenantId, 'ON_DEMAND', ctx.principal.id);
  const id = running?.id ?? fresh?.record.id ?? '';
  try {
    await commitWithAudit(ctx, async () => ({
      statements: fresh ? [fresh.statement] : [],
      audit: [
        {
          action: running ? 'tenant_export.continued' : 'tenant_export.requested',
          targetType: 'TenantExport',
          targetId: id,
          before: null,
          after: null,
        },
      ],
      result: null,
    }));
  } catch (e) {
    if (!isUniqueViolation(e, 'tenant_exports')) throw e;
    // Another request started one first: this one follows it.
    return exportTenant(ctx);
  }
  const current = running ?? (fresh as NonNullable<typeof fresh>).record;
  return runTenantExport(deps, current, ON_DEMAND_STEPS);
}

export interface ExportRunReport {
  advanced: { tenant: string; id: string; status: string }[];
  started: string[];
  failed: { tenant: string; error: string }[];
}

/**
 * The cron's part: continues running exports, and once an hour (minute 30) starts one for each
 * tenant whose last export started `intervalHours` ago or more (never with 0).
 */
export async function runScheduledExports(deps: ExportDeps, at: Date, intervalHours: number) {
  const report: ExportRunReport = { advanced: [], started: [], failed: [] };
  const attempt = async (tenant: string, work: () => Promise<TenantExportRecord | null>) => {
    try {
      const e = await work();
      if (e) report.advanced.push({ tenant, id: e.id, status: e.status });
    } catch (error) {
      report.failed.push({ tenant, error: error instanceof Error ? error.message : String(error) });
    }
  };
  for (const e of await runningTenantExports(deps.db, CRON_EXPORTS)) {
    await attempt(e.tenantId, () => runTenantExport(deps, e, CRON_STEPS));
  }
  if (intervalHours <= 0 || at.getUTCMinutes() !== 30 || !deps.archive) return report;
  const dueBefore = at.getTime() - intervalHours * 3600_000 + 60_000;
  const due = await tenantsDueForExport(deps.db, new Date(dueBefore).toISOString(), CRON_STARTS);
  for (const tenant of due) {
    await attempt(tenant, async () => {
      const { record, statement } = newExport(deps, tenant, 'SCHEDULED', null);
      try {
        await statement.run();
      } catch (e) {
        if (isUniqueViolation(e, 'tenant_exports')) return null;
        throw e;
      }
      report.started.push(tenant);
      return runTenantExport(deps, record, CRON_STEPS);
    });
  }
  return report;
}
