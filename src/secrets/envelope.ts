/**
 * Envelope encryption of workflow secret values (AES-256-GCM, WebCrypto). Each value gets its
 * own random data key; the key-encryption key (SECRETS_KEY) wraps that data key. Tenant and
 * name are the additional data of both encryptions, so a sealed row only opens for the tenant
 * and name it was sealed for. The key id lets SECRETS_KEY_PREVIOUS open rows sealed before a
 * rotation; sealing always uses the current key.
 */

type Bytes = Uint8Array<ArrayBuffer>;

/** A key-encryption key as configured: 32 raw bytes. */
export interface SecretKeyMaterial {
  raw: Bytes;
}

/** SECRETS_KEY and, during a rotation, SECRETS_KEY_PREVIOUS. */
export interface SecretKeys {
  current: SecretKeyMaterial;
  previous: SecretKeyMaterial | null;
}

/** What is stored: no part of it reveals the value without the key-encryption key. */
export interface SealedSecret {
  keyId: string;
  /** base64 of iv ‖ AES-GCM(KEK, data key). */
  wrappedKey: string;
  /** base64 of iv ‖ AES-GCM(data key, value). */
  ciphertext: string;
}

export class SecretDecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretDecryptError';
  }
}

interface Kek {
  id: string;
  key: CryptoKey;
}

const IV_BYTES = 12;
const encoder = new TextEncoder();

const toBase64 = (bytes: Bytes) => btoa(String.fromCharCode(...bytes));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

/** The additional data: JSON, so no tenant or name can be made to collide with another pair. */
const additionalData = (tenantId: string, name: string) =>
  encoder.encode(JSON.stringify(['changeflow/workflow-secret/v1', tenantId, name]));

/** A key's id is derived from it: the same key has the same id in every isolate, and says nothing of it. */
async function keyId(raw: Bytes): Promise<string> {
  const label = encoder.encode('changeflow/secrets-key-id/v1:');
  const input = new Uint8Array(label.length + raw.length);
  input.set(label);
  input.set(raw, label.length);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
  return `k_${[...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

async function importKek(m: SecretKeyMaterial): Promise<Kek> {
  const key = await crypto.subtle.importKey('raw', m.raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { id: await keyId(m.raw), key };
}

/** Imported keys, per configuration object (config is parsed once per set of bindings). */
const keyrings = new WeakMap<SecretKeys, Promise<Kek[]>>();

function keyring(keys: SecretKeys): Promise<Kek[]> {
  let ring = keyrings.get(keys);
  if (!ring) {
    ring = Promise.all([keys.current, ...(keys.previous ? [keys.previous] : [])].map(importKek));
    keyrings.set(keys, ring);
  }
  return ring;
}

/** The id of the key new values are sealed with. */
export async function currentKeyId(keys: SecretKeys): Promise<string> {
  return ((await keyring(keys))[0] as Kek).id;
}

async function encrypt(key: CryptoKey, plain: Bytes, aad: Bytes): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, plain),
  );
  const out = new Uint8Array(IV_BYTES + sealed.length);
  out.set(iv);
  out.set(sealed, IV_BYTES);
  return toBase64(out);
}

async function decrypt(key: CryptoKey, text: string, aad: Bytes): Promise<Bytes> {
  const bytes = fromBase64(text);
  const iv = bytes.slice(0, IV_BYTES);
  return new Uint8Array(
    await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, bytes.slice(IV_BYTES)),
  );
}

/** Seals a value for one tenant and name, under the current key. */
export async function sealSecret(
  keys: SecretKeys,
  tenantId: string,
  name: string,
  value: string,
): Promise<SealedSecret> {
  const kek = (await keyring(keys))[0] as Kek;
  const aad = additionalData(tenantId, name);
  const dataKeyRaw = crypto.getRandomValues(new Uint8Array(32));
  const dataKey = await crypto.subtle.importKey('raw', dataKeyRaw, 'AES-GCM', false, ['encrypt']);
  return {
    keyId: kek.id,
    wrappedKey: await encrypt(kek.key, dataKeyRaw, aad),
    ciphertext: await encrypt(dataKey, encoder.encode(value), aad),
  };
}

/**
 * Opens a sealed value. Throws SecretDecryptError, whose message never holds key material or
 * plaintext, when the key it names is not configured or the row was not sealed for this
 * tenant and name (copied, renamed or tampered with).
 */
export async function openSecret(
  keys: SecretKeys,
  tenantId: string,
  name: string,
  sealed: SealedSecret,
): Promise<string> {
  const kek = (await keyring(keys)).find((k) => k.id === sealed.keyId);
  if (!kek) {
    throw new SecretDecryptError(
      `secret ${name} was saved under key ${sealed.keyId}, which is neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS`,
    );
  }
  const aad = additionalData(tenantId, name);
  try {
    const dataKeyRaw = await decrypt(kek.key, sealed.wrappedKey, aad);
    const dataKey = await crypto.subtle.importKey('raw', dataKeyRaw, 'AES-GCM', false, ['decrypt']);
    return new TextDecoder().decode(await decrypt(dataKey, sealed.ciphertext, aad));
  } catch {
    throw new SecretDecryptError(`secret ${name} does not decrypt for this tenant and name; set it again`);
  }
}
