// Token lifetimes as people write them. Plain JavaScript (typed by ttl.d.mts) so that the Worker's
// configuration and the `npm run token` script, which runs without a TypeScript loader, share it.

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 };

/** The default JWT_MAX_TTL: the longest lifetime a token may have, in seconds (24 hours). */
export const DEFAULT_MAX_TTL_SECONDS = 24 * 3600;

/**
 * Seconds in a lifetime written as a whole number of seconds (`86400`) or with one unit (`90s`,
 * `30m`, `24h`, `1d`); null for anything else, including zero.
 */
export function ttlSeconds(text) {
  const m = /^\s*(\d{1,9})\s*([smhd]?)\s*$/i.exec(String(text));
  if (!m) return null;
  const seconds = Number(m[1]) * UNIT_SECONDS[(m[2] || 's').toLowerCase()];
  return seconds > 0 ? seconds : null;
}
