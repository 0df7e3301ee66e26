// Development tokens and the local secret. Local use only: production tokens come from your IdP.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { SignJWT } from 'jose';

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

/** Refuses to mint tokens when the configuration in use is a production one. */
export function assertNotProduction(vars) {
  const env = process.env.ENVIRONMENT ?? vars.ENVIRONMENT ?? 'development';
  if (env === 'production') {
    throw new Error('Refusing to mint a development token: ENVIRONMENT is production');
  }
}

export async function signDevToken({ secret, sub, tenant, roles, name, expiresIn = '7d' }) {
  return new SignJWT({ tenant, roles, ...(name ? { name } : {}) })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}
