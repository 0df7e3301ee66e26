import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { runningTenantExport, tenantExportById } from '../../src/db/tenantExports';
import {
  EXCLUDED_TABLES,
  EXPORTED_TABLES,
  type ExportManifest,
  gunzip,
  sha256Hex,
} from '../../src/domain/tenantExport';
import { r2Archive } from '../../src/runtime/worker/ports';
import { scheduledExports } from '../../src/runtime/worker/scheduled';
import { type ExportDeps, runScheduledExports, stepTenantExport } from '../../src/usecases/tenantExports';
import { token } from '../helpers/auth';
import { createChange } from '../helpers/changes';
import { countingD1 } from '../helpers/countingD1';
import { gql, gqlOk } from '../helpers/graphql';

const EXPORT = 'mutation { exportTenant { id status prefix tablesDone rows auditHeadSeq completedAt } }';
interface Exported {
  id: string;
  status: string;
  prefix: string;
  tablesDone: number;
  rows: number;
  auditHeadSeq: number | null;
}

const admin = (tenant: string) => token({ tenant, roles: ['admin'], sub: `admin-${tenant}` });
const deps = (over: Partial<ExportDeps> = {}): ExportDeps => ({
  db: env.DB,
  archive: r2Archive(env.AUDIT_ARCHIVE),
  digests: parseConfig(env).auditDigests,
  now: () => new Date(),
  ...over,
});

async function changes(tenant: string, n: number) {
  const tok = await token({ tenant, roles: ['requester'], sub: `rita-${tenant}` });
  for (let i = 0; i < n; i++) await createChange(tok, { title: `Change ${i} of ${tenant}` });
}

async function exportAs(tenant: string): Promise<Exported> {
  return (await gqlOk<{ exportTenant: Exported }>(EXPORT, {}, await admin(tenant))).exportTenant;
}

async function manifestOf(prefix: string): Promise<ExportManifest> {
  const object = await env.AUDIT_ARCHIVE.get(`${prefix}manifest.json`);
  expect(object, 'manifest.json').not.toBeNull();
  return (object as R2ObjectBody).json();
}

/** Every row of a table in the export, each file checked against the manifest first. */
async function exportedRows(prefix: string, manifest: ExportManifest, table: string) {
  const rows: Record<string, unknown>[] = [];
  for (const f of manifest.tables[table]?.files ?? []) {
    const bytes = new Uint8Array(
      await ((await env.AUDIT_ARCHIVE.get(`${prefix}${f.key}`)) as R2ObjectBody).arrayBuffer(),
    );
    expect(await sha256Hex(bytes)).toBe(f.sha256);
    const lines = (await gunzip(bytes)).trim().split('\n');
    expect(lines).toHaveLength(f.rows);
    rows.push(...lines.map((l) => JSON.parse(l)));
  }
  return rows;
}

