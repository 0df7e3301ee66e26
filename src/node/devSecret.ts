import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** wrangler's local secrets file, which `npm start` and `npm run token` use too. */
export const DEV_VARS = '.dev.vars';

/**
 * In development only, and only when the environment names no key (JWT_SECRET, JWT_JWKS_URL):
 * the JWT_SECRET of .dev.vars, written there at random first if missing, as `npm start` does. So
 * a fresh clone starts with one command, and `npm run token` mints tokens this server accepts.
 */
export function devSecret(env: Record<string, string | undefined>, path = DEV_VARS): string | null {
  const environment = env.ENVIRONMENT?.trim() || 'development';
  if (environment !== 'development' || env.JWT_SECRET?.trim() || env.JWT_JWKS_URL?.trim()) return null;
  const existing = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const found = /^\s*JWT_SECRET\s*=\s*"?(.*?)"?\s*$/m.exec(existing)?.[1];
  if (found) return found;
  const secret = randomBytes(32).toString('hex');
  const prefix = existing && !existing.endsWith('\n') ? `${existing}\n` : existing;
  writeFileSync(path, `${prefix}JWT_SECRET=${secret}\n`);
  return secret;
}
