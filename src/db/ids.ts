const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function randomChars(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  let out = '';
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

/** `CHG-YYYYMMDD-XXXXXX`, the change id people read aloud in a CAB meeting. */
export function newChangeId(now: Date): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  return `CHG-${day}-${randomChars(6)}`;
}

/** Opaque ids for rows people never type. */
export const newId = (prefix: string): string => `${prefix}_${crypto.randomUUID()}`;