describe('exportTenant', () => {
  it('backs up the tenant to R2: gzip NDJSON per table, a manifest of counts and hashes, audited', async () => {
    const tenant = 'export-a';
    await changes(tenant, 3);
    await changes('export-a-neighbour', 2);
    const done = await exportAs(tenant);
    expect(done).toMatchObject({ status: 'COMPLETE', tablesDone: EXPORTED_TABLES.length });
    expect(done.prefix).toBe(`exports/${tenant}/${done.id}/`);
    const manifest = await manifestOf(done.prefix);
    expect(manifest).toMatchObject({ tenant, exportId: done.id, trigger: 'ON_DEMAND' });
    expect(Object.keys(manifest.tables)).toEqual(EXPORTED_TABLES.map((t) => t.name));
    expect(manifest.excluded).toEqual(Object.keys(EXCLUDED_TABLES));

    const changesOut = await exportedRows(done.prefix, manifest, 'change_requests');
    const { results } = await env.DB.prepare('SELECT * FROM change_requests WHERE tenant_id = ? ORDER BY id')
      .bind(tenant)
      .all();
    expect(changesOut).toEqual(results);
    expect(manifest.tables.change_requests?.rows).toBe(3);

    // The chain, in audit:export's format, ends with the request for this export, anchored.
    const events = await exportedRows(done.prefix, manifest, 'audit_events');
    expect(events.every((e) => e.tenantId === tenant)).toBe(true);
    expect(events.at(-1)).toMatchObject({
      action: 'tenant_export.requested',
      targetId: done.id,
      seq: done.auditHeadSeq,
    });
    expect(manifest.auditHead).toEqual({ seq: done.auditHeadSeq, hash: events.at(-1)?.hash });
    expect(manifest.digests.at(-1)?.toSeq).toBe(done.auditHeadSeq);
    expect(await exportedRows(done.prefix, manifest, 'audit_digests')).toHaveLength(manifest.digests.length);
    expect(manifest.publicKeys.keys.length).toBeGreaterThan(0);
  });

  it('exports only the caller’s tenant, whatever another tenant holds', async () => {
    const tenant = 'export-b';
    await changes(tenant, 1);
    await changes('export-b-other', 4);
    const done = await exportAs(tenant);
    const manifest = await manifestOf(done.prefix);
    for (const { name } of EXPORTED_TABLES) {
      const rows = await exportedRows(done.prefix, manifest, name);
      const tenants = new Set(rows.map((r) => r.tenant_id ?? r.tenantId));
      expect(
        [...tenants].filter((t) => t !== tenant),
        name,
      ).toEqual([]);
    }
    const listed = await env.AUDIT_ARCHIVE.list({ prefix: 'exports/export-b-other/' });
    expect(listed.objects).toEqual([]);
  });

  it('is for admins only: a change manager or a viewer gets FORBIDDEN and nothing is exported', async () => {
    const tenant = 'export-auth';
    await changes(tenant, 1);
    for (const roles of [['change_manager'], ['viewer'], ['requester']] as const) {
      const r = await gql(EXPORT, {}, { token: await token({ tenant, roles: [...roles] }) });
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect((await gql(EXPORT, {})).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const { results } = await env.DB.prepare('SELECT id FROM tenant_exports WHERE tenant_id = ?')
      .bind(tenant)
      .all();
    expect(results).toEqual([]);
  });

  it('answers TENANT_EXPORT_NOT_CONFIGURED where no archive is bound, and the cron starts none', async () => {
    const tenant = 'export-no-archive';
    await changes(tenant, 1);
    const off = await runScheduledExports(deps({ archive: null }), new Date('2026-12-07T10:30:00Z'), 24);
    expect(off.started).toEqual([]);
    expect(await runningTenantExport(env.DB, tenant)).toBeNull();
    await runScheduledExports(deps(), new Date('2026-12-07T10:30:00Z'), 24);
    const e = await runningTenantExport(env.DB, tenant);
    expect(e).not.toBeNull();
    await expect(stepTenantExport(deps({ archive: null }), e as NonNullable<typeof e>)).rejects.toMatchObject(
      {
        code: 'TENANT_EXPORT_NOT_CONFIGURED',
      },
    );
  });
});

describe('a big tenant exports in bounded steps', () => {
  it('each step reads one page of one table and resumes after it; the files add up to the table', async () => {
    const tenant = 'export-steps';
    await changes(tenant, 7);
    const counting = countingD1(env.DB);
    const small = deps({ db: counting.db, pageRows: 3 });
    // Started by the cron (minute 30, never exported before), then stepped one at a time.
    await runScheduledExports({ ...small, db: env.DB }, new Date('2026-12-07T10:30:00Z'), 24);
    let e = await runningTenantExport(env.DB, tenant);
    expect(e?.trigger).toBe('SCHEDULED');
    let steps = 0;
    while (e && e.status === 'RUNNING' && steps < 200) {
      counting.statements.length = 0;
      const before = e.version;
      e = await stepTenantExport(small, e);
      expect(e.version).toBe(before + 1);
      // A step never reads more than a page: one SELECT of the table, bounded by LIMIT.
      const reads = counting.statements.filter((s) => /^SELECT \* FROM (?!tenant_exports)/.test(s));
      expect(reads.length).toBeLessThanOrEqual(1);
      steps += 1;
    }
    expect(e?.status).toBe('COMPLETE');
    const manifest = await manifestOf((e as NonNullable<typeof e>).prefix);
    expect(manifest.tables.change_requests?.files.map((f) => f.rows)).toEqual([3, 3, 1]);
    const ids = (await exportedRows(e?.prefix as string, manifest, 'change_requests')).map((r) => r.id);
    expect(new Set(ids).size).toBe(7);
  });

  it('a runner that lost the race records nothing: no file is listed twice', async () => {
    const tenant = 'export-race';
    await changes(tenant, 2);
    await runScheduledExports(deps({ pageRows: 1 }), new Date('2026-12-07T11:30:00Z'), 24);
    const e = await runningTenantExport(env.DB, tenant);
    expect(e).not.toBeNull();
    const [a, b] = await Promise.all([
      stepTenantExport(deps({ pageRows: 1 }), e as NonNullable<typeof e>),
      stepTenantExport(deps({ pageRows: 1 }), e as NonNullable<typeof e>),
    ]);
    const stored = await tenantExportById(env.DB, (e as NonNullable<typeof e>).id);
    expect(stored?.version).toBe((e?.version ?? 0) + 1);
    expect(a.files).toEqual(stored?.files);
    expect(b.files).toEqual(stored?.files);
  });

  it('a final step retried or raced writes the same manifest, so the write-once archive takes it', async () => {
    const tenant = 'export-final-race';
    await changes(tenant, 1);
    await runScheduledExports(deps(), new Date('2026-12-07T12:30:00Z'), 24);
    let e = await runningTenantExport(env.DB, tenant);
    // Step until only the manifest is left to write.
    while (e && e.tableIndex < EXPORTED_TABLES.length) e = await stepTenantExport(deps(), e);
    const last = e as NonNullable<typeof e>;
    const later = deps({ now: () => new Date(Date.now() + 5000) });
    const [a, b] = await Promise.all([stepTenantExport(deps(), last), stepTenantExport(later, last)]);
    expect([a.status, b.status]).toEqual(['COMPLETE', 'COMPLETE']);
    // A step retried after the record (a runner that died after writing the manifest) also passes.
    expect((await stepTenantExport(later, last)).status).toBe('COMPLETE');
    expect((await manifestOf(last.prefix)).completedAt).toBe(last.updatedAt);
  });

  it('the cron starts one per tenant at minute 30 only, and not again within the interval', async () => {
    const tenant = 'export-cron';
    await changes(tenant, 1);
    const quarterPast = await runScheduledExports(deps(), new Date('2026-12-07T12:15:00Z'), 24);
    expect(quarterPast.started).not.toContain(tenant);
    const first = await runScheduledExports(deps(), new Date('2026-12-07T12:30:00Z'), 24);
    expect(first.started).toContain(tenant);
    const again = await runScheduledExports(deps(), new Date('2026-12-07T13:30:00Z'), 24);
    expect(again.started).not.toContain(tenant);
    const off = await runScheduledExports(deps(), new Date('2026-12-09T13:30:00Z'), 0);
    expect(off.started).toEqual([]);
  });
});

const exportsOf = async (tenant: string) =>
  (
    await env.DB.prepare('SELECT COUNT(*) AS n FROM tenant_exports WHERE tenant_id = ?1')
      .bind(tenant)
      .first<{ n: number }>()
  )?.n;

describe('the Worker’s cron', () => {
  it('starts scheduled exports only when BACKUP_EXPORTS_ENABLED is true', async () => {
    const tenant = 'export-worker-cron';
    await changes(tenant, 1);
    await scheduledExports(env, new Date('2026-12-08T09:30:00Z'));
    expect(await exportsOf(tenant)).toBe(0);
    await scheduledExports({ ...env, BACKUP_EXPORTS_ENABLED: 'true' }, new Date('2026-12-08T09:30:00Z'));
    expect(await exportsOf(tenant)).toBe(1);
  });
});

describe('what an export holds', () => {
  it('every table with a tenant_id is either exported or excluded with a reason', async () => {
    const { results: tables } = await env.DB.prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table'",
    ).all<{ name: string; sql: string }>();
    const results = tables.filter((t) => /\btenant_id\b/.test(t.sql));
    expect(results.map((r) => r.name)).toContain('change_requests');
    const known = new Set([...EXPORTED_TABLES.map((t) => t.name), ...Object.keys(EXCLUDED_TABLES)]);
    expect(results.map((r) => r.name).filter((n) => !known.has(n))).toEqual([]);
  });
});
