/**
 * A tenant's export (issue 15 item 5): which tables it holds, how each is read in bounded pages,
 * and the manifest that lets a restore check every file before writing a row. Pure: the use case
 * (src/usecases/tenantExports.ts) writes the files, the restore (src/runtime/node/restore.ts)
 * reads them.
 *
 * Every table is NDJSON, one row per line, gzip-compressed, in parts of at most EXPORT_PAGE_ROWS
 * rows. Rows are the columns as stored (snake_case), so a restore writes them back verbatim;
 * audit_events alone is in the format of `npm run audit:export` (the fields of the GraphQL
 * AuditEvent plus tenantId), so that its files, decompressed, go straight to `npm run audit:verify`.
 */

export const EXPORT_FORMAT = 'changeflow-tenant-export/1';

/** Rows per step and per file: each step reads and writes a bounded amount, whatever the tenant's size. */
export const EXPORT_PAGE_ROWS = 1000;

export interface ExportedTable {
  name: string;
  /** The columns that order the tenant's rows and resume after the last one (its key). */
  key: readonly string[];
}

/**
 * The tenant's tables, in the order a restore inserts them (a row's parent before it: workflows
 * before executions, changes before their services and approvals). audit_events comes last but
 * one, read up to the head the export recorded when it got there, so it covers every row state
 * exported before it; audit_digests last, those up to that head.
 */
export const EXPORTED_TABLES: readonly ExportedTable[] = [
  { name: 'users', key: ['id'] },
  { name: 'services', key: ['name'] },
  { name: 'egress_policies', key: ['tenant_id'] },
  { name: 'workflow_secrets', key: ['name'] },
  { name: 'webhook_endpoints', key: ['id'] },
  { name: 'api_keys', key: ['id'] },
  { name: 'workflows', key: ['id'] },
  { name: 'workflow_versions', key: ['workflow_id', 'version'] },
  { name: 'standard_change_templates', key: ['id'] },
  { name: 'standard_change_template_versions', key: ['template_id', 'version'] },
  { name: 'change_requests', key: ['id'] },
  { name: 'change_services', key: ['change_id', 'service'] },
  { name: 'approvals', key: ['id'] },
  { name: 'change_migrations', key: ['change_id', 'migration'] },
  { name: 'freeze_windows', key: ['id'] },
  // CI/CD: the integrations (secrets sealed as they are at rest), the deployments linked to
  // changes (evidence of what went out), and the delivery claims that refuse a replayed GitHub
  // delivery, which has no timestamp to age out by.
  { name: 'deployment_integrations', key: ['id'] },
  { name: 'deployments', key: ['id'] },
  { name: 'deployment_deliveries', key: ['integration_id', 'delivery_key'] },
  { name: 'workflow_executions', key: ['id'] },
  { name: 'workflow_step_runs', key: ['execution_id', 'step_index'] },
  { name: 'retention_policies', key: ['tenant_id'] },
  { name: 'audit_events', key: ['seq'] },
  { name: 'audit_redactions', key: ['seq'] },
  { name: 'audit_digests', key: ['to_seq'] },
];

/**
 * Tables with tenant rows an export leaves out, and why: state that expires within hours or days
 * and that a restored tenant does without. docs/operations.md lists them; a test fails when a
 * migration adds a tenant table that is in neither list.
 */
export const EXCLUDED_TABLES: Readonly<Record<string, string>> = {
  idempotency_keys: 'replays of recent answers, kept 24 hours',
  ws_tickets: 'one-time WebSocket tickets, valid 60 seconds',
  outbox: 'follow-ups in flight; the watchdog re-queues what a restored change still needs',
  webhook_deliveries: 'replay protection for 15 minutes (and it has no tenant_id)',
  endpoint_deliveries:
    'the log of outgoing webhook deliveries: a restored tenant does not send again what was sent or given up',
  tenant_exports: 'the export ledger itself',
  audit_verifications:
    'verification runs in progress, forgotten after 7 days; a restore verifies the chain itself',
  audit_chain_status:
    'where the service last verified the chain: the restored chain is verified again from its digests',
  change_compliance:
    'compliance facts derived by triggers from changes, approvals and services: rebuilt as a restore inserts them',
  compliance_daily:
    'per-day compliance counts derived by triggers from change_compliance: rebuilt the same way',
  change_kpi_counts:
    'change KPI counts derived by triggers from changes: rebuilt as a restore inserts the changes',
};

export interface ExportFile {
  table: string;
  /** Relative to the export's directory: tables/<table>/<part>-<nonce>.ndjson.gz. */
  key: string;
  rows: number;
  /** SHA-256 of the file as stored (compressed), hex. */
  sha256: string;
}

/** A signed digest the export holds, as the manifest lists it. */
export interface ExportDigest {
  fromSeq: number;
  toSeq: number;
  headHash: string;
  digestHash: string;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  tenant: string;
  exportId: string;
  trigger: 'SCHEDULED' | 'ON_DEMAND';
  createdAt: string;
  completedAt: string;
  /** The audit chain's last event the export holds; null for a tenant without events. */
  auditHead: { seq: number; hash: string } | null;
  /** The signed digests the export holds (rows of audit_digests, documents byte for byte). */
  digests: ExportDigest[];
  tables: Record<string, { rows: number; files: ExportFile[] }>;
  excluded: string[];
  /** The published public keys when it was made (/.well-known/changeflow-audit-keys.json). */
  publicKeys: { keys: unknown[] };
}

export const exportPrefix = (tenantId: string, exportId: string) =>
  `exports/${encodeURIComponent(tenantId)}/${exportId}/`;

export const partKey = (table: string, part: number, nonce: string) =>
  `tables/${table}/${String(part).padStart(6, '0')}-${nonce}.ndjson.gz`;

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** gzip, with the CompressionStream workerd and Node both have. */
export async function gzip(text: string): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Response(stream).text();
}

export const toNdjson = (rows: readonly unknown[]) => rows.map((r) => `${JSON.stringify(r)}\n`).join('');

/** The manifest from its files, once every table is written. */
export function buildManifest(
  base: Omit<ExportManifest, 'format' | 'tables' | 'excluded'>,
  files: readonly ExportFile[],
): ExportManifest {
  const tables: ExportManifest['tables'] = {};
  for (const t of EXPORTED_TABLES) {
    const own = files.filter((f) => f.table === t.name);
    tables[t.name] = { rows: own.reduce((n, f) => n + f.rows, 0), files: own };
  }
  return { format: EXPORT_FORMAT, ...base, tables, excluded: Object.keys(EXCLUDED_TABLES) };
}
