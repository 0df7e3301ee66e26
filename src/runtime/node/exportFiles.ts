import { readFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import {
  EXPORT_FORMAT,
  EXPORTED_TABLES,
  type ExportFile,
  type ExportManifest,
  gunzip,
  sha256Hex,
} from '../../domain/tenantExport';

/**
 * Reading a tenant export from a directory (the archive's exports/<tenant>/<id>/, downloaded):
 * its manifest, checked for shape, and its files, each checked against the manifest's SHA-256
 * and row count before a row is used. Every problem is a finding, never an exception.
 */

export type RestoreFindingKind =
  | 'MANIFEST'
  | 'MISSING_FILE'
  | 'HASH_MISMATCH'
  | 'COUNT_MISMATCH'
  | 'MALFORMED'
  | 'TENANT_MISMATCH'
  | 'TARGET_NOT_EMPTY';

export interface RestoreFinding {
  kind: string;
  table?: string;
  file?: string;
  seq?: number;
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isFile = (f: unknown, table: string): f is ExportFile =>
  isObject(f) &&
  f.table === table &&
  typeof f.key === 'string' &&
  Number.isSafeInteger(f.rows) &&
  typeof f.sha256 === 'string' &&
  /^[0-9a-f]{64}$/.test(f.sha256);

/** The manifest, or the findings that make it unusable. */
export function readManifest(dir: string): { manifest: ExportManifest } | { findings: RestoreFinding[] } {
  const bad = (message: string) => ({ findings: [{ kind: 'MANIFEST', message }] });
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    return bad(`manifest.json cannot be read: ${(e as Error).message}`);
  }
  if (!isObject(m) || m.format !== EXPORT_FORMAT)
    return bad(`manifest.json is not a ${EXPORT_FORMAT} manifest`);
  if (typeof m.tenant !== 'string' || m.tenant === '') return bad('manifest.json names no tenant');
  const head = m.auditHead;
  if (head !== null && !(isObject(head) && Number.isSafeInteger(head.seq) && typeof head.hash === 'string'))
    return bad('auditHead is neither null nor {seq, hash}');
  if (!Array.isArray(m.digests)) return bad('digests is not a list');
  if (!isObject(m.tables)) return bad('tables is not an object');
  const tables = m.tables;
  const unknown = Object.keys(tables).filter((t) => !EXPORTED_TABLES.some((e) => e.name === t));
  if (unknown.length) return bad(`unknown tables: ${unknown.join(', ')}`);
  for (const { name } of EXPORTED_TABLES) {
    const t = tables[name];
    if (!isObject(t) || !Number.isSafeInteger(t.rows) || !Array.isArray(t.files))
      return bad(`table ${name} is missing or not {rows, files}`);
    if (!t.files.every((f) => isFile(f, name))) return bad(`table ${name} lists a malformed file`);
  }
  return { manifest: m as unknown as ExportManifest };
}

/** The file's path inside the export directory; null for a key that would leave it. */
function pathOf(dir: string, key: string): string | null {
  const root = resolve(dir);
  const path = resolve(root, key);
  return path.startsWith(root + sep) ? path : null;
}

/** Checks every file's presence and SHA-256 (before anything is written). */
export async function checkFiles(dir: string, manifest: ExportManifest): Promise<RestoreFinding[]> {
  const findings: RestoreFinding[] = [];
  for (const [table, t] of Object.entries(manifest.tables)) {
    const counted = t.files.reduce((n, f) => n + f.rows, 0);
    if (counted !== t.rows)
      findings.push({
        kind: 'COUNT_MISMATCH',
        table,
        message: `${table}: ${t.rows} rows, its files ${counted}`,
      });
    for (const f of t.files) {
      const path = pathOf(dir, f.key);
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        if (!path) throw new Error('outside the export');
        bytes = new Uint8Array(readFileSync(path));
      } catch (e) {
        findings.push({
          kind: 'MISSING_FILE',
          table,
          file: f.key,
          message: `${f.key}: ${(e as Error).message}`,
        });
        continue;
      }
      if ((await sha256Hex(bytes)) !== f.sha256)
        findings.push({
          kind: 'HASH_MISMATCH',
          table,
          file: f.key,
          message: `${f.key}: SHA-256 differs from the manifest`,
        });
    }
  }
  return findings;
}

/**
 * A file's rows, checked: each a JSON object of the manifest's tenant, as many as the manifest
 * says. Call after checkFiles.
 */
export async function readRows(
  dir: string,
  tenant: string,
  f: ExportFile,
): Promise<{ rows: Record<string, unknown>[] } | { findings: RestoreFinding[] }> {
  const text = await gunzip(new Uint8Array(readFileSync(pathOf(dir, f.key) as string)));
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const rows: Record<string, unknown>[] = [];
  const findings: RestoreFinding[] = [];
  const tenantKey = f.table === 'audit_events' ? 'tenantId' : 'tenant_id';
  lines.forEach((line, i) => {
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      row = null;
    }
    const at = `${f.key} line ${i + 1}`;
    if (!isObject(row))
      findings.push({ kind: 'MALFORMED', table: f.table, file: f.key, message: `${at}: not a JSON object` });
    else if (row[tenantKey] !== tenant)
      findings.push({
        kind: 'TENANT_MISMATCH',
        table: f.table,
        file: f.key,
        message: `${at}: not of tenant ${tenant}`,
      });
    else rows.push(row);
  });
  if (lines.length !== f.rows)
    findings.push({
      kind: 'COUNT_MISMATCH',
      table: f.table,
      file: f.key,
      message: `${f.key}: ${lines.length} rows, the manifest says ${f.rows}`,
    });
  return findings.length ? { findings } : { rows };
}
