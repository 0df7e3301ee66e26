import { env } from 'cloudflare:test';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';

/** A fresh JWKS URL per test: the key-set cache is per URL and per isolate, like in production. */
let JWKS_URL = '';
let urlCounter = 0;
const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'changeflow';
const app = createApp(schema);

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;
let rsa: KeyPair;
let ec: KeyPair;
let rotated: KeyPair;
let published: JWK[] = [];
let jwksFetches = 0;

/** The IdP's JWKS endpoint, served by a stubbed fetch (tests reach no outside address). */
function serveJwks() {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url !== JWKS_URL) return realFetch(input, init);
    jwksFetches++;
    return Response.json({ keys: published });
  });
}

async function jwk(pair: KeyPair, kid: string, alg: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' };
}

function sign(pair: KeyPair, kid: string, alg: 'RS256' | 'ES256', claims: Record<string, unknown> = {}) {
  return new SignJWT({ tenant: 'jwks', roles: ['viewer'], ...claims })
    .setProtectedHeader({ alg, kid })
    .setSubject('ivy')
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(pair.privateKey);
}

/** Each test gets fresh bindings, so the per-configuration JWKS cache starts empty. */
async function me(token: string, extra: Record<string, string> = {}) {
  const bindings = { ...env, JWT_JWKS_URL: JWKS_URL, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE, ...extra };
  const res = await app.fetch(
    new Request('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ me { id tenantId roles } }' }),
    }),
    bindings,
  );
  const body = (await res.json()) as {
    data?: { me: { id: string } };
    errors?: { message: string; extensions: { code: string } }[];
  };
  return { status: res.status, body };
}

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  ec = await generateKeyPair('ES256', { extractable: true });
  rotated = await generateKeyPair('RS256', { extractable: true });
});

