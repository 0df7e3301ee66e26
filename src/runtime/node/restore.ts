import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { type AuditEventRecord, auditEventsFrom, insertAuditEventStatement } from '../../db/audit';
import { parsePublicJwk, parseSignedDigest } from '../../domain/auditDigest';
import { type ExportVerification, verifyAuditExport } from '../../domain/auditExportVerification';
import { EXPORTED_TABLES, type ExportManifest } from '../../domain/tenantExport';
import { checkFiles, type RestoreFinding, readManifest, readRows } from './exportFiles';
import { applyMigrations, openSqliteD1, type SqliteD1 } from './sqlite';

/**
 * `npm run restore` (scripts/restore.ts): rebuilds a tenant from its export into a fresh SQLite
 * file, the Node runtime's database. Nothing is written before the manifest and every file's
 * SHA-256 and count check out; rows go into a file beside the target, which becomes the target
 * only once the restored audit chain verifies against the export's signed digests (the offline
 * verifier's judgement, src/domain/auditExportVerification.ts). Any finding leaves no target.
 */

export interface RestoreOptions {
  /** The export's directory (holding manifest.json). */
  from: string;
  /** The SQLite file to create; must not exist, or be empty. */
  to: string;
  /** The published key set to verify digests with; null: the keys the export carries. */
  keys: { keys: unknown[] } | null;
  /** Accept an export no digest anchors (digests off where it was made). */
  allowUnanchored?: boolean;
  migrationsDir?: string;
}

export interface RestoreResult {
  ok: boolean;
  tenant: string | null;
  exportId: string | null;
  /** Rows restored per table (empty when nothing was written). */
  tables: Record<string, number>;
  findings: RestoreFinding[];
  verification: ExportVerification | null;
  keysFrom: 'file' | 'export';
}

/** Column names of a table in the restored schema: a row's keys must be among them. */
function columnsOf(db: SqliteD1, table: string): Set<string> {
  const info = db.sqlite.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
  return new Set(info.map((c) => c.name));
}

function insertRow(db: SqliteD1, table: string, columns: Set<string>, row: Record<string, unknown>) {
  const names = Object.keys(row);
  const unknown = names.find((n) => !columns.has(n));
  if (unknown) throw new Error(`column ${unknown} is not in ${table}`);
  const list = names.map((n) => `"${n}"`).join(', ');
  const marks = names.map((_, i) => `?${i + 1}`).join(', ');
  return db.prepare(`INSERT INTO ${table} (${list}) VALUES (${marks})`).bind(...names.map((n) => row[n]));
}

/** A digest document as the verifier takes it: parsed, or why it is not one. */
function signedDigestOf(document: string) {
  try {
    return parseSignedDigest(JSON.parse(document));
  } catch {
    return 'not JSON';
  }
}

// An export from before hash versions holds version-1 events only.
const asEvent = (row: Record<string, unknown>) =>
  ({ toolName: null, hashVersion: 1, ...row }) as unknown as AuditEventRecord;

/** Writes every table's rows; the audit events, in file order, are handed back for verification. */
async function writeRows(db: SqliteD1, opts: RestoreOptions, manifest: ExportManifest) {
  const findings: RestoreFinding[] = [];
  const tables: Record<string, number> = {};
  const events: AuditEventRecord[] = [];
  const digestDocs: { name: string; document: string }[] = [];
  for (const { name } of EXPORTED_TABLES) {
    const columns = columnsOf(db, name);
    tables[name] = 0;
    for (const file of manifest.tables[name]?.files ?? []) {
      const read = await readRows(opts.from, manifest.tenant, file);
      if ('findings' in read) {
        findings.push(...read.findings);
        continue;
      }
      try {
        const statements = read.rows.map((row) =>
          name === 'audit_events'
            ? insertAuditEventStatement(db, asEvent(row))
            : insertRow(db, name, columns, row),
        );
        if (statements.length) await db.batch(statements);
      } catch (e) {
        findings.push({
          kind: 'MALFORMED',
          table: name,
          file: file.key,
          message: `${file.key}: ${(e as Error).message}`,
        });
        continue;
      }
      tables[name] += read.rows.length;
      if (name === 'audit_events') events.push(...read.rows.map(asEvent));
      if (name === 'audit_digests')
        digestDocs.push(
          ...read.rows.map((r) => ({ name: String(r.object_key), document: String(r.document) })),
        );
    }
  }
  return { findings, tables, events, digestDocs };
}

