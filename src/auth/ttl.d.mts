// Types of ttl.mjs.
export const DEFAULT_MAX_TTL_SECONDS: number;
export function ttlSeconds(text: string): number | null;
