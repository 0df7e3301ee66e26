// npm run token -- --tenant acme --roles admin [--sub alice] [--name "Alice"] [--expires 7d]
import { parseArgs } from 'node:util';
import { assertNotProduction, ensureDevSecret, readDevVars, signDevToken } from './devToken.mjs';

const ROLES = ['viewer', 'requester', 'approver', 'change_manager', 'admin'];

const { values } = parseArgs({
  options: {
    tenant: { type: 'string', default: 'acme' },
    roles: { type: 'string', default: 'admin' },
    sub: { type: 'string' },
    name: { type: 'string' },
    expires: { type: 'string', default: '7d' },
  },
});

try {
  assertNotProduction(readDevVars());
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
