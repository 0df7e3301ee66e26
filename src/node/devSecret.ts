import { DEV_VARS, ensureDevSecret } from '../../scripts/devToken.mjs';

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
