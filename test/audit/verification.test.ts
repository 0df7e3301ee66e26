import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { auditEventsFrom } from '../../src/db/audit';
import { computeAuditHash, GENESIS_HASH } from '../../src/domain/auditChain';
import { VERIFY_PAGE_EVENTS } from '../../src/usecases/auditVerification';
import { appendChain, digestNow } from '../helpers/auditRows';
import { token } from '../helpers/auth';
import { gql, gqlOk } from '../helpers/graphql';

const VERIFY = `query($mode: AuditVerificationMode, $cursor: String) {
  verifyAuditChain(mode: $mode, cursor: $cursor) {
    valid checked brokenAtSeq reason mode anchor fromSeq verifiedToSeq toSeq complete cursor } }`;

interface Verification {
  valid: boolean;
  checked: number;
  brokenAtSeq: number | null;
  reason: string | null;
  mode: 'RECENT' | 'FULL';
  anchor: 'GENESIS' | 'DIGEST' | 'CHECKPOINT';
  fromSeq: number;
  verifiedToSeq: number;
  toSeq: number;
  complete: boolean;
  cursor: string | null;
}

const manager = (tenant: string) => token({ tenant, roles: ['change_manager'], sub: `cm-${tenant}` });

async function verify(tenant: string, vars: { mode?: 'RECENT' | 'FULL'; cursor?: string } = {}) {
  return (await gqlOk<{ verifyAuditChain: Verification }>(VERIFY, vars, await manager(tenant)))
    .verifyAuditChain;
}

const tamper = (sql: string, tenant: string, seq: number) =>
  env.DB.prepare(`${sql} WHERE tenant_id = ?1 AND seq = ?2`).bind(tenant, seq).run();

describe('RECENT verification (the default)', () => {
  it('starts at the last signed digest and checks only the events after it', async () => {
    const tenant = 'verify-recent-digest';
    const head = await appendChain(tenant, 1, 30, GENESIS_HASH);
    const { digest } = await digestNow(tenant);
    expect(digest?.toSeq).toBe(30);
    await appendChain(tenant, 31, 5, head);

    const r = await verify(tenant);
    expect(r).toEqual({
      valid: true,
      checked: 5,
      brokenAtSeq: null,
      reason: null,
      mode: 'RECENT',
      anchor: 'DIGEST',
      fromSeq: 31,
      verifiedToSeq: 35,
      toSeq: 35,
      complete: true,
      cursor: null,
    });
    // Next time it starts where this one ended: nothing new, nothing hashed.
    expect(await verify(tenant)).toMatchObject({
      valid: true,
      checked: 0,
      anchor: 'CHECKPOINT',
      fromSeq: 36,
    });
  });

  it('finds an edit after its anchor, and keeps reporting it after new writes', async () => {
    const tenant = 'verify-recent-edit';
    const head = await appendChain(tenant, 1, 10, GENESIS_HASH);
    await digestNow(tenant);
    await appendChain(tenant, 11, 5, head);
    await tamper(`UPDATE audit_events SET actor_id = 'mallory'`, tenant, 13);
    expect(await verify(tenant)).toMatchObject({ valid: false, brokenAtSeq: 13, checked: 2, complete: true });
    expect((await verify(tenant)).reason).toMatch(/modified/);
  });

  it('finds an edit of the event the last digest anchors, and a forged digest row', async () => {
    const tenant = 'verify-anchor-edit';
    await appendChain(tenant, 1, 8, GENESIS_HASH);
    await digestNow(tenant);
    await tamper(`UPDATE audit_events SET target_id = 'CHG-forged'`, tenant, 8);
    const r = await verify(tenant);
    expect(r).toMatchObject({ valid: false, brokenAtSeq: 8, checked: 0 });
    expect(r.reason).toMatch(/modified since the last signed digest/);

    const other = 'verify-forged-digest';
    await appendChain(other, 1, 4, GENESIS_HASH);
    await digestNow(other);
    await env.DB.prepare(`UPDATE audit_digests SET head_hash = ?2 WHERE tenant_id = ?1`)
      .bind(other, 'f'.repeat(64))
      .run();
    expect((await verify(other)).reason).toMatch(/digest ending at seq 4 was altered/);
  });

  it('finds the newest events deleted below the last digest', async () => {
    const tenant = 'verify-truncated';
    await appendChain(tenant, 1, 12, GENESIS_HASH);
    await digestNow(tenant);
    await env.DB.prepare('DELETE FROM audit_events WHERE tenant_id = ?1 AND seq > 9').bind(tenant).run();
    const r = await verify(tenant);
    expect(r).toMatchObject({ valid: false, brokenAtSeq: 10 });
    expect(r.reason).toMatch(/ends at seq 9 .* reached 12 \(events deleted\)/);
  });

  it('more events since the anchor than a page: a page per call, continued by cursor or by calling again', async () => {
    const tenant = 'verify-recent-pages';
    await appendChain(tenant, 1, VERIFY_PAGE_EVENTS + 20, GENESIS_HASH);
    const first = await verify(tenant);
    expect(first).toMatchObject({
      valid: true,
      checked: VERIFY_PAGE_EVENTS,
      anchor: 'GENESIS',
      verifiedToSeq: VERIFY_PAGE_EVENTS,
      complete: false,
    });
    expect(first.cursor).toMatch(/^[0-9a-f-]{36}$/);
    const second = await verify(tenant, { cursor: first.cursor as string });
    expect(second).toMatchObject({
      valid: true,
      checked: 20,
      verifiedToSeq: VERIFY_PAGE_EVENTS + 20,
      complete: true,
    });
    expect(second.cursor).toBeNull();
    // A finished run's cursor answers with its result, and hashes nothing more.
    expect(await verify(tenant, { cursor: first.cursor as string })).toMatchObject({
      complete: true,
      checked: 0,
    });
  });
});

