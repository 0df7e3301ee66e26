import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { Config } from '../config';
import type { Principal } from '../domain/principal';
import { AppError } from '../errors';
import { grantedRoles, SUPPORTED_SCOPES } from './scopes';

/** Seconds of clock difference tolerated between the token issuer and us (exp, nbf, iat). */
export const CLOCK_TOLERANCE_S = 60;
/** How long a fetched JWKS is trusted before it is fetched again. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;
/** Least time between two JWKS fetches, so unknown `kid`s cannot make us hammer the IdP. */
const JWKS_COOLDOWN_MS = 30_000;

const ASYMMETRIC_ALGS = ['RS256', 'ES256'];

const encoder = new TextEncoder();
type Jwks = ReturnType<typeof createRemoteJWKSet>;
/** Per isolate: remote key sets by URL (each with its own cache) and HMAC keys by secret. */
const jwksByUrl = new Map<string, Jwks>();
/** Imported once: jose would otherwise import the raw secret again for every token. */
const secretKeys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = secretKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'verify',
    ]);
    secretKeys.set(secret, key);
  }
  return key;
}

/**
 * Tokens already verified, per isolate: a client sends the same token on every request, and the
 * signature check was the costliest step of a request (a CPU profile of the read path). A hit
 * still enforces `exp`; entries live at most VERIFIED_TTL_MS and are keyed by the token and the
 * configuration that accepted it, so another secret, issuer or audience never reuses them.
 */
const VERIFIED_MAX = 1000;
const VERIFIED_TTL_MS = 5 * 60_000;
const verified = new Map<string, { principal: Principal; expMs: number; until: number }>();

function remember(key: string, principal: Principal, exp: number, now: number) {
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
  verified.set(key, { principal, expMs: exp * 1000, until: now + VERIFIED_TTL_MS });
}

function recall(key: string, now: number): Principal | null {
  const hit = verified.get(key);
  if (!hit) return null;
  if (now > hit.until) {
    verified.delete(key);
    return null;
  }
  if (now > hit.expMs + CLOCK_TOLERANCE_S * 1000) {
    verified.delete(key);
    reject('Token expired');
  }
  return hit.principal;
}

function keysFor(config: Config) {
  const { secret, previousSecret, jwksUrl } = config.jwt;
  const secretKey = secret ? hmacKey(secret) : null;
  const previousKey = previousSecret ? hmacKey(previousSecret) : null;
  let jwks: Jwks | null = null;
  if (jwksUrl) {
    jwks =
      jwksByUrl.get(jwksUrl) ??
      createRemoteJWKSet(new URL(jwksUrl), {
        cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
        cooldownDuration: JWKS_COOLDOWN_MS,
      });
    jwksByUrl.set(jwksUrl, jwks);
  }
  return { secret: secretKey, previous: previousKey, jwks };
}

function reject(message: string): never {
  throw new AppError('UNAUTHENTICATED', message);
}

function explain(e: unknown): never {
  if (e instanceof AppError) throw e;
  if (e instanceof errors.JWTExpired) reject('Token expired');
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'exp' && e.reason === 'missing') {
      reject('Token has no "exp" claim: every token must expire (JWT_MAX_TTL at most after it is issued)');
    }
    if (e.claim === 'nbf') reject('Token is not valid yet (nbf)');
    reject(`Token claim "${e.claim}" is invalid: ${e.reason}`);
  }
  if (e instanceof errors.JOSEAlgNotAllowed) reject('Token algorithm is not allowed');
  if (e instanceof errors.JWSSignatureVerificationFailed) reject('Token signature is invalid');
  if (e instanceof errors.JWKSNoMatchingKey) reject('Token key id (kid) is not in the issuer key set');
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid) {
    reject('The issuer key set (JWT_JWKS_URL) could not be fetched; try again shortly');
  }
  reject('Token is malformed or invalid');
}

/**
 * RFC 8707: a token presented to a resource (the MCP endpoint) must name that resource's URL in
 * `aud`, so a token an authorization server issued for another API cannot be replayed here.
 * Development also accepts a token with no `aud` at all (what `npm run token` mints), never one
 * issued for something else.
 */
function checkResource(aud: JWTPayload['aud'], resource: string, environment: Config['environment']): void {
  if (aud === undefined && environment === 'development') return;
  const named = aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
  if (named.includes(resource)) return;
  reject(
    named.length === 0
      ? `Token has no "aud" claim: a token for this MCP server must name ${resource} in "aud" (RFC 8707: request it with resource=${resource})`
      : `Token was issued for another resource (aud ${named.map((a) => JSON.stringify(a)).join(', ')}): this MCP server accepts only tokens whose "aud" names ${resource} (RFC 8707: request it with resource=${resource})`,
  );
}

/**
 * Verifies a bearer JWT and turns its claims into a Principal, or throws UNAUTHENTICATED
 * (FORBIDDEN when it is valid but its `scope` grants no role).
 * HS256 tokens are checked with JWT_SECRET, RS256/ES256 with the keys at JWT_JWKS_URL; the
 * header's `alg` only picks which of the configured keys to try, so `none` and algorithm
 * confusion (an HS256 token "signed" with a public key) are refused.
 *
 * `resource`, for the MCP endpoint, is the URL `aud` must name instead of JWT_AUDIENCE.
 */
