import { errors, jwtVerify } from 'jose';
import type { Config } from '../config';
import { AppError } from '../errors';
import { isRole, type Principal } from './principal';

/** Seconds of clock difference tolerated between the token issuer and us. */
const CLOCK_TOLERANCE_S = 30;

const encoder = new TextEncoder();
const keyCache = new WeakMap<Config, Uint8Array>();

function secretKey(config: Config): Uint8Array {
  let key = keyCache.get(config);
  if (!key) {
    key = encoder.encode(config.jwt.secret ?? '');
    keyCache.set(config, key);
  }
  return key;
}

function reject(message: string): never {
  throw new AppError('UNAUTHENTICATED', message);
}

/** Verifies a bearer JWT and turns its claims into a Principal, or throws UNAUTHENTICATED. */
export async function verifyJwt(token: string, config: Config): Promise<Principal> {
  if (!config.jwt.secret) reject('Bearer tokens are not accepted: no JWT_SECRET is configured');
  let payload: Awaited<ReturnType<typeof jwtVerify>>['payload'];
  try {
    ({ payload } = await jwtVerify(token, secretKey(config), {
      algorithms: ['HS256'],
      clockTolerance: CLOCK_TOLERANCE_S,
      ...(config.jwt.issuer ? { issuer: config.jwt.issuer } : {}),
      ...(config.jwt.audience ? { audience: config.jwt.audience } : {}),
    }));
  } catch (e) {
    if (e instanceof errors.JWTExpired) reject('Token expired');
    if (e instanceof errors.JWTClaimValidationFailed)
      reject(`Token claim "${e.claim}" is invalid: ${e.reason}`);
    if (e instanceof errors.JOSEAlgNotAllowed) reject('Token algorithm is not allowed');
    if (e instanceof errors.JWSSignatureVerificationFailed) reject('Token signature is invalid');
    reject('Token is malformed or invalid');
  }
  const { sub, tenant, roles } = payload as { sub?: unknown; tenant?: unknown; roles?: unknown };
  if (typeof sub !== 'string' || sub === '') reject('Token has no "sub" claim');
  if (typeof tenant !== 'string' || tenant === '') reject('Token has no "tenant" claim');
  if (!Array.isArray(roles) || roles.length === 0 || !roles.every(isRole)) {
    reject('Token "roles" claim must be a non-empty list of known roles');
  }
  const name = typeof payload.name === 'string' ? payload.name : null;
  const email = typeof payload.email === 'string' ? payload.email : null;
  return { id: sub, tenantId: tenant, roles, kind: 'user', name, email };
}