describe('FULL verification', () => {
  it('checks the whole chain from seq 1 in pages, through every digest', async () => {
    const tenant = 'verify-full';
    let head = await appendChain(tenant, 1, 1500, GENESIS_HASH);
    await digestNow(tenant);
    head = await appendChain(tenant, 1501, 700, head);
    await digestNow(tenant);
    const seen: Verification[] = [await verify(tenant, { mode: 'FULL' })];
    while (seen.at(-1)?.cursor) seen.push(await verify(tenant, { cursor: seen.at(-1)?.cursor as string }));
    expect(seen.map((r) => [r.checked, r.verifiedToSeq, r.complete])).toEqual([
      [1000, 1000, false],
      [1000, 2000, false],
      [200, 2200, true],
    ]);
    expect(seen.every((r) => r.valid && r.mode === 'FULL' && r.anchor === 'GENESIS')).toBe(true);
  });

  it('finds a chain rewritten under a digest: the hashes were recomputed, the signed head was not', async () => {
    const tenant = 'verify-rewritten';
    await appendChain(tenant, 1, 6, GENESIS_HASH);
    await digestNow(tenant);
    // Someone who can write to D1 edits event 3 and recomputes every hash after it.
    const events = await auditEventsFrom(env.DB, tenant, 1, 6, 6);
    let prev = events[1]?.hash as string;
    for (const e of events.slice(2)) {
      const edited = { ...e, actorId: e.seq === 3 ? 'mallory' : e.actorId, prevHash: prev };
      edited.hash = await computeAuditHash(prev, edited);
      await env.DB.prepare(
        'UPDATE audit_events SET actor_id = ?3, prev_hash = ?4, hash = ?5 WHERE tenant_id = ?1 AND seq = ?2',
      )
        .bind(tenant, e.seq, edited.actorId, edited.prevHash, edited.hash)
        .run();
      prev = edited.hash;
    }
    // Each event verifies over its own prevHash, but event 6 is not what the digest signed.
    for (const mode of ['RECENT', 'FULL'] as const) {
      const r = await verify(tenant, { mode });
      expect(r).toMatchObject({ valid: false, brokenAtSeq: 6, checked: 0 });
      expect(r.reason).toMatch(/Event 6 was modified since the last signed digest/);
    }
  });

  it('checks the signature of every digest it passes, not only the last', async () => {
    const tenant = 'verify-old-digest';
    const head = await appendChain(tenant, 1, 5, GENESIS_HASH);
    await digestNow(tenant);
    await appendChain(tenant, 6, 5, head);
    await digestNow(tenant);
    await env.DB.prepare('UPDATE audit_digests SET event_count = 4 WHERE tenant_id = ?1 AND to_seq = 5')
      .bind(tenant)
      .run();
    expect(await verify(tenant)).toMatchObject({ valid: true, anchor: 'DIGEST' });
    const r = await verify(tenant, { mode: 'FULL' });
    expect(r).toMatchObject({ valid: false, brokenAtSeq: 5, checked: 4 });
    expect(r.reason).toMatch(/digest ending at seq 5 was altered/);
  });

  it('records the break it found for every later verification and report, until verified whole', async () => {
    const tenant = 'verify-recorded';
    await appendChain(tenant, 1, 20, GENESIS_HASH);
    expect((await verify(tenant)).valid).toBe(true);
    await tamper(`UPDATE audit_events SET request_id = 'forged'`, tenant, 4);
    // RECENT starts after the 20 events it verified: it does not look at seq 4…
    expect(await verify(tenant)).toMatchObject({ valid: true, checked: 0 });
    // …FULL does, and the break stays on record for RECENT and for complianceReport.
    expect(await verify(tenant, { mode: 'FULL' })).toMatchObject({
      valid: false,
      brokenAtSeq: 4,
      checked: 3,
    });
    expect(await verify(tenant)).toMatchObject({ valid: false, brokenAtSeq: 4, checked: 0 });
    const report = await gqlOk<{ complianceReport: { auditChain: unknown; score: number } }>(
      `{ complianceReport(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z") {
          score auditChain { valid brokenAtSeq verifiedToSeq headSeq } } }`,
      {},
      await manager(tenant),
    );
    expect(report.complianceReport.auditChain).toEqual({
      valid: false,
      brokenAtSeq: 4,
      verifiedToSeq: 20,
      headSeq: 20,
    });
  });
});

