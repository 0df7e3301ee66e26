// npm run token -- --tenant acme --roles admin [--sub alice] [--name "Alice"] [--expires 24h]
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
} from './devToken.mjs';

const ROLES = ['viewer', 'requester', 'approver', 'change_manager', 'admin'];

const { values } = parseArgs({
  options: {
    tenant: { type: 'string', default: 'acme' },
    roles: { type: 'string', default: 'admin' },
    sub: { type: 'string' },
    name: { type: 'string' },
    expires: { type: 'string', default: '24h' },
  },
});

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
  console.error(e.message);
  process.exit(1);
}
