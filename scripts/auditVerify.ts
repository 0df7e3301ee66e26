// npm run audit:verify -- --export <events.ndjson> --digests <dir> --keys <keys.json> [--json]
//
// Verifies a tenant's audit export offline, against its signed digests and the published public
// keys; needs nothing from the running service. Exit 0: no finding; 1: findings (each printed);
// 2: usage or unreadable input. See docs/operations.md, "Audit digests".
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredAuditEvent } from '../src/domain/auditChain.ts';
import { type AuditPublicJwk, parsePublicJwk, parseSignedDigest } from '../src/domain/auditDigest.ts';
import { type ExportLine, verifyAuditExport } from '../src/domain/auditExportVerification.ts';
import { parseCli } from './cliArgs.ts';

const USAGE = `Usage: npm run audit:verify -- --export <events.ndjson> --digests <dir> --keys <keys.json> [--json]

  --export   the tenant's audit events, NDJSON, one event per line (npm run audit:export writes it)
  --digests  a directory of digest files (digests/<tenant>/*.json from the R2 bucket AUDIT_ARCHIVE,
             or from AUDIT_ARCHIVE_DIR on Node); searched recursively
  --keys     the public keys: /.well-known/changeflow-audit-keys.json, saved
  --json     print the result as JSON instead of text

Exit status: 0 when nothing was found, 1 on any finding, 2 on a usage error or unreadable input.`;

class UsageError extends Error {}

const STRING_FIELDS = [
  'tenantId',
  'id',
  'actorId',
  'actorType',
  'source',
  'action',
  'targetType',
  'targetId',
  'requestId',
  'createdAt',
  'prevHash',
  'hash',
] as const;

/** One NDJSON line as an event, or why it is not one. */
export function parseEventLine(text: string, line: number, tenant: string | null): ExportLine {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { line, error: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { line, error: 'not a JSON object' };
  if (v.tenantId === undefined && tenant !== null) v.tenantId = tenant;
  if (!Number.isSafeInteger(v.seq)) return { line, error: 'seq is not an integer' };
  for (const f of STRING_FIELDS) {
    if (typeof v[f] !== 'string') return { line, error: `${f} is not a string` };
  }
  if (v.toolName !== undefined && v.toolName !== null && typeof v.toolName !== 'string')
    return { line, error: 'toolName is neither a string nor null' };
  if (v.hashVersion !== undefined && v.hashVersion !== null && v.hashVersion !== 1 && v.hashVersion !== 2)
    return { line, error: 'hashVersion is neither 1 nor 2' };
  return { event: v as unknown as StoredAuditEvent };
}

function digestFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return digestFiles(path);
    return entry.name.endsWith('.json') ? [path] : [];
  });
}

function readKeys(path: string): AuditPublicJwk[] {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { keys?: unknown };
  if (!Array.isArray(doc?.keys)) throw new UsageError(`${path}: not a key set ({"keys": [...]})`);
  return doc.keys.map((k, i) => {
    const key = parsePublicJwk(k);
    if (typeof key === 'string') throw new UsageError(`${path}: key ${i + 1} ${key}`);
    return key;
  });
}

async function main(argv: string[]): Promise<number> {
  const cli = parseCli(
    argv,
    {
      export: { type: 'string' },
      digests: { type: 'string' },
      keys: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if ('exit' in cli) return cli.exit;
  const opts = cli.values;
  if (!opts.export || !opts.digests || !opts.keys) {
    console.error(`--export, --digests and --keys are required\n\n${USAGE}`);
    return 2;
  }
  let result: Awaited<ReturnType<typeof verifyAuditExport>>;
  try {
    const keys = readKeys(opts.keys);
    if (!statSync(opts.digests).isDirectory()) throw new UsageError(`${opts.digests} is not a directory`);
    const digests = digestFiles(opts.digests)
      .sort()
      .map((path) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(readFileSync(path, 'utf8'));
        } catch {
          return { name: path, digest: 'not JSON' };
        }
        return { name: path, digest: parseSignedDigest(parsed) };
      });
    const tenant = digests.find((d) => typeof d.digest !== 'string')?.digest;
    const tenantId = typeof tenant === 'object' ? tenant.digest.tenant : null;
    const lines = readFileSync(opts.export, 'utf8')
      .split('\n')
      .flatMap((text, i) => (text.trim() === '' ? [] : [parseEventLine(text, i + 1, tenantId)]));
    result = await verifyAuditExport({ lines, digests, keys });
  } catch (e) {
    console.error(`✗ ${(e as Error).message}`);
    return 2;
  }
  if (opts.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    console.log(
      `tenant ${result.tenant ?? '?'}: ${result.events} events, ${result.digests} valid digests, anchored through seq ${result.anchoredThroughSeq}`,
    );
    for (const f of result.findings) console.log(`✗ ${f.kind}: ${f.message}`);
    if (result.unanchored.length) {
      const [first, last] = [result.unanchored[0], result.unanchored.at(-1)];
      console.log(
        `… ${result.unanchored.length} events not yet anchored by a digest (seq ${first}${first === last ? '' : ` to ${last}`})`,
      );
    }
    console.log(result.ok ? '✓ no findings' : `✗ ${result.findings.length} finding(s)`);
  }
  return result.ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
