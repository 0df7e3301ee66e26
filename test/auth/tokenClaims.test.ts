import { env } from 'cloudflare:test';
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AppBindings, createApp } from '../../src/http/app';
import { schema } from '../../src/schema';

/**
 * What a token must say about itself: an expiry, a lifetime of at most JWT_MAX_TTL, a start
 * (`nbf`, `iat`) that has come (60 s of clock skew), and, outside development, this deployment's
 * audience (and, with JWKS, its issuer). Each case is a token an attacker or a careless IdP
 * configuration would produce, sent as a caller sends it.
 */
const app = createApp(schema);
const nowS = () => Math.floor(Date.now() / 1000);
const HOUR = 3600;

type Errors = { message: string; extensions: { code: string } }[];

async function me(token: string, bindings: AppBindings = env) {
  const res = await app.fetch(
    new Request('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id tenantId } }' }),
    }),
    bindings,
  );
  return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: Errors } };
}

/** An HS256 token with exactly these claims (no defaults beyond sub, tenant and roles). */
const hs256 = (claims: JWTPayload, secret = env.JWT_SECRET) =>
  new SignJWT({ sub: 'tess', tenant: 'token-claims', roles: ['viewer'], ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .sign(new TextEncoder().encode(secret));

async function refused(token: string, message: RegExp, bindings?: AppBindings) {
  const { status, body } = await me(token, bindings);
  expect(status).toBe(401);
  expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  expect(body.errors?.[0]?.message).toMatch(message);
}

afterEach(() => vi.restoreAllMocks());

describe('token lifetime', () => {
  it('refuses a token without exp, saying that tokens must expire', async () => {
    await refused(await hs256({ iat: nowS() }), /no "exp" claim.*must expire/);
  });

  it('refuses a 7-day token (over the default JWT_MAX_TTL of 24 h), naming the limit', async () => {
    const iat = nowS();
    await refused(await hs256({ iat, exp: iat + 7 * 24 * HOUR }), /lives too long.*86400 s \(JWT_MAX_TTL\)/);
  });

  it('measures exp − now when there is no iat', async () => {
    await refused(await hs256({ exp: nowS() + 48 * HOUR }), /lives too long/);
    expect((await me(await hs256({ exp: nowS() + 23 * HOUR }))).status).toBe(200);
  });

  it('accepts exactly 24 h, and follows a configured JWT_MAX_TTL', async () => {
    const iat = nowS();
    expect((await me(await hs256({ iat, exp: iat + 24 * HOUR }))).status).toBe(200);
    const week = await hs256({ iat, exp: iat + 7 * 24 * HOUR });
    expect((await me(week, { ...env, JWT_MAX_TTL: '7d' })).status).toBe(200);
    await refused(await hs256({ iat, exp: iat + 2 * HOUR }), /at most 3600 s/, {
      ...env,
      JWT_MAX_TTL: '1h',
    });
  });

  it('refuses a token whose nbf is in the future (beyond the 60 s skew), accepts one within it', async () => {
    await refused(
      await hs256({ iat: nowS(), nbf: nowS() + 300, exp: nowS() + HOUR }),
      /not valid yet \(nbf\)/,
    );
    expect((await me(await hs256({ iat: nowS(), nbf: nowS() + 30, exp: nowS() + HOUR }))).status).toBe(200);
  });

  it('refuses a token issued in the future (iat beyond the skew)', async () => {
    const iat = nowS() + 600;
    await refused(await hs256({ iat, exp: iat + HOUR }), /issued in the future \(iat\)/);
  });

  it('accepts a token that expired within the 60 s skew, refuses one beyond it', async () => {
    expect((await me(await hs256({ iat: nowS() - HOUR, exp: nowS() - 45 }))).status).toBe(200);
    await refused(await hs256({ iat: nowS() - HOUR, exp: nowS() - 90 }), /expired/);
  });
});

describe('outside development, a token must be minted for this deployment', () => {
  const ISSUER = 'https://idp.example.test/';
  const AUDIENCE = 'changeflow';
  const production = { ...env, ENVIRONMENT: 'production', JWT_AUDIENCE: AUDIENCE };

  it('refuses a token for another audience in production mode', async () => {
    const valid = { iat: nowS(), exp: nowS() + HOUR };
    await refused(await hs256({ ...valid, aud: 'another-app' }), /"aud"/, production);
    await refused(await hs256(valid), /"aud"/, production);
    expect((await me(await hs256({ ...valid, aud: AUDIENCE }), production)).status).toBe(200);
  });

  describe('with JWKS', () => {
    let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
    let published: JWK[];
    const JWKS_URL = 'https://idp.example.test/claims/jwks.json';
    const jwks = { ...production, JWT_SECRET: '', JWT_JWKS_URL: JWKS_URL, JWT_ISSUER: ISSUER };

    beforeAll(async () => {
      rsa = await generateKeyPair('RS256', { extractable: true });
      published = [{ ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }];
    });

    const rs256 = (claims: JWTPayload) =>
      new SignJWT({ sub: 'ivy', tenant: 'token-claims', roles: ['viewer'], ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(rsa.privateKey);

    it('refuses a token the same IdP minted for another issuer or audience', async () => {
      const realFetch = globalThis.fetch;
      vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) =>
        (input instanceof Request ? input.url : String(input)) === JWKS_URL
          ? Response.json({ keys: published })
          : realFetch(input, init),
      );
      await refused(await rs256({ iss: 'https://other-tenant.idp.example/', aud: AUDIENCE }), /"iss"/, jwks);
      await refused(await rs256({ iss: ISSUER, aud: 'another-app' }), /"aud"/, jwks);
      expect((await me(await rs256({ iss: ISSUER, aud: AUDIENCE }), jwks)).status).toBe(200);
    });
  });
});

describe('configuration outside development', () => {
  const post = async (bindings: AppBindings, claims: JWTPayload = { iat: nowS(), exp: nowS() + HOUR }) =>
    app.fetch(
      new Request('http://cf.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await hs256(claims)}` },
        body: '{"query":"{ me { id } }"}',
      }),
      bindings,
    );

  it('answers CONFIG_INVALID naming JWT_AUDIENCE in production without it (a foreign token gets nothing)', async () => {
    const foreign = {
      iat: nowS(),
      exp: nowS() + HOUR,
      aud: 'another-app',
      iss: 'https://elsewhere.example/',
    };
    const res = await post(
      { ...env, ENVIRONMENT: 'production', CORS_ORIGINS: 'https://app.example' },
      foreign,
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; message: string; variables: string[] } };
    expect(body).not.toHaveProperty('data');
    expect(body.error.code).toBe('CONFIG_INVALID');
    expect(body.error.variables).toEqual(['JWT_AUDIENCE']);
    expect(body.error.message).toMatch(/JWT_AUDIENCE must be set in production/);
  });

  it('names JWT_AUDIENCE and JWT_ISSUER in staging with JWKS and neither', async () => {
    const res = await post({
      ...env,
      ENVIRONMENT: 'staging',
      JWT_SECRET: '',
      JWT_JWKS_URL: 'https://idp.example.test/jwks.json',
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { error: { code: string; variables: string[] } };
    expect(body.error).toMatchObject({ code: 'CONFIG_INVALID', variables: ['JWT_AUDIENCE', 'JWT_ISSUER'] });
  });
});
