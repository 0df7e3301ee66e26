import { verifyJwt } from '../auth/jwt';
import type { Principal } from '../auth/principal';
import type { Config } from '../config';
import { AppError } from '../errors';

/** The outcome of reading a request's credentials: a principal, none at all, or a rejection. */
export type AuthResult = { principal: Principal } | { principal: null; error: AppError | null };

const BEARER = /^Bearer[ ]+(\S+)$/i;

export async function authenticate(request: Request, config: Config): Promise<AuthResult> {
  const header = request.headers.get('authorization');
  if (!header) return { principal: null, error: null };
  const match = BEARER.exec(header.trim());
  if (!match?.[1]) {
    return {
      principal: null,
      error: new AppError('UNAUTHENTICATED', 'Authorization header must be "Bearer <token>"'),
    };
  }
  try {
    return { principal: await verifyJwt(match[1], config) };
  } catch (e) {
    if (e instanceof AppError) return { principal: null, error: e };
    throw e;
  }
}
