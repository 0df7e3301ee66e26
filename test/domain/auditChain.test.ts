import { describe, expect, it } from 'vitest';
import type { AuditEventInput, StoredAuditEvent } from '../../src/domain/auditChain';
import { canonicalJson, computeAuditHash, GENESIS_HASH, verifyAuditChain } from '../../src/domain/auditChain';

function event(seq: number, over: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    tenantId: 't1',
    seq,
    actorId: 'alice',
    actorType: 'user',
    source: 'graphql',
    action: 'change.update',
    targetType: 'ChangeRequest',
    targetId: 'CHG-20250601-ABC123',
    requestId: `req-${seq}`,
    before: { status: 'DRAFT', version: seq },
    after: { status: 'SUBMITTED', version: seq + 1 },
    createdAt: `2025-06-01T00:00:0${seq}Z`,
    toolName: null,
    ...over,
  };
}

async function chain(n: number): Promise<StoredAuditEvent[]> {
  const out: StoredAuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const e = event(seq);
    const hash = await computeAuditHash(prevHash, e);
    out.push({ ...e, prevHash, hash });
    prevHash = hash;
  }
  return out;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and has no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: [1, 2], z: null })).toBe(canonicalJson({ z: null, y: [1, 2], x: 1 }));
  });

  it('handles primitives, undefined and dates like JSON.stringify', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
    expect(canonicalJson(new Date('2025-01-01T00:00:00Z'))).toBe('"2025-01-01T00:00:00.000Z"');
  });
});

describe('computeAuditHash', () => {
  it('is the hex SHA-256 of prevHash, a newline and the canonical event', async () => {
    const e = event(1);
    const hash = await computeAuditHash(GENESIS_HASH, e);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).toBe(await sha256Hex(`${GENESIS_HASH}\n${canonicalJson(e)}`));
  });

  it('depends on the previous hash and on every field', async () => {
    const e = event(1);
    const h = await computeAuditHash(GENESIS_HASH, e);
    expect(await computeAuditHash('f'.repeat(64), e)).not.toBe(h);
    expect(await computeAuditHash(GENESIS_HASH, { ...e, actorId: 'mallory' })).not.toBe(h);
    expect(
      await computeAuditHash(GENESIS_HASH, { ...e, after: { status: 'APPROVED', version: 2 } }),
    ).not.toBe(h);
  });

  it('hashes an omitted toolName like null, and ignores extra stored fields', async () => {
    const { toolName: _, ...withoutTool } = event(1);
    const h = await computeAuditHash(GENESIS_HASH, event(1));
    expect(await computeAuditHash(GENESIS_HASH, withoutTool)).toBe(h);
    const stored = { ...event(1), id: 'evt-1', prevHash: GENESIS_HASH, hash: 'x' };
    expect(await computeAuditHash(GENESIS_HASH, stored)).toBe(h);
  });
});

describe('verifyAuditChain', () => {
  it('accepts an intact chain and an empty one', async () => {
    expect(await verifyAuditChain(await chain(4))).toEqual({
      valid: true,
      checked: 4,
      brokenAtSeq: null,
      reason: null,
    });
    expect(await verifyAuditChain([])).toEqual({ valid: true, checked: 0, brokenAtSeq: null, reason: null });
  });

  it('survives a JSON round trip (as stored in D1)', async () => {
    const events = JSON.parse(JSON.stringify(await chain(3))) as StoredAuditEvent[];
    expect((await verifyAuditChain(events)).valid).toBe(true);
  });

  it('detects an event changed after it was written', async () => {
    const events = await chain(4);
    events[2] = { ...events[2]!, after: { status: 'APPROVED', version: 4 } };
    expect(await verifyAuditChain(events)).toEqual({
      valid: false,
      checked: 2,
      brokenAtSeq: 3,
      reason: 'Event 3 was modified after it was written (hash mismatch)',
    });
  });

  it('detects a broken link even when the event re-hashes itself', async () => {
    const events = await chain(4);
    const forged = { ...events[1]!, prevHash: 'a'.repeat(64) };
    forged.hash = await computeAuditHash(forged.prevHash, forged);
    events[1] = forged;
    expect(await verifyAuditChain(events)).toMatchObject({ valid: false, checked: 1, brokenAtSeq: 2 });
    expect((await verifyAuditChain(events)).reason).toMatch(/does not link/);
  });

  it('detects a rewritten event whose successor still points at the old hash', async () => {
    const events = await chain(3);
    const rewritten = { ...events[1]!, actorId: 'mallory' };
    rewritten.hash = await computeAuditHash(rewritten.prevHash, rewritten);
    events[1] = rewritten;
    expect(await verifyAuditChain(events)).toMatchObject({ valid: false, brokenAtSeq: 3 });
  });

  it('detects a deleted event (gap in seq) and a chain not starting at 1', async () => {
    const events = await chain(4);
    const gap = await verifyAuditChain([events[0]!, events[1]!, events[3]!]);
    expect(gap).toMatchObject({ valid: false, checked: 2, brokenAtSeq: 4 });
    expect(gap.reason).toBe('Expected seq 3 but found 4 (events missing or out of order)');
    expect(await verifyAuditChain(events.slice(1))).toMatchObject({
      valid: false,
      checked: 0,
      brokenAtSeq: 2,
    });
  });

  it('detects an event from another tenant', async () => {
    const events = await chain(2);
    const other = { ...events[1]!, tenantId: 't2' };
    other.hash = await computeAuditHash(other.prevHash, other);
    events[1] = other;
    expect(await verifyAuditChain(events)).toMatchObject({ valid: false, brokenAtSeq: 2 });
  });
});
