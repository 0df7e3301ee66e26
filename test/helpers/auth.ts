import { env } from 'cloudflare:test';
import { SignJWT } from 'jose';
import type { Role } from '../../src/domain/types';

export interface TokenOptions {
  sub?: string;
  tenant?: string;
  roles?: Role[];
  name?: string;
  expiresIn?: string;
  secret?: string;
  /**
   * The `aud` claim; production-mode tests set JWT_AUDIENCE to TEST_AUDIENCE. By default both it
   * and the test worker's MCP resource (RFC 8707), so one token serves /graphql and /mcp.
   */
  audience?: string | string[];
  /** The `iss` claim, for bindings that set JWT_ISSUER; none by default. */
  issuer?: string;
}

/** The audience test tokens name; bindings in staging or production mode set it as JWT_AUDIENCE. */
export const TEST_AUDIENCE = 'changeflow-test';
/** The test worker's MCP resource URL (its origin + /mcp in development; test/helpers/mcp.ts' MCP_URL). */
export const TEST_MCP_RESOURCE = 'http://cf.test/mcp';

/** Signs an HS256 token the test worker accepts. */
export async function token(opts: TokenOptions = {}): Promise<string> {
  const jwt = new SignJWT({
    tenant: opts.tenant ?? 'acme',
    roles: opts.roles ?? ['admin'],
    ...(opts.name ? { name: opts.name } : {}),
    ...(opts.issuer ? { iss: opts.issuer } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(opts.sub ?? 'alice')
    .setAudience(opts.audience ?? [TEST_AUDIENCE, TEST_MCP_RESOURCE])
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '1h');
  return jwt.sign(new TextEncoder().encode(opts.secret ?? env.JWT_SECRET));
}
