// Development tokens and the local secret. Local use only: production tokens come from your IdP.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { SignJWT } from 'jose';
import { DEFAULT_MAX_TTL_SECONDS, ttlSeconds } from '../../auth/ttl.mjs';

export const DEV_VARS = '.dev.vars';

/** Reads KEY=value lines of .dev.vars (wrangler's local secrets file). */
export function readDevVars(path = DEV_VARS) {
  if (!existsSync(path)) return {};
  const vars = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** .dev.vars holds secrets: readable by its owner only (0600), tightened if it was wider. */
const PRIVATE = 0o600;

function keepPrivate(path) {
  if (existsSync(path) && (statSync(path).mode & 0o777) !== PRIVATE) chmodSync(path, PRIVATE);
}

/** Makes sure .dev.vars holds `name`, created by `make` if missing; returns its value. */
function ensureDevVar(path, name, make) {
  keepPrivate(path);
  const vars = readDevVars(path);
  if (vars[name]) return vars[name];
  const value = make();
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const prefix = existing && !existing.endsWith('\n') ? `${existing}\n` : existing;
  writeFileSync(path, `${prefix}${name}=${value}\n`, { mode: PRIVATE });
  keepPrivate(path); // the mode applies on creation only, and the umask may narrow it
  return value;
}

/**
 * Makes sure .dev.vars says ENVIRONMENT (development unless it says otherwise): wrangler.toml's
 * top level is production, so that a deploy without --env is safe.
 */
export function ensureDevEnvironment(path = DEV_VARS) {
  return ensureDevVar(path, 'ENVIRONMENT', () => 'development');
}

/** Makes sure .dev.vars holds a random JWT_SECRET, so no two machines share one. */
export function ensureDevSecret(path = DEV_VARS) {
  return ensureDevVar(path, 'JWT_SECRET', () => randomBytes(32).toString('hex'));
}

/** Makes sure .dev.vars holds a random SECRETS_KEY (base64, 32 bytes), the workflow secrets' key. */
export function ensureDevSecretsKey(path = DEV_VARS) {
  return ensureDevVar(path, 'SECRETS_KEY', () => randomBytes(32).toString('base64'));
}

/**
 * A new Ed25519 audit signing key as AUDIT_SIGNING_KEY takes it: one-line JWK JSON with its key id.
 * @param {string} kid
 */
export function newAuditSigningKey(kid) {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  return JSON.stringify({ kty: jwk.kty, crv: jwk.crv, d: jwk.d, x: jwk.x, kid });
}

/** Makes sure .dev.vars holds an AUDIT_SIGNING_KEY (kid `dev-…`), the key that signs audit digests. */
export function ensureDevAuditSigningKey(path = DEV_VARS) {
  return ensureDevVar(path, 'AUDIT_SIGNING_KEY', () =>
    newAuditSigningKey(`dev-${randomBytes(4).toString('hex')}`),
  );
}

/** Refuses to mint tokens when the configuration in use is a production one. */
export function assertNotProduction(vars) {
  const env = process.env.ENVIRONMENT ?? vars.ENVIRONMENT ?? 'development';
  if (env === 'production') {
    throw new Error('Refusing to mint a development token: ENVIRONMENT is production');
  }
}

/** The JWT_MAX_TTL in force (the environment's, else .dev.vars', else 24 h), in seconds. */
export function maxTtlSeconds(vars = {}) {
  const raw = process.env.JWT_MAX_TTL?.trim() || vars.JWT_MAX_TTL?.trim();
  if (!raw) return DEFAULT_MAX_TTL_SECONDS;
  const seconds = ttlSeconds(raw);
  if (seconds === null) throw new Error(`JWT_MAX_TTL is not a lifetime (got "${raw}"; e.g. 86400 or 24h)`);
  return seconds;
}

/**
 * An HS256 token for local use, valid `expiresIn` (seconds, or with s, m, h or d; default 24 h,
 * the server's default JWT_MAX_TTL: a longer one would be refused).
 */
export async function signDevToken({ secret, sub, tenant, roles, name, audience, expiresIn = '24h' }) {
  const lifetime = ttlSeconds(expiresIn);
  if (lifetime === null) {
    throw new Error(`Token lifetime must be seconds or a number with s, m, h or d (got "${expiresIn}")`);
  }
  const iat = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ tenant, roles, ...(name ? { name } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + lifetime);
  // Outside development the service only accepts tokens minted for it (JWT_AUDIENCE).
  if (audience) jwt.setAudience(audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