beforeEach(() => {
  JWKS_URL = `https://idp.example.test/${++urlCounter}/jwks.json`;
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('JWT verification through JWT_JWKS_URL', () => {
  it.each([
    ['RS256', () => sign(rsa, 'rsa-1', 'RS256')],
    ['ES256', () => sign(ec, 'ec-1', 'ES256')],
  ])('accepts a %s token whose key is in the JWKS', async (_alg, make) => {
    published = [await jwk(rsa, 'rsa-1', 'RS256'), await jwk(ec, 'ec-1', 'ES256')];
    serveJwks();
    const { status, body } = await me(await make());
    expect(status).toBe(200);
    expect(body.data?.me).toEqual({ id: 'ivy', tenantId: 'jwks', roles: ['viewer'] });
  });

  it('caches the key set instead of fetching it on every request', async () => {
    published = [await jwk(rsa, 'rsa-1', 'RS256')];
    serveJwks();
    jwksFetches = 0;
    const token = await sign(rsa, 'rsa-1', 'RS256');
    const bindings = { JWT_ISSUER: ISSUER };
    for (let i = 0; i < 5; i++) expect((await me(token, bindings)).status).toBe(200);
    expect(jwksFetches).toBeLessThanOrEqual(1);
  });

  it('follows a key rotation: a new key is picked up, a removed key is refused', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    published = [await jwk(rsa, 'rsa-1', 'RS256')];
    serveJwks();
    const bindings = { JWT_AUDIENCE: AUDIENCE };
    expect((await me(await sign(rsa, 'rsa-1', 'RS256'), bindings)).status).toBe(200);

    // The IdP adds a key: a token with the new kid triggers a refetch (after the 30 s cooldown).
    published = [await jwk(rsa, 'rsa-1', 'RS256'), await jwk(rotated, 'rsa-2', 'RS256')];
    vi.setSystemTime(Date.now() + 31_000);
    expect((await me(await sign(rotated, 'rsa-2', 'RS256'), bindings)).status).toBe(200);

    // The IdP removes the old key: once the cache expires, tokens signed with it are refused.
    published = [await jwk(rotated, 'rsa-2', 'RS256')];
    vi.setSystemTime(Date.now() + 11 * 60_000);
    const old = await me(await sign(rsa, 'rsa-1', 'RS256'), bindings);
    expect(old.status).toBe(401);
    expect(old.body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect((await me(await sign(rotated, 'rsa-2', 'RS256'), bindings)).status).toBe(200);
  });

  it('refuses a token signed by a key the JWKS does not hold', async () => {
    published = [await jwk(rsa, 'rsa-1', 'RS256')];
    serveJwks();
    const forged = await sign(rotated, 'rsa-1', 'RS256');
    const { status, body } = await me(forged);
    expect(status).toBe(401);
    expect(body.errors?.[0]?.message).toBe('Token signature is invalid');
  });

  it('refuses algorithm confusion: an HS256 token keyed with the public key', async () => {
    published = [await jwk(rsa, 'rsa-1', 'RS256')];
    serveJwks();
    const publicJwk = JSON.stringify(await jwk(rsa, 'rsa-1', 'RS256'));
    const confused = await new SignJWT({ tenant: 'jwks', roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setSubject('mallory')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(publicJwk));
    const { status, body } = await me(confused);
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['wrong issuer', { iss: 'https://evil.example/' }, /"iss"/],
    ['wrong audience', { aud: 'someone-else' }, /"aud"/],
    ['not yet valid', { nbf: Math.floor(Date.now() / 1000) + 3600 }, /not valid yet/],
    ['expired beyond the clock skew', { exp: Math.floor(Date.now() / 1000) - 120 }, /expired/],
    ['missing tenant', { tenant: undefined }, /tenant/],
  ])('refuses a token with %s', async (_case, claims, message) => {
    published = [await jwk(rsa, 'rsa-1', 'RS256')];
    serveJwks();
    const { tenant, ...rest }: Record<string, unknown> = {
      tenant: 'jwks',
      roles: ['viewer'],
      iss: ISSUER,
      aud: AUDIENCE,
      ...claims,
    };
    const token = await new SignJWT({
      ...(tenant ? { tenant } : {}),
      ...rest,
      exp: (rest.exp as number | undefined) ?? Math.floor(Date.now() / 1000) + 600,
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setSubject('ivy')
      .sign(rsa.privateKey);
    const { status, body } = await me(token);
    expect(status).toBe(401);
    expect(body.errors?.[0]?.message).toMatch(message);
  });

  it('accepts a token that expired within the 60 s clock-skew allowance', async () => {
    published = [await jwk(rsa, 'rsa-1', 'RS256')];
    serveJwks();
    const token = await new SignJWT({ tenant: 'jwks', roles: ['viewer'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' })
      .setSubject('ivy')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 10)
      .sign(rsa.privateKey);
    expect((await me(token)).status).toBe(200);
  });

  it('says so when the key set cannot be fetched, without a 500', async () => {
    vi.spyOn(globalThis, 'fetch').mockImplementation(async () => new Response('down', { status: 503 }));
    const { status, body } = await me(await sign(rsa, 'rsa-1', 'RS256'));
    expect(status).toBe(401);
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('rotating JWT_SECRET with JWT_SECRET_PREVIOUS', () => {
  const NEW = 'n'.repeat(48);
  const OLD = env.JWT_SECRET;
  const OTHER = 'x'.repeat(48);
  const ask = async (tok: string, vars: Record<string, string>) => {
    const res = await app.fetch(
      new Request('http://cf.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
        body: JSON.stringify({ query: '{ me { id } }' }),
      }),
      { ...env, ...vars },
    );
    const body = (await res.json()) as {
      data?: { me: { id: string } };
      errors?: { extensions: { code: string } }[];
    };
    return {
      status: res.status,
      id: body.data?.me.id ?? null,
      code: body.errors?.[0]?.extensions.code ?? null,
    };
  };

  it('keeps tokens signed with the replaced secret working during the rotation, and only then', async () => {
    const old = await token({ sub: 'olga', secret: OLD });
    const fresh = await token({ sub: 'nina', secret: NEW });
    const rotating = { JWT_SECRET: NEW, JWT_SECRET_PREVIOUS: OLD };
    expect(await ask(old, rotating)).toMatchObject({ status: 200, id: 'olga' });
    expect(await ask(fresh, rotating)).toMatchObject({ status: 200, id: 'nina' });
    // Once the previous secret is removed, its tokens end.
    expect(await ask(old, { JWT_SECRET: NEW })).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await ask(fresh, { JWT_SECRET: NEW })).toMatchObject({ status: 200, id: 'nina' });
  });

  it('accepts no other secret, and an expired token of the previous one stays expired', async () => {
    const rotating = { JWT_SECRET: NEW, JWT_SECRET_PREVIOUS: OLD };
    expect(await ask(await token({ secret: OTHER }), rotating)).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
    expect(await ask(await token({ secret: OLD, expiresIn: '-1h' }), rotating)).toMatchObject({
      status: 401,
      code: 'UNAUTHENTICATED',
    });
  });
});
