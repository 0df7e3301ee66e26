// npm run -s audit:export -- --url <base URL> --token <token> [--out <file>]
//
// Writes a tenant's audit events as NDJSON, oldest first, one event per line: the fields of the
// GraphQL AuditEvent (auditLog, detail FULL) plus tenantId, which the hashes cover. The format
// `npm run audit:verify` reads; the token's tenant is the one exported (any role may read it).
import { writeFileSync } from 'node:fs';
import { parseCli } from './cliArgs';

const USAGE = `Usage: npm run -s audit:export -- --url <base URL> --token <token> [--out <file>]

  --url    where ChangeFlow answers (http://localhost:8787)
  --token  a bearer token (or API key) of the tenant to export
  --out    the NDJSON file to write (default: stdout)`;

const FIELDS =
  'id seq actorId actorType source toolName action targetType targetId requestId before after createdAt prevHash hash hashVersion';
const PAGE = `query($after: String) { auditLog(first: 200, after: $after, detail: FULL) {
  nodes { ${FIELDS} } pageInfo { hasNextPage endCursor } } }`;

interface AuditPage {
  auditLog: {
    nodes: Record<string, unknown>[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
}

async function graphql<T>(url: string, token: string, query: string, variables = {}): Promise<T> {
  const res = await fetch(new URL('/graphql', url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string }[] };
  if (body.errors?.length || !body.data) {
    throw new Error(`GraphQL answered ${res.status}: ${body.errors?.map((e) => e.message).join('; ')}`);
  }
  return body.data;
}

async function main(argv: string[]): Promise<number> {
  const cli = parseCli(
    argv,
    {
      url: { type: 'string' },
      token: { type: 'string' },
      out: { type: 'string' },
    },
    USAGE,
  );
  if ('exit' in cli) return cli.exit;
  const opts = cli.values;
  if (!opts.url || !opts.token) {
    console.error(`--url and --token are required\n\n${USAGE}`);
    return 2;
  }
  const { url, token } = opts;
  try {
    const { me } = await graphql<{ me: { tenantId: string } }>(url, token, '{ me { tenantId } }');
    // auditLog pages newest first; the export is oldest first, the chain's order.
    const events: Record<string, unknown>[] = [];
    let after: string | null = null;
    do {
      const page: AuditPage = await graphql<AuditPage>(url, token, PAGE, { after });
      events.push(...page.auditLog.nodes);
      after = page.auditLog.pageInfo.hasNextPage ? page.auditLog.pageInfo.endCursor : null;
    } while (after);
    events.reverse();
    const text = events.map((e) => `${JSON.stringify({ tenantId: me.tenantId, ...e })}\n`).join('');
    if (opts.out) writeFileSync(opts.out, text);
    else process.stdout.write(text);
    console.error(`exported ${events.length} audit events of tenant ${me.tenantId}`);
    return 0;
  } catch (e) {
    console.error(`✗ ${(e as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
