import { env } from 'cloudflare:test';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyJwt } from '../../src/auth/jwt';
import { parseConfig } from '../../src/config';

/** Verified tokens are remembered per isolate; these pin what a remembered token may not skip. */
const config = parseConfig({ JWT_SECRET: env.JWT_SECRET, ENVIRONMENT: 'development' });

const sign = (claims: Record<string, unknown>, exp: number, secret = env.JWT_SECRET) =>
  new SignJWT({ tenant: 'cache', roles: ['viewer'], ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('vic')
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));

afterEach(() => vi.useRealTimers());

describe('the verified-token cache', () => {
  it('still refuses a remembered token once it has expired (beyond the clock skew)', async () => {
    const now = Date.now();
    const tok = await sign({}, Math.floor(now / 1000) + 2);
    expect((await verifyJwt(tok, config)).id).toBe('vic');
    vi.useFakeTimers({ now: now + 70_000 });
    await expect(verifyJwt(tok, config)).rejects.toThrow(/expired/);
  });

  it('does not let a token accepted under one secret pass under another', async () => {
    const tok = await sign({}, Math.floor(Date.now() / 1000) + 600);
    expect((await verifyJwt(tok, config)).tenantId).toBe('cache');
    const other = parseConfig({
      JWT_SECRET: 'another-secret-0123456789abcdef0123456789',
      ENVIRONMENT: 'development',
    });
    await expect(verifyJwt(tok, other)).rejects.toThrow(/signature/);
  });

  it('never remembers a refusal: a bad signature stays bad', async () => {
    const forged = await sign(
      {},
      Math.floor(Date.now() / 1000) + 600,
      'not-the-secret-0123456789abcdef012345',
    );
    await expect(verifyJwt(forged, config)).rejects.toThrow(/signature/);
    await expect(verifyJwt(forged, config)).rejects.toThrow(/signature/);
  });
});
