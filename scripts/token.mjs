// npm run -s token -- --tenant acme --roles admin [--sub alice] [--name "Alice"] [--expires 24h]
// (-s: npm prints no banner, so T=$(npm run -s token -- …) captures the token alone); --help: usage.
// --expires: seconds or a number with s, m, h or d; at most JWT_MAX_TTL (default 24h), which the
// server enforces too.
import { parseArgs } from 'node:util';
import { ttlSeconds } from '../src/auth/ttl.mjs';
import {
  assertNotProduction,
  ensureDevSecret,
  maxTtlSeconds,
  readDevVars,
  signDevToken,
} from '../src/runtime/node/devVars.mjs';

const ROLES = ['viewer', 'requester', 'approver', 'change_manager', 'admin'];

const USAGE = `Usage: npm run -s token -- [--tenant acme] [--roles admin] [--sub id] [--name "Full Name"] [--expires 24h]

Prints a development token (HS256, signed with .dev.vars' JWT_SECRET) on stdout, nothing else:
  T=$(npm run -s token -- --roles approver --sub abe)     (-s keeps npm's banner out of $T)

  --tenant   the tenant the token is for (default acme)
  --roles    comma-separated: ${ROLES.join(', ')} (default admin)
  --sub      the subject (default dev-<first role>); two approvers of one change need two subjects
  --name     a display name
  --expires  seconds or a number with s, m, h or d (default 24h; at most JWT_MAX_TTL)

Refuses when ENVIRONMENT is production: production tokens come from your identity provider.`;

/** Parsed options, or a usage error (unknown option, missing value) with the usage text. */
function parseOptions() {
  try {
    return parseArgs({
      options: {
        tenant: { type: 'string', default: 'acme' },
        roles: { type: 'string', default: 'admin' },
        sub: { type: 'string' },
        name: { type: 'string' },
        expires: { type: 'string', default: '24h' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    process.exit(2);
  }
}

const values = parseOptions();
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

try {
  const vars = readDevVars();
  assertNotProduction(vars);
  const lifetime = ttlSeconds(values.expires);
  if (lifetime === null) {
    throw new Error(`--expires must be seconds or a number with s, m, h or d (got "${values.expires}")`);
  }
  const max = maxTtlSeconds(vars);
  if (lifetime > max) {
    throw new Error(
      `--expires ${values.expires} is longer than JWT_MAX_TTL (${max} s): the server would refuse the token`,
    );
  }
  const roles = values.roles.split(',').map((r) => r.trim());
  const unknown = roles.filter((r) => !ROLES.includes(r));
  if (unknown.length) throw new Error(`Unknown role(s): ${unknown.join(', ')}; use ${ROLES.join(', ')}`);
  const secret = ensureDevSecret();
  const sub = values.sub ?? `dev-${roles[0]}`;
  console.log(
    await signDevToken({
      secret,
      sub,
      tenant: values.tenant,
      roles,
      name: values.name,
      expiresIn: values.expires,
    }),
  );
} catch (e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}
