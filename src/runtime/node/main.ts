import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, withDevelopmentKeys } from '../../config';
import { describeEgress } from '../../domain/egress';
import { auditMigratedChanges, migrationPrincipal } from '../../usecases/changes/migrations';
import { type AuthedContext, createRequestContext } from '../../usecases/context';
import { parseNodeArgs, USAGE, UsageError } from './args';
import { DEV_VARS, ensureDevAuditSigningKey, ensureDevSecret, ensureDevSecretsKey } from './devVars.mjs';
import { openNodeApp } from './runtime';
import { startNodeServer } from './server';

// The repository's directories, found upwards from this module: from src/runtime/node/main.ts when
// run from source and from dist/node/server.mjs when bundled. `marker`: a file that says it is ours.
function findUp(from: string, name: string, marker: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const candidate = resolve(dir, name);
    if (existsSync(resolve(candidate, marker))) return candidate;
    if (dirname(dir) === dir) return resolve(dirname(from), '../..', name);
  }
}
const here = fileURLToPath(import.meta.url);
const DEFAULTS = {
  migrations: findUp(here, 'migrations', '0001_init.sql'),
  publicDir: findUp(here, 'public', 'dashboard/index.html'),
};

const fail = (message: string, code = 1) => {
  console.error(`✗ ${message}`);
  return code;
};

async function main(): Promise<number> {
  let args: ReturnType<typeof parseNodeArgs>;
  try {
    args = parseNodeArgs(process.argv.slice(2), process.env, DEFAULTS);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return fail(`${e.message}\n\n${USAGE}`, 2);
  }
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  // In development, keys the environment lacks come from .dev.vars (created at random if missing),
  // the ones `npm start` and `npm run token` use; a configured process gets nothing written.
  const { vars: env, supplied } = withDevelopmentKeys(process.env, {
    jwtSecret: () => ensureDevSecret(),
    secretsKey: () => ensureDevSecretsKey(),
    auditSigningKey: () => ensureDevAuditSigningKey(),
  });
  const secret = supplied.includes('JWT_SECRET');
  const secretsKey = supplied.includes('SECRETS_KEY');
  const auditKey = supplied.includes('AUDIT_SIGNING_KEY');
  if (args.db !== ':memory:') mkdirSync(dirname(resolve(args.db)), { recursive: true });

  // The default directory may be missing (a bundle copied elsewhere): then no pages. One that was
  // named must exist.
  const pages = existsSync(resolve(args.publicDir, 'dashboard/index.html'));
  if (!pages && args.publicDir !== DEFAULTS.publicDir)
    return fail(`--public ${args.publicDir}: no static pages there (no dashboard/index.html)`);
  const built = (page: string) => pages && existsSync(resolve(args.publicDir, page));
  const graphiql = built('graphiql/index.html');
  const apiReference = built('api-reference/index.html');

  let app: ReturnType<typeof openNodeApp>;
  try {
    app = openNodeApp({
      dbPath: args.db,
      migrationsDir: args.migrations,
      env,
      listenHost: args.host,
      assetsDir: pages ? args.publicDir : null,
    });
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message);
    return fail(`Cannot open ${args.db}: ${(e as Error).message}`);
  }
  // Before serving: audit what the migrations just changed (nobody else writes yet, so no lock).
  // A failure is reported and retried at the next start; the rows are already migrated.
  const audited = await auditMigratedChanges(
    app.db,
    (tenantId) =>
      createRequestContext({
        db: app.db,
        requestId: 'migration',
        principal: migrationPrincipal(tenantId),
        source: 'system',
      }) as AuthedContext,
  ).catch((e) => {
    console.error(
      `✗ could not audit the migrated changes (retried at the next start): ${(e as Error).message}`,
    );
    return 0;
  });
  if (audited) console.log(`  audited ${audited} change(s) the migrations changed`);
  let server: Awaited<ReturnType<typeof startNodeServer>>;
  try {
    server = await startNodeServer(app, { port: args.port, host: args.host, trustProxy: args.trustProxy });
  } catch (e) {
    await app.close();
    return fail(`Cannot listen on ${args.host}:${args.port}: ${(e as Error).message}`);
  }

  const base = server.url;
  const ws = base.replace(/^http/, 'ws');
  // Outside development /mcp answers CONFIG_INVALID until its resource URL is known: say so now.
  const mcpNote = (config: typeof app.config) =>
    config.mcpResourceUrl !== null
      ? `  (OAuth resource ${config.mcpResourceUrl})`
      : config.environment === 'development'
        ? ''
        : '  ✗ not served: set MCP_RESOURCE_URL to the URL clients reach it at (tokens must name it in "aud")';
  console.log(`
  ChangeFlow on Node · SQLite ${resolve(args.db)} · environment ${app.config.environment}
  ${app.migrated.length ? `applied migrations: ${app.migrated.join(', ')}` : 'migrations: up to date'}${secret ? `\n  JWT_SECRET from ${DEV_VARS} (development); mint tokens with: npm run token -- --tenant acme --roles admin` : ''}${secretsKey ? `\n  SECRETS_KEY (workflow secrets' encryption key) from ${DEV_VARS} (development)` : ''}${auditKey ? `\n  AUDIT_SIGNING_KEY (signs audit digests) from ${DEV_VARS} (development)` : ''}${app.config.auditDigests.enabled ? `\n  audit digests: hourly, to ${resolve(app.config.auditDigests.archiveDir ?? '')}` : ''}

    GraphQL         ${base}/graphql${graphiql && app.config.introspection ? '  (GraphiQL in a browser)' : ''}
${pages ? `    Dashboard       ${base}/dashboard\n` : ''}${apiReference ? `    REST reference  ${base}/api-reference/\n` : ''}    Subscriptions   ${ws}/graphql  (graphql-transport-ws; Authorization header, or ?ticket= from POST /graphql/ws-ticket)
    MCP endpoint    ${base}/mcp${mcpNote(app.config)}
    Metrics         ${base}/metrics
    Health          ${base}/health
    Schema (SDL)    ${base}/schema.graphql

  Workflow HTTP egress: ${describeEgress(app.config.egress)}${pages ? (graphiql && apiReference ? '' : '\n  GraphiQL and the REST reference are not built: node scripts/buildAssets.mjs, then restart') : `\n  No static pages (dashboard, GraphiQL) at ${args.publicDir}: --public <dir> names them`}

  Stop with Ctrl-C.
`);

  return new Promise<number>((done) => {
    const stop = (signal: NodeJS.Signals) => {
      console.log(`\n  ${signal}: finishing requests in flight, then closing the database`);
      // A second signal does not wait.
      process.once(signal, () => done(1));
      server.close().then(
        () => done(0),
        (e) => done(fail(`Shutdown failed: ${(e as Error).message}`)),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
