import { describe, expect, it } from 'vitest';
import {
  type AuditEventInput,
  auditEventHashMatches,
  computeAuditHash,
  GENESIS_HASH,
  payloadDigest,
  redactField,
  type StoredAuditEvent,
  verifyAuditChain,
} from '../../src/domain/auditChain';
import { redactEvent, v1RedactionOf, writtenText } from '../../src/domain/erasure';

const base = (seq: number, over: Partial<AuditEventInput> = {}): AuditEventInput => ({
  tenantId: 't1',
  seq,
  actorId: 'rita',
  actorType: 'user',
  source: 'graphql',
  action: 'change.created',
  targetType: 'ChangeRequest',
  targetId: 'CHG-1',
  requestId: `req-${seq}`,
  before: null,
  after: { id: 'CHG-1', title: 'Upgrade', description: 'Call Rita on 555-0100', status: 'DRAFT' },
  createdAt: '2026-12-01T00:00:00.000Z',
  toolName: null,
  hashVersion: 2,
  ...over,
});

async function stored(events: AuditEventInput[]): Promise<StoredAuditEvent[]> {
  const out: StoredAuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (const e of events) {
    const hash = await computeAuditHash(prevHash, e);
    out.push({ ...e, prevHash, hash });
    prevHash = hash;
  }
  return out;
}

describe('hash version 2', () => {
  it('hashes differently from version 1, and a version-1 event keeps its old hash', async () => {
    const v2 = base(1);
    const { hashVersion: _, ...v1 } = v2;
    expect(await computeAuditHash(GENESIS_HASH, v2)).not.toBe(await computeAuditHash(GENESIS_HASH, v1));
    expect(await computeAuditHash(GENESIS_HASH, { ...v1, hashVersion: 1 })).toBe(
      await computeAuditHash(GENESIS_HASH, v1),
    );
  });

  it('a redacted field keeps the payload digest; any other edit changes it', async () => {
    const after = { id: 'CHG-1', description: 'secret', status: 'DRAFT' };
    const digest = await payloadDigest(after);
    expect(await payloadDigest({ ...after, description: await redactField('secret') })).toBe(digest);
    expect(await payloadDigest({ ...after, status: 'APPROVED' })).not.toBe(digest);
    expect(await payloadDigest({ ...after, description: { $redacted: '0'.repeat(64) } })).not.toBe(digest);
    // A whole payload, and payloads that are not objects, redact as one value.
    expect(await payloadDigest(await redactField(after))).not.toBe(digest);
    expect(await payloadDigest(await redactField(['a', 'b']))).toBe(await payloadDigest(['a', 'b']));
    // Something that only looks like a marker (not 64 hex) is hashed as the value it is.
    expect(await payloadDigest({ ...after, description: { $redacted: 'x' } })).not.toBe(digest);
  });

  it('erasure: v2 events redact in place, v1 events verify only under their record', async () => {
    const { hashVersion: _, ...old } = base(1);
    const events = await stored([
      old,
      base(2, {
        actorId: 'max',
        action: 'change.submitted',
        before: base(1).after,
        after: { ...(base(1).after as object), status: 'SUBMITTED' },
      }),
    ]);
    const written = await writtenText(events.filter((e) => e.actorId === 'rita'));
    const [r1, r2] = await Promise.all(events.map((e) => redactEvent(e, written)));
    expect(r1 && r2).toBeTruthy();
    const redacted1 = r1 as StoredAuditEvent;
    const redacted2 = r2 as StoredAuditEvent;
    expect(JSON.stringify([redacted1, redacted2])).not.toContain('555-0100');
    // The v2 event's hash still holds; the v1 event's does not, until a record vouches for it.
    expect(await auditEventHashMatches(redacted2.prevHash, redacted2)).toBe(true);
    expect(await auditEventHashMatches(redacted1.prevHash, redacted1)).toBe(false);
    const record = await v1RedactionOf(events[0] as StoredAuditEvent, redacted1);
    expect(await auditEventHashMatches(redacted1.prevHash, redacted1, () => record)).toBe(true);
    // The record vouches for that content only.
    const edited = { ...redacted1, after: { ...(redacted1.after as object), status: 'APPROVED' } };
    expect(await auditEventHashMatches(edited.prevHash, edited, () => record)).toBe(false);

    // In a chain: the record is a user.erased event after them.
    const [erased] = await stored([
      base(3, { action: 'user.erased', targetType: 'User', targetId: 'rita', after: { v1: [record] } }),
    ]);
    const chain = [redacted1, redacted2];
    const tail = { ...(erased as StoredAuditEvent), prevHash: redacted2.hash };
    tail.hash = await computeAuditHash(tail.prevHash, tail);
    expect(await verifyAuditChain([...chain, tail])).toMatchObject({ valid: true, checked: 3 });
    expect(await verifyAuditChain(chain)).toMatchObject({ valid: false, brokenAtSeq: 1 });
  });
});
