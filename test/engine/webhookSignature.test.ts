import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TOLERANCE_SECONDS,
  MAX_SIGNATURES,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
  verifyWebhook,
} from '../../src/engine/webhookSignature';

const SECRET = 'whsec_test_0123456789abcdef';
const OLD_SECRET = 'whsec_old_fedcba9876543210';
const BODY = JSON.stringify({ change: 'CHG-20260105-ABC123', action: 'deploy', note: 'naïve ✓' });
const T = 1_767_225_600; // 2026-01-01T00:00:00Z
const NOW = T * 1000;

/** The lowercase hex HMAC-SHA256, computed independently through a signing key (not the module). */
async function hmacHex(secret: string, message: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(message));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function verify(over: Partial<Parameters<typeof verifyWebhook>[0]> = {}) {
  return verifyWebhook({
    secret: SECRET,
    body: BODY,
    timestampHeader: String(T),
    signatureHeader: await signWebhook(SECRET, T, BODY),
    now: NOW,
    ...over,
  });
}

/** Every failure message must be free of the secret and of the expected signature. */
async function expectNoLeak(result: Awaited<ReturnType<typeof verifyWebhook>>, body = BODY, t = T) {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  const expected = await hmacHex(SECRET, `${t}.${body}`);
  expect(result.message).not.toContain(SECRET);
  expect(result.message).not.toContain(expected);
  expect(result.message).not.toContain(expected.slice(0, 16));
}

