import { DEV_VARS, ensureDevSecret, ensureDevSecretsKey } from './devVars.mjs';

export { DEV_VARS };

/**
 * In development only, and only when the environment names no key (JWT_SECRET, JWT_JWKS_URL):
 * the JWT_SECRET of .dev.vars (created at random if missing), the one `npm start` and
 * `npm run token` use, so a fresh clone starts with one command and its tokens are accepted.
 */
export function devSecret(env: Record<string, string | undefined>, path = DEV_VARS): string | null {
  const environment = env.ENVIRONMENT?.trim() || 'development';
  if (environment !== 'development' || env.JWT_SECRET?.trim() || env.JWT_JWKS_URL?.trim()) return null;
  return ensureDevSecret(path);
}

/**
 * In development only, and only when the environment sets no SECRETS_KEY (main.ts asks only when
 * JWT_SECRET came from .dev.vars too): the one of .dev.vars
 * (created at random if missing), so workflow secrets can be saved on a fresh clone and still
 * open after a restart.
 */
export function devSecretsKey(env: Record<string, string | undefined>, path = DEV_VARS): string | null {
  const environment = env.ENVIRONMENT?.trim() || 'development';
  if (environment !== 'development' || env.SECRETS_KEY?.trim()) return null;
  return ensureDevSecretsKey(path);
}
