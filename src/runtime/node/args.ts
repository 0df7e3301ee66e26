import { parseArgs } from 'node:util';
import { nodeServerVars } from '../../config';
import { TRUST_PROXY_HEADERS, type TrustProxy } from './http';

export interface NodeArgs {
  /** The SQLite file (created with its directory if missing). */
  db: string;
  port: number;
  host: string;
  migrations: string;
  /** The one header a reverse proxy in front sets to the client's address; null: none. */
  trustProxy: TrustProxy | null;
  /** The static pages' directory (public/). */
  publicDir: string;
}

export const USAGE = `Usage: npm run serve:node -- --db <file.sqlite> [--port 8788] [--host 127.0.0.1] [--trust-proxy cf|x-real-ip|x-forwarded-for] [--public <dir>]

  --db          SQLite file (or CHANGEFLOW_DB); created, with its directory, if missing
  --port        port to listen on (or CHANGEFLOW_PORT; 0 picks a free one)   default 8788
  --host        address to listen on (or CHANGEFLOW_HOST)                     default 127.0.0.1
  --migrations  directory of D1 migrations to apply at start                  default: the repository's
  --trust-proxy the one header a reverse proxy in front sets to the client's address (or
                CHANGEFLOW_TRUST_PROXY): cf (CF-Connecting-IP), x-real-ip (X-Real-IP) or
                x-forwarded-for (its right-most entry). Only that header is believed; without the
                option the peer address is used, so that a client cannot pick the address its
                rate limits are counted under
  --public      the static pages: /dashboard, GraphiQL, /api-reference/ (or CHANGEFLOW_PUBLIC_DIR),
                built by node scripts/buildAssets.mjs                         default: the repository's

Configuration comes from the environment, as in the Worker: JWT_SECRET or JWT_JWKS_URL, ENVIRONMENT,
CORS_ORIGINS, RATE_LIMIT_PER_MINUTE, RATE_LIMIT_BURST_PER_SECOND, RATE_LIMIT_TIERS, … (see docs/configuration.md).`;

export class UsageError extends Error {}

/** Command-line flags, then CHANGEFLOW_* variables, then their defaults (src/config.ts). */
export function parseNodeArgs(
  argv: string[],
  env: object,
  defaults: { migrations: string; publicDir: string },
): NodeArgs | 'help' {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        db: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        migrations: { type: 'string' },
        'trust-proxy': { type: 'string' },
        public: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  const fromEnv = nodeServerVars(env);
  const db = (values.db as string | undefined) ?? fromEnv.db;
  if (!db) throw new UsageError('Name the SQLite file: --db <path> (or CHANGEFLOW_DB)');
  const rawPort = (values.port as string | undefined) ?? fromEnv.port ?? '';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65_535) {
    throw new UsageError(`--port must be a port number, 0–65535 (got "${rawPort}")`);
  }
  return {
    db,
    port,
    host: (values.host as string | undefined) ?? fromEnv.host ?? '',
    migrations: (values.migrations as string | undefined) ?? defaults.migrations,
    publicDir: (values.public as string | undefined) ?? fromEnv.publicDir ?? defaults.publicDir,
    trustProxy: trustProxy((values['trust-proxy'] as string | undefined) ?? fromEnv.trustProxy),
  };
}

function trustProxy(raw: string | undefined): TrustProxy | null {
  if (raw === undefined || raw.trim() === '') return null;
  const value = raw.trim().toLowerCase();
  if ((TRUST_PROXY_HEADERS as readonly string[]).includes(value)) return value as TrustProxy;
  throw new UsageError(
    `--trust-proxy (CHANGEFLOW_TRUST_PROXY) names the one header your proxy sets: ${TRUST_PROXY_HEADERS.join(', ')} (got "${raw}")`,
  );
}
