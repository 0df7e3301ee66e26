/** API key format and hashing. Keys are 160-bit random secrets, so a plain SHA-256 is enough. */

export const API_KEY_PREFIX = 'cf_';
const BODY = /^cf_[A-Za-z0-9]{40}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export const looksLikeApiKey = (value: string): boolean => value.startsWith(API_KEY_PREFIX);
export const isWellFormedApiKey = (value: string): boolean => BODY.test(value);

/** A new key: `cf_` and 40 base-62 characters (about 238 bits). */
export function generateApiKey(): string {
  // 248 is the largest multiple of 62 below 256: rejecting bytes above it keeps every character equally likely.
  let body = '';
  while (body.length < 40) {
    for (const b of crypto.getRandomValues(new Uint8Array(48))) {
      if (b < 248 && body.length < 40) body += ALPHABET[b % 62];
    }
  }
  return `${API_KEY_PREFIX}${body}`;
}

export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** What lists show instead of the key: enough to recognise it, useless to an attacker. */
export const displayPrefix = (key: string): string => key.slice(0, API_KEY_PREFIX.length + 6);
