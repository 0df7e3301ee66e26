// The resolver context the peer servers (Apollo Server, Mercurius) build per request: the bearer
// JWT verified by our own verifyJwt (the same check createApp runs, so authentication costs the
// same everywhere but in the floor) and our context factory (principal, db, lazy DataLoaders).
import { randomUUID } from 'node:crypto';
import { verifyJwt } from '../../src/auth/jwt.ts';
import { parseConfig } from '../../src/config.ts';
import { createRequestContext } from '../../src/usecases/context.ts';

const BEARER = /^Bearer[ ]+(\S+)$/i;

/**
 * `(authorization header) => Promise<RequestContext>`; throws without a valid token.
 * @param {D1Database} db
 * @param {import('../types.ts').BenchVars} vars
 */
export function peerContextFactory(db, vars) {
  const config = parseConfig(vars);
  return async (/** @type {string | undefined} */ authorization) => {
    const token = BEARER.exec(authorization ?? '')?.[1];
    if (!token) throw new Error('Authentication required: send "Authorization: Bearer <token>"');
    const principal = await verifyJwt(token, config);
    return createRequestContext({ db, requestId: randomUUID(), principal });
  };
}
