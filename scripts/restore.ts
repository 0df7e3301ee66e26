// npm run restore -- --from <export dir> --to <new SQLite file> [--keys <keys.json>] [--allow-unanchored] [--json]
//
// Rebuilds a tenant from its export (exports/<tenant>/<id>/ of the archive, downloaded) into a
// fresh SQLite file the Node runtime serves (`npm run serve:node -- --db <file>`), and verifies
// its audit chain against the export's signed digests. Exit 0: restored, no finding; 1: findings
// (each printed; nothing is left at --to); 2: usage or unreadable input. See docs/operations.md,
// "Backup and restore".
import { readFileSync } from 'node:fs';
import { restoreExport } from '../src/runtime/node/restore.ts';
import { parseCli } from './cliArgs.ts';

const USAGE = `Usage: npm run restore -- --from <export dir> --to <database file> [--keys <keys.json>] [--allow-unanchored] [--json]

  --from              the export's directory: manifest.json and tables/ (from the R2 bucket AUDIT_ARCHIVE
                      at exports/<tenant>/<id>/, or from AUDIT_ARCHIVE_DIR on Node)
  --to                the SQLite file to create; refused if it exists and is not empty
  --keys              the public keys (/.well-known/changeflow-audit-keys.json, saved); without it, the
                      keys the export carries (an export checked only against itself)
  --allow-unanchored  accept an export that no signed digest anchors (made with digests off)
  --json              print the result as JSON

Exit status: 0 restored with no finding, 1 on any finding (nothing is written), 2 on a usage error.`;

async function main(argv: string[]): Promise<number> {
  const cli = parseCli(
    argv,
    {
      from: { type: 'string' },
      to: { type: 'string' },
      keys: { type: 'string' },
      'allow-unanchored': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if ('exit' in cli) return cli.exit;
  const opts = cli.values;
  if (!opts.from || !opts.to) {
    console.error(`--from and --to are required\n\n${USAGE}`);
    return 2;
  }
  let keys: { keys: unknown[] } | null = null;
  if (opts.keys) {
    try {
      keys = JSON.parse(readFileSync(opts.keys, 'utf8'));
      if (!Array.isArray(keys?.keys)) throw new Error('not a key set ({"keys": [...]})');
    } catch (e) {
      console.error(`✗ ${opts.keys}: ${(e as Error).message}`);
      return 2;
    }
  }
  const result = await restoreExport({
    from: opts.from,
    to: opts.to,
    keys,
    allowUnanchored: opts['allow-unanchored'] ?? false,
  });
  if (opts.json) {
    console.log(JSON.stringify(result, null, 2));
    return result.ok ? 0 : 1;
  }
  console.log(`export ${result.exportId ?? '?'} of tenant ${result.tenant ?? '?'}`);
  for (const [table, rows] of Object.entries(result.tables)) console.log(`  ${table}: ${rows} rows`);
  const v = result.verification;
  if (v) {
    console.log(
      `audit chain: ${v.events} events, ${v.digests} valid digests, anchored through seq ${v.anchoredThroughSeq}`,
    );
    if (v.unanchored.length) console.log(`… ${v.unanchored.length} events not yet anchored by a digest`);
  }
  if (result.keysFrom === 'export')
    console.log(
      '! digests checked with the keys the export carries; pass --keys to check them independently',
    );
  for (const f of result.findings) console.log(`✗ ${f.kind}: ${f.message}`);
  console.log(
    result.ok
      ? `✓ restored to ${opts.to}`
      : `✗ ${result.findings.length} finding(s); nothing written to ${opts.to}`,
  );
  return result.ok ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
