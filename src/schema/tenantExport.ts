import type { TenantExportRecord } from '../db/tenantExports';
import { EXPORTED_TABLES } from '../domain/tenantExport';
import { exportTenant } from '../usecases/tenantExports';
import { builder } from './builder';

const TenantExportStatusEnum = builder.enumType('TenantExportStatus', {
  values: {
    RUNNING: { description: 'Still exporting: call exportTenant again, or let the cron finish it.' },
    COMPLETE: { description: 'Every table and the manifest are in the archive.' },
    FAILED: { description: 'It did not finish within 24 hours; the next export starts afresh.' },
  } as const,
});

const TenantExportRef = builder.objectRef<TenantExportRecord>('TenantExport').implement({
  description:
    'A backup of the tenant: NDJSON per table, gzip, with a manifest of counts, SHA-256 and the audit digests, in the archive (R2 AUDIT_ARCHIVE) under `prefix`. Restore with `npm run restore`.',
  fields: (t) => ({
    id: t.exposeID('id'),
    status: t.field({ type: TenantExportStatusEnum, resolve: (e) => e.status }),
    prefix: t.exposeString('prefix', {
      description: 'Its directory in the archive; manifest.json is written last.',
    }),
    tablesDone: t.int({
      description: `Tables written so far, of ${EXPORTED_TABLES.length}.`,
      resolve: (e) => Math.min(e.tableIndex, EXPORTED_TABLES.length),
    }),
    rows: t.int({
      description: 'Rows written so far.',
      resolve: (e) => e.files.reduce((n, f) => n + f.rows, 0),
    }),
    auditHeadSeq: t.int({
      nullable: true,
      description: 'The last audit event it holds, once it reached the chain.',
      resolve: (e) => e.auditHead?.seq ?? null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.mutationFields((t) => ({
  exportTenant: t.withAuth({ admin: true }).field({
    type: TenantExportRef,
    description:
      'Backs up the tenant to the archive now (audited): starts an export, or continues the running one, for a bounded number of rows; the cron finishes a bigger one.',
    resolve: (_r, _a, ctx) => exportTenant(ctx),
  }),
}));