describe('abuse', () => {
  it('a cursor is the tenant’s own, and cannot be made up', async () => {
    const tenant = 'verify-cursor-owner';
    await appendChain(tenant, 1, VERIFY_PAGE_EVENTS + 1, GENESIS_HASH);
    const { cursor } = await verify(tenant, { mode: 'FULL' });
    expect(cursor).not.toBeNull();
    for (const [who, c] of [
      ['another tenant', cursor],
      ['a made-up cursor', crypto.randomUUID()],
      ['garbage', `${'x'.repeat(5000)}' OR 1=1 --`],
    ] as const) {
      const r = await gql(
        VERIFY,
        { cursor: c },
        { token: await manager(who === 'another tenant' ? 'verify-intruder' : tenant) },
      );
      expect(r.errors?.[0]?.extensions?.code, who).toBe('AUDIT_VERIFICATION_NOT_FOUND');
    }
  });

  it('calls with the same cursor, at once, move the run on without checking an event twice', async () => {
    const tenant = 'verify-cursor-race';
    await appendChain(tenant, 1, 2 * VERIFY_PAGE_EVENTS + 5, GENESIS_HASH);
    const { cursor } = await verify(tenant, { mode: 'FULL' });
    const again = () => verify(tenant, { cursor: cursor as string });
    const answers = [...(await Promise.all([again(), again()])), await again()];
    expect(answers.reduce((n, r) => n + r.checked, 0)).toBe(VERIFY_PAGE_EVENTS + 5);
    expect(answers.at(-1)).toMatchObject({
      valid: true,
      complete: true,
      verifiedToSeq: 2 * VERIFY_PAGE_EVENTS + 5,
    });
    const run = await env.DB.prepare('SELECT checked, status FROM audit_verifications WHERE id = ?1')
      .bind(cursor)
      .first();
    expect(run).toEqual({ checked: 2 * VERIFY_PAGE_EVENTS + 5, status: 'VALID' });
  });

  it('runs nobody continued for 7 days are forgotten when the tenant starts another', async () => {
    const tenant = 'verify-stale-runs';
    await appendChain(tenant, 1, VERIFY_PAGE_EVENTS + 1, GENESIS_HASH);
    const { cursor: old } = await verify(tenant, { mode: 'FULL' });
    await env.DB.prepare(
      `UPDATE audit_verifications SET updated_at = '2020-01-01T00:00:00.000Z' WHERE id = ?1`,
    )
      .bind(old)
      .run();
    const { cursor: fresh } = await verify(tenant, { mode: 'FULL' });
    const r = await gql(VERIFY, { cursor: old }, { token: await manager(tenant) });
    expect(r.errors?.[0]?.extensions?.code).toBe('AUDIT_VERIFICATION_NOT_FOUND');
    expect(await verify(tenant, { cursor: fresh as string })).toMatchObject({ valid: true, complete: true });
  });

  it('a requester or viewer may not verify', async () => {
    for (const role of ['requester', 'viewer'] as const) {
      const r = await gql(VERIFY, {}, { token: await token({ tenant: 'verify-roles', roles: [role] }) });
      expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
  });
});
