// Types of devVars.mjs, for the TypeScript that shares it (src/runtime/node/main.ts).
export const DEV_VARS: string;
export function readDevVars(path?: string): Record<string, string>;
export function ensureDevEnvironment(path?: string): string;
export function ensureDevSecret(path?: string): string;
export function ensureDevSecretsKey(path?: string): string;
export function newAuditSigningKey(kid: string): string;
export function ensureDevAuditSigningKey(path?: string): string;
export function maxTtlSeconds(vars?: Record<string, string>): number;
export function assertNotProduction(vars: Record<string, string>): void;
export function signDevToken(opts: {
  secret: string;
  sub: string;
  tenant: string;
  roles: string[];
  name?: string;
  /** The `aud` claim (JWT_AUDIENCE), required outside development. */
  audience?: string;
  expiresIn?: string;
}): Promise<string>;