/** What the export says of its chain against what was restored: head, digests, the chain read back. */
async function checkChain(
  db: SqliteD1,
  manifest: ExportManifest,
  events: AuditEventRecord[],
  digestDocs: { name: string; document: string }[],
): Promise<RestoreFinding[]> {
  const findings: RestoreFinding[] = [];
  const last = events.at(-1);
  const head = manifest.auditHead;
  if ((head?.seq ?? null) !== (last?.seq ?? null) || (head?.hash ?? null) !== (last?.hash ?? null)) {
    findings.push({
      kind: 'HEAD_MISMATCH',
      seq: last?.seq,
      message: `the manifest's audit head (${head ? `seq ${head.seq}` : 'none'}) is not the export's last event (${last ? `seq ${last.seq}` : 'none'})`,
    });
  }
  const listed = manifest.digests.map((d) => `${d.toSeq}:${d.digestHash}`).join(',');
  const held = digestDocs
    .map((d) => signedDigestOf(d.document))
    .map((d) => (typeof d === 'string' ? d : `${d.digest.toSeq}:${d.digestHash}`))
    .join(',');
  if (listed !== held)
    findings.push({
      kind: 'MANIFEST',
      message: 'the digests the manifest lists are not those the export holds',
    });
  // The database holds the chain as the export has it: read back, it is the same chain in order.
  const restored = last ? await auditEventsFrom(db, manifest.tenant, 1, last.seq, events.length + 1) : [];
  const inOrder = [...events].sort((a, b) => a.seq - b.seq);
  if (restored.map((e) => e.hash).join() !== inOrder.map((e) => e.hash).join())
    findings.push({ kind: 'RESTORE_MISMATCH', message: 'the restored chain differs from the export' });
  return findings;
}

function keysOf(opts: RestoreOptions, manifest: ExportManifest) {
  const set = opts.keys ?? manifest.publicKeys ?? { keys: [] };
  return set.keys.flatMap((k) => {
    const key = parsePublicJwk(k);
    return typeof key === 'string' ? [] : [key];
  });
}

export async function restoreExport(opts: RestoreOptions): Promise<RestoreResult> {
  const result: RestoreResult = {
    ok: false,
    tenant: null,
    exportId: null,
    tables: {},
    findings: [],
    verification: null,
    keysFrom: opts.keys ? 'file' : 'export',
  };
  if (existsSync(opts.to) && statSync(opts.to).size > 0) {
    result.findings.push({
      kind: 'TARGET_NOT_EMPTY',
      message: `${opts.to} exists and is not empty: restore into a new file`,
    });
    return result;
  }
  const read = readManifest(opts.from);
  if ('findings' in read) return { ...result, findings: read.findings };
  const { manifest } = read;
  Object.assign(result, { tenant: manifest.tenant, exportId: manifest.exportId });
  result.findings = await checkFiles(opts.from, manifest);
  if (result.findings.length) return result;

  const partial = `${opts.to}.restoring-${process.pid}`;
  const db = openSqliteD1(partial);
  let ok = false;
  try {
    applyMigrations(db, opts.migrationsDir);
    const written = await writeRows(db, opts, manifest);
    result.findings.push(...written.findings);
    if (!written.findings.length) {
      result.findings.push(...(await checkChain(db, manifest, written.events, written.digestDocs)));
      const verification = await verifyAuditExport({
        lines: written.events.map((event) => ({ event })),
        digests: written.digestDocs.map((d) => ({
          name: d.name,
          digest: signedDigestOf(d.document),
        })),
        keys: keysOf(opts, manifest),
      });
      result.verification = verification;
      const counted = verification.findings.filter((f) => !(opts.allowUnanchored && f.kind === 'NO_DIGESTS'));
      result.findings.push(...counted);
      result.tables = written.tables;
    }
    ok = result.findings.length === 0;
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) {
      if (!ok) rmSync(`${partial}${suffix}`, { force: true });
      else if (existsSync(`${partial}${suffix}`)) renameSync(`${partial}${suffix}`, `${opts.to}${suffix}`);
    }
  }
  if (!ok) result.tables = {};
  return { ...result, ok };
}
