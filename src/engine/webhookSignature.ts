/**
 * Signatures of the webhooks that start a workflow (Stripe/Slack style):
 *
 *   X-ChangeFlow-Timestamp: <Unix time in whole seconds>
 *   X-ChangeFlow-Signature: sha256=<lowercase hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`)>
 *
 * Signing the timestamp with the body makes a captured request useless once it is older than
 * the tolerance; within the tolerance the caller can refuse a repeat by remembering the
 * verified (timestamp, signature) pairs. During secret rotation the sender may send several
 * signatures separated by commas (`sha256=<new>,sha256=<old>`); one that verifies is enough.
 *
 * Web Crypto only, so it runs in workerd and Node alike. Each signature is compared with
 * `crypto.subtle.verify`, which is constant-time, never with string equality. Messages tell the
 * sender what to fix but never contain the secret or the expected signature.
 */

export const TIMESTAMP_HEADER = 'X-ChangeFlow-Timestamp';
export const SIGNATURE_HEADER = 'X-ChangeFlow-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;
/** At most this many signatures in one header: rotation needs two, and each costs an HMAC. */
export const MAX_SIGNATURES = 5;

export type WebhookBody = string | ArrayBuffer | Uint8Array;

export type VerifyFailureReason = 'MISSING_HEADERS' | 'MALFORMED' | 'STALE' | 'BAD_SIGNATURE';

export type VerifyResult =
  | { ok: true; timestamp: number }
  | { ok: false; reason: VerifyFailureReason; message: string };

const SIGNATURE_ELEMENT = /^sha256=([0-9a-fA-F]{64})$/;
/** Whole seconds, no sign, no exponent; 12 digits reach the year 33658. */
const TIMESTAMP = /^\d{1,12}$/;
const encoder = new TextEncoder();

function checkSecret(secret: string): void {
  // A missing secret is the receiver's misconfiguration, not the sender's mistake: fail loudly.
  if (typeof secret !== 'string' || secret.length === 0) {
    throw new TypeError('webhook secret is empty; set the workflow secret the trigger names');
  }
}

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    usage,
  ]);
}

/** The signed bytes: `${timestamp}.` followed by the raw body. */
function signedPayload(timestamp: string, body: WebhookBody): Uint8Array<ArrayBuffer> {
  const prefix = encoder.encode(`${timestamp}.`);
  const rest = typeof body === 'string' ? encoder.encode(body) : new Uint8Array(body);
  const out = new Uint8Array(prefix.length + rest.length);
  out.set(prefix, 0);
  out.set(rest, prefix.length);
  return out;
}

function toHex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * The `X-ChangeFlow-Signature` value for a body sent at `timestamp` (Unix seconds): `sha256=<hex>`.
 * Pass the exact bytes that will be sent; re-serialising JSON changes them.
 */
export async function signWebhook(secret: string, timestamp: number, body: WebhookBody): Promise<string> {
  checkSecret(secret);
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError('timestamp must be the Unix time in whole seconds');
  }
  const key = await hmacKey(secret, 'sign');
  const mac = await crypto.subtle.sign('HMAC', key, signedPayload(String(timestamp), body));
  return `sha256=${toHex(mac)}`;
}

const fail = (reason: VerifyFailureReason, message: string): VerifyResult => ({ ok: false, reason, message });

/**
 * Check a delivery's headers against the raw body. Order: both headers present, both well formed,
 * the timestamp within `toleranceSeconds` of `now` (either way: a clock ahead is as suspicious as
 * a replay), then the signatures. Staleness is checked before any HMAC, so a flood of old or junk
 * requests costs no crypto. `now` is in milliseconds (`Date.now()`).
 *
 * Pass the body exactly as received: `await request.text()` re-encodes it as UTF-8 and drops a
 * leading byte-order mark, so for arbitrary senders `await request.arrayBuffer()` is the safe form.
 */
export async function verifyWebhook(args: {
  secret: string;
  body: WebhookBody;
  timestampHeader: string | null;
  signatureHeader: string | null;
  now: number;
  toleranceSeconds?: number;
}): Promise<VerifyResult> {
  const { secret, body, now, toleranceSeconds = DEFAULT_TOLERANCE_SECONDS } = args;
  checkSecret(secret);
  if (!Number.isFinite(now)) throw new RangeError('now must be a time in milliseconds');
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new RangeError('toleranceSeconds must be a non-negative number');
  }

  const timestampText = args.timestampHeader?.trim() ?? '';
  const signatureText = args.signatureHeader?.trim() ?? '';
  const missing = [
    ...(timestampText === '' ? [TIMESTAMP_HEADER] : []),
    ...(signatureText === '' ? [SIGNATURE_HEADER] : []),
  ];
  if (missing.length > 0) {
    return fail(
      'MISSING_HEADERS',
      `missing ${missing.join(' and ')}: send ${TIMESTAMP_HEADER} (Unix seconds) and ${SIGNATURE_HEADER} ` +
        '(sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">)',
    );
  }

  if (!TIMESTAMP.test(timestampText)) {
    return fail(
      'MALFORMED',
      `${TIMESTAMP_HEADER} must be the Unix time in whole seconds (not milliseconds), e.g. 1767225600`,
    );
  }
  const timestamp = Number(timestampText);

  const elements = signatureText.split(',').map((s) => s.trim());
  if (elements.length > MAX_SIGNATURES) {
    return fail(
      'MALFORMED',
      `${SIGNATURE_HEADER} carries ${elements.length} signatures; at most ${MAX_SIGNATURES}`,
    );
  }
  const signatures: Uint8Array<ArrayBuffer>[] = [];
  for (const [i, element] of elements.entries()) {
    const m = SIGNATURE_ELEMENT.exec(element);
    if (!m) {
      const which = elements.length > 1 ? ` (signature ${i + 1} of ${elements.length})` : '';
      return fail(
        'MALFORMED',
        `${SIGNATURE_HEADER}${which} must be sha256= followed by 64 hex digits, ` +
          'several separated by commas while rotating secrets',
      );
    }
    signatures.push(fromHex(m[1] as string));
  }

  const skewMs = now - timestamp * 1000;
  if (Math.abs(skewMs) > toleranceSeconds * 1000) {
    // Rounded away from the limit, so a message never says "300 s old" when 300 s is allowed.
    const seconds = Math.ceil(Math.abs(skewMs) / 1000);
    const when = skewMs > 0 ? `${seconds} s old` : `${seconds} s in the future`;
    return fail(
      'STALE',
      `${TIMESTAMP_HEADER} is ${when}; it must be within ${toleranceSeconds} s of the receiver's ` +
        'clock: sign each delivery with the current Unix time in seconds and check the sender clock',
    );
  }

  const key = await hmacKey(secret, 'verify');
  const payload = signedPayload(timestampText, body);
  // Check every signature, not just until one matches, so the time taken does not say which one did.
  const results = await Promise.all(signatures.map((sig) => crypto.subtle.verify('HMAC', key, sig, payload)));
  if (results.includes(true)) return { ok: true, timestamp };
  return fail(
    'BAD_SIGNATURE',
    `${SIGNATURE_HEADER} does not match: sign "<timestamp>.<raw body>" with HMAC-SHA256 and the ` +
      "trigger's secret, using the exact timestamp sent and the body bytes unchanged",
  );
}
