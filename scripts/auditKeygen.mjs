// npm run -s audit:keygen [-- --kid <id>]
//
// Prints a new Ed25519 audit signing key: the AUDIT_SIGNING_KEY value (private, one line) and,
// on stderr, its public JWK (what /.well-known/changeflow-audit-keys.json will publish, and what
// goes into AUDIT_PUBLIC_KEYS once the key is replaced). See docs/operations.md, "Audit digests".
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { newAuditSigningKey } from '../src/runtime/node/devVars.mjs';

const { values } = parseArgs({ options: { kid: { type: 'string' } } });
const kid = values.kid ?? `${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`;
const key = newAuditSigningKey(kid);
const { d: _private, ...publicJwk } = JSON.parse(key);
console.log(key);
console.error(`public key (kid ${kid}): ${JSON.stringify(publicJwk)}`);
