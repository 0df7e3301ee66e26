import { canonicalJson } from './auditChain';

/**
 * Signed audit digests (issue 15): a statement, signed with Ed25519, that a tenant's audit chain
 * held `eventCount` events from `fromSeq` to `toSeq` ending in `headHash`, linked to the digest
 * before it. Digests are written outside D1 (R2, or a directory on Node), so that whoever can write
 * to D1 can neither recompute the chain unnoticed nor drop its newest events: the digest anchors
 * them. This module is the format, shared by the service (which signs) and the offline verifier
 * (scripts/auditVerify.ts, which needs nothing from the running service).
 */

/** What is signed: exactly these fields, as canonical JSON (keys sorted, no whitespace). */
export interface AuditDigestBody {
  tenant: string;
  fromSeq: number;
  toSeq: number;
  headHash: string;
  eventCount: number;
  /** digestHash of the tenant's previous digest; null for its first. */
  previousDigestHash: string | null;
  createdAt: string;
}

/** One digest file (`digests/<tenant>/<toSeq padded>.json`), as stored and as verified. */
export interface SignedAuditDigest {
  /** The format's version, so that a verifier refuses what it does not know. */
  format: typeof DIGEST_FORMAT;
  digest: AuditDigestBody;
  /** The signing key's id, as published at /.well-known/changeflow-audit-keys.json. */
  keyId: string;
  /** base64url of the Ed25519 signature over canonicalJson(digest). */
  signature: string;
  /** Hex SHA-256 of canonicalJson(digest): what the next digest's previousDigestHash names. */
  digestHash: string;
}

export const DIGEST_FORMAT = 'changeflow-audit-digest/1';

/** Where a digest is stored in the archive: one object per digest, ordered by toSeq. */
export function digestObjectKey(tenant: string, toSeq: number): string {
  return `digests/${encodeURIComponent(tenant)}/${String(toSeq).padStart(12, '0')}.json`;
}

/** An Ed25519 public key as published (JWK, RFC 8037) with its key id. */
export interface AuditPublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
  kid: string;
  alg?: 'EdDSA';
  use?: 'sig';
}

/** The document at /.well-known/changeflow-audit-keys.json (and the verifier's --keys file). */
export interface AuditKeySet {
  keys: (AuditPublicJwk & { status: 'current' | 'retired' })[];
}

export const AUDIT_KEYS_PATH = '/.well-known/changeflow-audit-keys.json';

const te = new TextEncoder();

const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  let s = '';
  for (const b of bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> | null {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text.replaceAll('-', '+').replaceAll('_', '/')), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** Only the signed fields, in case a caller hands more. */
const signedFields = (d: AuditDigestBody): AuditDigestBody => ({
  tenant: d.tenant,
  fromSeq: d.fromSeq,
  toSeq: d.toSeq,
  headHash: d.headHash,
  eventCount: d.eventCount,
  previousDigestHash: d.previousDigestHash,
  createdAt: d.createdAt,
});

export const digestBytes = (d: AuditDigestBody) => te.encode(canonicalJson(signedFields(d)));

export async function digestHash(d: AuditDigestBody): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', digestBytes(d)));
}

export async function signDigest(
  body: AuditDigestBody,
  key: { keyId: string; privateKey: CryptoKey },
): Promise<SignedAuditDigest> {
  const digest = signedFields(body);
  const signature = await crypto.subtle.sign('Ed25519', key.privateKey, digestBytes(digest));
  return {
    format: DIGEST_FORMAT,
    digest,
    keyId: key.keyId,
    signature: base64url(signature),
    digestHash: await digestHash(digest),
  };
}

export function importPublicKey(jwk: AuditPublicJwk): Promise<CryptoKey> {
  return crypto.subtle.importKey('jwk', { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'Ed25519', false, [
    'verify',
  ]);
}

/** Whether `signature` (base64url) is keyed `publicKey`'s signature of the digest. */
export async function verifyDigestSignature(
  digest: AuditDigestBody,
  signature: string,
  publicKey: CryptoKey,
): Promise<boolean> {
  const bytes = fromBase64url(signature);
  if (bytes?.length !== 64) return false;
  return crypto.subtle.verify('Ed25519', publicKey, bytes, digestBytes(digest));
}

/**
 * Why a signed digest is not to be trusted with these public keys (its key unknown, its hash or
 * its signature not matching its fields), or null.
 */
export async function digestTrustProblem(
  keys: readonly AuditPublicJwk[],
  d: Omit<SignedAuditDigest, 'format'>,
): Promise<string | null> {
  const what = `The digest ending at seq ${d.digest.toSeq}`;
  const key = keys.find((k) => k.kid === d.keyId);
  if (!key) return `${what} is signed with key "${d.keyId}", which is not published`;
  if ((await digestHash(d.digest)) !== d.digestHash) return `${what} was altered`;
  if (!(await verifyDigestSignature(d.digest, d.signature, await importPublicKey(key)))) {
    return `${what} has a signature that does not verify`;
  }
  return null;
}

/**
 * A JSON value read from a file or the archive, checked to be a SignedAuditDigest; the reason
 * otherwise. Field types only: the signature and the chain are the verifier's.
 */
export function parseSignedDigest(value: unknown): SignedAuditDigest | string {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (v.format !== DIGEST_FORMAT) return `format is not ${DIGEST_FORMAT}`;
  const d = v.digest as Record<string, unknown> | null | undefined;
  if (typeof d !== 'object' || d === null) return 'no digest object';
  const int = (k: string) => Number.isSafeInteger(d[k]) && (d[k] as number) >= 0;
  if (typeof d.tenant !== 'string' || !d.tenant) return 'digest.tenant is not a string';
  for (const k of ['fromSeq', 'toSeq', 'eventCount']) if (!int(k)) return `digest.${k} is not an integer`;
  if (typeof d.headHash !== 'string') return 'digest.headHash is not a string';
  if (d.previousDigestHash !== null && typeof d.previousDigestHash !== 'string')
    return 'digest.previousDigestHash is neither a string nor null';
  if (typeof d.createdAt !== 'string') return 'digest.createdAt is not a string';
  if (typeof v.keyId !== 'string' || typeof v.signature !== 'string' || typeof v.digestHash !== 'string')
    return 'keyId, signature or digestHash is not a string';
  return value as SignedAuditDigest;
}

/** A public JWK checked to be an Ed25519 key with an id (and no private part); the reason otherwise. */
export function parsePublicJwk(value: unknown): AuditPublicJwk | string {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const k = value as Record<string, unknown>;
  if (k.kty !== 'OKP' || k.crv !== 'Ed25519') return 'not an Ed25519 key (kty "OKP", crv "Ed25519")';
  if (typeof k.kid !== 'string' || k.kid.trim() === '') return 'has no "kid"';
  if ('d' in k) return `"${k.kid}" has a private part ("d"): publish public keys only`;
  if (typeof k.x !== 'string' || fromBase64url(k.x)?.length !== 32)
    return `"${k.kid}" has no 32-byte "x" in base64url`;
  return { kty: 'OKP', crv: 'Ed25519', x: k.x, kid: k.kid, alg: 'EdDSA', use: 'sig' };
}