export async function verifyJwt(token: string, config: Config, resource?: string): Promise<Principal> {
  const { jwt } = config;
  const audience = resource === undefined ? `aud:${jwt.audience ?? ''}` : `resource:${resource}`;
  const cacheKey = `${jwt.secret ?? ''}\u0000${jwt.previousSecret ?? ''}\u0000${jwt.jwksUrl ?? ''}\u0000${jwt.issuer ?? ''}\u0000${audience}\u0000${config.environment}\u0000${jwt.maxTtlSeconds}\u0000${token}`;
  const now = Date.now();
  const known = recall(cacheKey, now);
  if (known) return known;
  const { secret, previous, jwks } = keysFor(config);
  // jose checks that `exp` is present and not past, and `nbf`, within the skew. Its maxTokenAge
  // does not fit the lifetime rule (it measures age since `iat` and makes `iat` mandatory), so
  // checkLifetime below measures `exp − iat` itself.
  const options = {
    clockTolerance: CLOCK_TOLERANCE_S,
    requiredClaims: ['exp'],
    ...(config.jwt.issuer ? { issuer: config.jwt.issuer } : {}),
    // The MCP resource's `aud` rule is checkResource's, after the signature.
    ...(resource === undefined && config.jwt.audience ? { audience: config.jwt.audience } : {}),
  };
  let payload: JWTPayload;
  try {
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      reject('Token is malformed: it is not a signed JWT');
    }
    if (alg === 'HS256' && secret) {
      ({ payload } = await verifyHs256(token, await secret, previous && (await previous), options));
    } else if (typeof alg === 'string' && ASYMMETRIC_ALGS.includes(alg) && jwks) {
      ({ payload } = await jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC_ALGS }));
    } else {
      reject(`Token algorithm ${JSON.stringify(alg)} is not accepted by this server`);
    }
  } catch (e) {
    explain(e);
  }
  // requiredClaims made jose check that `exp` is there and a number.
  const claims = payload as JWTPayload & { exp: number };
  checkLifetime(claims, jwt.maxTtlSeconds, now / 1000);
  if (resource !== undefined) checkResource(claims.aud, resource, config.environment);
  const principal = principalFromClaims(claims);
  remember(cacheKey, principal, claims.exp, now);
  return principal;
}

/**
 * HS256 with JWT_SECRET, or, during a rotation, with JWT_SECRET_PREVIOUS when the current secret
 * did not sign it. Only a wrong signature falls through to the previous secret: an expired or
 * otherwise invalid token signed with the current one is refused as it is.
 */
async function verifyHs256(
  token: string,
  current: CryptoKey,
  previous: CryptoKey | null,
  options: JWTVerifyOptions,
) {
  try {
    return await jwtVerify(token, current, { ...options, algorithms: ['HS256'] });
  } catch (e) {
    if (!previous || !(e instanceof errors.JWSSignatureVerificationFailed)) throw e;
    return jwtVerify(token, previous, { ...options, algorithms: ['HS256'] });
  }
}

/**
 * A token is refused when it was issued in the future (`iat` beyond the clock skew) or lives
 * longer than JWT_MAX_TTL: `exp − iat`, or, without `iat`, `exp − now` (plus the skew, since our
 * clock may run behind the issuer's).
 */
function checkLifetime(payload: JWTPayload & { exp: number }, maxTtlSeconds: number, nowS: number): void {
  const { exp, iat } = payload;
  if (typeof iat === 'number' && iat > nowS + CLOCK_TOLERANCE_S) {
    reject("Token was issued in the future (iat): check the issuer's clock");
  }
  const lifetime = typeof iat === 'number' ? exp - iat : exp - nowS - CLOCK_TOLERANCE_S;
  if (lifetime > maxTtlSeconds) {
    const asked =
      typeof iat === 'number'
        ? `exp − iat = ${Math.round(lifetime)} s`
        : `it expires in ${Math.round(exp - nowS)} s`;
    reject(
      `Token lives too long (${asked}); this server accepts tokens of at most ${maxTtlSeconds} s (JWT_MAX_TTL)`,
    );
  }
}

function principalFromClaims(payload: JWTPayload): Principal {
  const { sub, tenant } = payload as { sub?: unknown; tenant?: unknown };
  if (typeof sub !== 'string' || sub === '') reject('Token has no "sub" claim');
  if (typeof tenant !== 'string' || tenant === '') reject('Token has no "tenant" claim');
  const granted = grantedRoles(payload as { roles?: unknown; scope?: unknown });
  if ('problem' in granted) {
    if (granted.problem === 'no_scope_role') {
      throw new AppError(
        'FORBIDDEN',
        `Token "scope" grants no ChangeFlow role: it needs one of ${SUPPORTED_SCOPES.join(', ')}${
          'roles' in payload ? ' naming a role its "roles" claim holds (or one below it)' : ''
        }`,
      );
    }
    reject(
      {
        no_roles: `Token has neither a "roles" claim nor a "scope" claim (scopes: ${SUPPORTED_SCOPES.join(' ')})`,
        bad_roles: 'Token "roles" claim must be a non-empty list of known roles',
        bad_scope: 'Token "scope" claim must be a space-separated string of scopes',
      }[granted.problem],
    );
  }
  const name = typeof payload.name === 'string' ? payload.name : null;
  const email = typeof payload.email === 'string' ? payload.email : null;
  const scoped = payload.scope !== undefined ? { scoped: true as const } : {};
  return { id: sub, tenantId: tenant, roles: granted.roles, kind: 'user', name, email, ...scoped };
}