describe('signWebhook', () => {
  it('gives sha256= and the lowercase hex HMAC-SHA256 of "<timestamp>.<body>"', async () => {
    const header = await signWebhook(SECRET, T, BODY);
    expect(header).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(header).toBe(`sha256=${await hmacHex(SECRET, `${T}.${BODY}`)}`);
  });

  it('agrees with the RFC 4231 HMAC-SHA256 test vector through the reference above', async () => {
    // RFC 4231 §4.3 (test case 2) checks the independent reference; the module must match it.
    expect(await hmacHex('Jefe', 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(await signWebhook('Jefe', 0, 'what do ya want for nothing?')).toBe(
      `sha256=${await hmacHex('Jefe', '0.what do ya want for nothing?')}`,
    );
  });

  it('signs bytes the same as the equal string', async () => {
    const bytes = new TextEncoder().encode(BODY);
    expect(await signWebhook(SECRET, T, bytes)).toBe(await signWebhook(SECRET, T, BODY));
    expect(await signWebhook(SECRET, T, bytes.buffer)).toBe(await signWebhook(SECRET, T, BODY));
  });

  it('depends on the secret, the timestamp and every byte of the body', async () => {
    const base = await signWebhook(SECRET, T, BODY);
    expect(await signWebhook(OLD_SECRET, T, BODY)).not.toBe(base);
    expect(await signWebhook(SECRET, T + 1, BODY)).not.toBe(base);
    expect(await signWebhook(SECRET, T, `${BODY} `)).not.toBe(base);
  });

  it('refuses an empty secret and a timestamp that is not whole seconds', async () => {
    await expect(signWebhook('', T, BODY)).rejects.toThrow(TypeError);
    await expect(signWebhook(SECRET, 1.5, BODY)).rejects.toThrow(RangeError);
    await expect(signWebhook(SECRET, -1, BODY)).rejects.toThrow(RangeError);
    await expect(signWebhook(SECRET, Number.NaN, BODY)).rejects.toThrow(RangeError);
  });
});

describe('verifyWebhook', () => {
  it('accepts a good signature and returns the timestamp', async () => {
    expect(await verify()).toEqual({ ok: true, timestamp: T });
  });

  it('accepts an empty body and a body given as bytes', async () => {
    expect(await verify({ body: '', signatureHeader: await signWebhook(SECRET, T, '') })).toEqual({
      ok: true,
      timestamp: T,
    });
    expect(await verify({ body: new TextEncoder().encode(BODY) })).toEqual({ ok: true, timestamp: T });
  });

  it('accepts uppercase hex and surrounding whitespace', async () => {
    const header = await signWebhook(SECRET, T, BODY);
    expect(await verify({ signatureHeader: `sha256=${header.slice(7).toUpperCase()}` })).toMatchObject({
      ok: true,
    });
    expect(await verify({ signatureHeader: `  ${header} `, timestampHeader: ` ${T} ` })).toMatchObject({
      ok: true,
    });
  });

  it('rejects a bad signature', async () => {
    const header = await signWebhook(SECRET, T, BODY);
    const flipped = `${header.slice(0, -1)}${header.endsWith('0') ? '1' : '0'}`;
    const result = await verify({ signatureHeader: flipped });
    expect(result).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    await expectNoLeak(result);
    expect(await verify({ signatureHeader: `sha256=${'0'.repeat(64)}` })).toMatchObject({
      reason: 'BAD_SIGNATURE',
    });
  });

  it('rejects a signature made with another secret', async () => {
    const result = await verify({ signatureHeader: await signWebhook(OLD_SECRET, T, BODY) });
    expect(result).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
    expect(result.ok || result.message).toMatch(/does not match/);
    await expectNoLeak(result);
  });

  it('rejects a tampered body, even by one byte or whitespace', async () => {
    const signatureHeader = await signWebhook(SECRET, T, BODY);
    for (const body of [
      BODY.replace('deploy', 'deplox'),
      `${BODY}\n`,
      ` ${BODY}`,
      JSON.stringify(JSON.parse(BODY), null, 2),
      '',
    ]) {
      const result = await verify({ body, signatureHeader });
      expect(result, body).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
      await expectNoLeak(result, body);
    }
  });

  it('rejects a signature moved to another timestamp (the timestamp is signed)', async () => {
    const signatureHeader = await signWebhook(SECRET, T, BODY);
    expect(await verify({ signatureHeader, timestampHeader: String(T + 60) })).toMatchObject({
      reason: 'BAD_SIGNATURE',
    });
  });

  it('accepts timestamps up to the tolerance either side of now', async () => {
    const edge = DEFAULT_TOLERANCE_SECONDS * 1000;
    expect(await verify({ now: NOW + edge })).toMatchObject({ ok: true });
    expect(await verify({ now: NOW - edge })).toMatchObject({ ok: true });
    expect(await verify({ now: NOW + 1234 })).toMatchObject({ ok: true });
  });

  it('rejects a stale timestamp, past the tolerance', async () => {
    const result = await verify({ now: NOW + DEFAULT_TOLERANCE_SECONDS * 1000 + 1 });
    expect(result).toMatchObject({ ok: false, reason: 'STALE' });
    expect(result.ok || result.message).toMatch(/301 s old.*within 300 s/);
    await expectNoLeak(result);
    // A captured request replayed an hour later.
    expect(await verify({ now: NOW + 3_600_000 })).toMatchObject({ reason: 'STALE' });
  });

  it('rejects a timestamp too far in the future', async () => {
    const result = await verify({ now: NOW - DEFAULT_TOLERANCE_SECONDS * 1000 - 1000 });
    expect(result).toMatchObject({ ok: false, reason: 'STALE' });
    expect(result.ok || result.message).toMatch(/301 s in the future/);
    await expectNoLeak(result);
  });

  it('honours a custom tolerance, including 0', async () => {
    expect(await verify({ now: NOW + 10_000, toleranceSeconds: 5 })).toMatchObject({ reason: 'STALE' });
    expect(await verify({ now: NOW + 10_000, toleranceSeconds: 10 })).toMatchObject({ ok: true });
    expect(await verify({ now: NOW, toleranceSeconds: 0 })).toMatchObject({ ok: true });
    expect(await verify({ now: NOW + 1, toleranceSeconds: 0 })).toMatchObject({ reason: 'STALE' });
  });

  it('checks staleness before the signature (an old, unsigned request is STALE)', async () => {
    expect(await verify({ now: NOW + 3_600_000, signatureHeader: `sha256=${'a'.repeat(64)}` })).toMatchObject(
      { reason: 'STALE' },
    );
  });

  it('names the missing headers', async () => {
    const neither = await verify({ timestampHeader: null, signatureHeader: null });
    expect(neither).toMatchObject({ ok: false, reason: 'MISSING_HEADERS' });
    expect(neither.ok || neither.message).toContain(`missing ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER}`);
    const noTimestamp = await verify({ timestampHeader: null });
    expect(noTimestamp.ok || noTimestamp.message).toMatch(new RegExp(`^missing ${TIMESTAMP_HEADER}:`));
    const noSignature = await verify({ signatureHeader: null });
    expect(noSignature.ok || noSignature.message).toMatch(new RegExp(`^missing ${SIGNATURE_HEADER}:`));
    // Empty or blank headers count as missing.
    expect(await verify({ timestampHeader: '' })).toMatchObject({ reason: 'MISSING_HEADERS' });
    expect(await verify({ signatureHeader: '   ' })).toMatchObject({ reason: 'MISSING_HEADERS' });
  });

  it('rejects malformed timestamps', async () => {
    for (const timestampHeader of [
      'yesterday',
      '1767225600.5',
      '-1767225600',
      '+1767225600',
      '1.7e9',
      '0x6955b900',
      '1767225600000', // milliseconds
      '2026-01-01T00:00:00Z',
      '1767225600, 1767225601',
    ]) {
      const result = await verify({ timestampHeader });
      expect(result, timestampHeader).toMatchObject({ ok: false, reason: 'MALFORMED' });
      expect(result.ok || result.message, timestampHeader).toMatch(/whole seconds \(not milliseconds\)/);
    }
  });

  it('rejects malformed signature headers', async () => {
    const good = await signWebhook(SECRET, T, BODY);
    const hex = good.slice(7);
    for (const signatureHeader of [
      hex, // no scheme
      `sha1=${hex}`,
      `SHA256=${hex}`,
      `sha256:${hex}`,
      `sha256 = ${hex}`,
      `sha256=${hex.slice(0, 63)}`, // odd length
      `sha256=${hex.slice(0, 62)}`, // short
      `sha256=${hex}00`, // long
      `sha256=${hex.slice(0, 63)}g`, // not hex
      `sha256=${btoa(String.fromCharCode(...(hex.match(/../g) ?? []).map((b) => Number.parseInt(b, 16))))}`, // base64
      'sha256=',
      `v1=${hex}`,
      `${good},`, // empty element
      `${good};${good}`,
      `t=${T},${good}`, // Stripe's combined form is not ours
    ]) {
      const result = await verify({ signatureHeader });
      expect(result, signatureHeader).toMatchObject({ ok: false, reason: 'MALFORMED' });
      expect(result.ok || result.message, signatureHeader).toMatch(/sha256= followed by 64 hex digits/);
      await expectNoLeak(result);
    }
  });

  it('names which signature of a list is malformed', async () => {
    const good = await signWebhook(SECRET, T, BODY);
    const result = await verify({ signatureHeader: `${good},sha256=xyz` });
    expect(result.ok || result.message).toContain('(signature 2 of 2)');
  });

  it('accepts any of several signatures, for secret rotation', async () => {
    const current = await signWebhook(SECRET, T, BODY);
    const old = await signWebhook(OLD_SECRET, T, BODY);
    // The sender signs with the old and the new secret while the receiver switches over.
    expect(await verify({ signatureHeader: `${old},${current}` })).toEqual({ ok: true, timestamp: T });
    expect(await verify({ signatureHeader: `${current}, ${old}` })).toEqual({ ok: true, timestamp: T });
    // The receiver still on the old secret accepts the same header.
    expect(await verify({ secret: OLD_SECRET, signatureHeader: `${old},${current}` })).toMatchObject({
      ok: true,
    });
    // None of them verifying is a bad signature.
    const other = await signWebhook('whsec_someone_else', T, BODY);
    expect(await verify({ signatureHeader: `${old},${other}` })).toMatchObject({ reason: 'BAD_SIGNATURE' });
  });

  it(`caps the list at ${MAX_SIGNATURES} signatures`, async () => {
    const good = await signWebhook(SECRET, T, BODY);
    const junk = `sha256=${'b'.repeat(64)}`;
    const five = [junk, junk, junk, junk, good].join(',');
    expect(await verify({ signatureHeader: five })).toMatchObject({ ok: true });
    const six = [junk, junk, junk, junk, junk, good].join(',');
    const result = await verify({ signatureHeader: six });
    expect(result).toMatchObject({ ok: false, reason: 'MALFORMED' });
    expect(result.ok || result.message).toMatch(/6 signatures; at most 5/);
  });

  it('throws, rather than failing the sender, when the receiver has no secret or bad options', async () => {
    await expect(verify({ secret: '' })).rejects.toThrow(TypeError);
    await expect(verify({ now: Number.NaN })).rejects.toThrow(RangeError);
    await expect(verify({ toleranceSeconds: -1 })).rejects.toThrow(RangeError);
  });

  it('round-trips through a Request as a receiver would read it', async () => {
    const body = JSON.stringify({ emoji: '🚀', crlf: 'a\r\nb' });
    const timestamp = Math.floor(NOW / 1000);
    const request = new Request('https://changeflow.example/hooks/workflows/wf_1', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: String(timestamp),
        [SIGNATURE_HEADER]: await signWebhook(SECRET, timestamp, body),
      },
      body,
    });
    const result = await verifyWebhook({
      secret: SECRET,
      body: await request.arrayBuffer(),
      timestampHeader: request.headers.get(TIMESTAMP_HEADER),
      signatureHeader: request.headers.get(SIGNATURE_HEADER),
      now: NOW + 2000,
    });
    expect(result).toEqual({ ok: true, timestamp });
  });
});
