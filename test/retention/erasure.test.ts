import { env } from 'cloudflare:test';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { verifyAuditExport } from '../../src/domain/auditExportVerification';
import { TEST_AUDIENCE, TEST_MCP_RESOURCE, token } from '../helpers/auth';
import { approve, createChange, gqlError, submit } from '../helpers/changes';
import { gqlOk } from '../helpers/graphql';
import { exportOf, publishedKeys, storedPayloads, VERIFY, type Verification, writeV1Events } from './helpers';

const ERASE = `mutation($userId: ID!) { eraseUserData(userId: $userId) {
  userId erasedAt redactedEvents v1RedactedEvents remaining } }`;
const SET_POLICY = `mutation($eraseFreeText: Boolean, $legalHold: Boolean) {
  setRetentionPolicy(eraseFreeText: $eraseFreeText, legalHold: $legalHold) { eraseFreeText legalHold } }`;
const REQUESTER = `query($id: ID!) { change(id: $id) { description requester { id displayName email } } }`;

const OLD_TEXT = 'Rita: call me on +44 7700 900123 before the window';
const NEW_TEXT = 'Rita again: my home office is at 12 Elm Street';
const ABE_TEXT = 'Abe approves: reviewed with the DBA team';

/** A token that carries a name and an email, as an identity provider's would. */
async function personToken(tenant: string, sub: string, roles: string[]) {
  return new SignJWT({ tenant, roles, name: `${sub} Smith`, email: `${sub}@example.com` })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setAudience([TEST_AUDIENCE, TEST_MCP_RESOURCE])
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(env.JWT_SECRET));
}

const old = (seq: number, actorId: string, before: unknown, after: unknown) => ({
  actorId,
  actorType: 'user',
  source: 'graphql' as const,
  action: seq === 1 ? 'change.created' : 'change.submitted',
  targetType: 'ChangeRequest',
  targetId: 'CHG-OLD-1',
  requestId: `req-old-${seq}`,
  before,
  after,
  createdAt: `2026-01-0${seq}T10:00:00.000Z`,
});

/** A tenant with old (version 1) and new (version 2) events holding rita's text, and abe's. */
async function tenantWithHistory(tenant: string) {
  await writeV1Events(tenant, [
    old(1, 'rita', null, { id: 'CHG-OLD-1', title: 'Old change', description: OLD_TEXT, status: 'DRAFT' }),
    old(
      2,
      'max',
      { id: 'CHG-OLD-1', description: OLD_TEXT, status: 'DRAFT' },
      { id: 'CHG-OLD-1', description: OLD_TEXT, status: 'SUBMITTED' },
    ),
    old(3, 'abe', null, { id: 'CHG-OLD-2', description: 'Abe’s own old text', status: 'DRAFT' }),
  ]);
  const rita = await personToken(tenant, 'rita', ['requester']);
  const abe = await personToken(tenant, 'abe', ['approver']);
  const admin = await token({ tenant, roles: ['admin'], sub: 'root' });
  const change = await createChange(rita, { description: NEW_TEXT });
  await submit(rita, change.id);
  await approve(abe, change.id, ABE_TEXT);
  return { rita, abe, admin, change };
}

describe('eraseUserData', () => {
  it('redacts old and new events, and the chain, the digests and the offline verifier still accept it', async () => {
    const tenant = 'erase-main';
    const { rita, admin, change } = await tenantWithHistory(tenant);
    const before = await gqlOk<{ change: { requester: { displayName: string; email: string } } }>(
      REQUESTER,
      { id: change.id },
      admin,
    );
    expect(before.change.requester).toMatchObject({
      displayName: 'rita Smith',
      email: 'rita@example.com',
    });
    await gqlOk(SET_POLICY, { eraseFreeText: true }, admin);

    const { eraseUserData } = await gqlOk<{ eraseUserData: Record<string, unknown> }>(
      ERASE,
      { userId: 'rita' },
      admin,
    );
    // Old: rita's create and max's submit snapshot (v1); new: at least her create (v2).
    expect(eraseUserData).toMatchObject({ userId: 'rita', v1RedactedEvents: 2, remaining: false });
    expect(eraseUserData.redactedEvents as number).toBeGreaterThanOrEqual(3);

    const stored = await storedPayloads(tenant);
    expect(stored).not.toContain(OLD_TEXT);
    expect(stored).not.toContain(NEW_TEXT);
    expect(stored).toContain(ABE_TEXT);
    expect(stored).toContain('Abe’s own old text');
    expect(stored).toContain('$redacted');

    const after = await gqlOk<{ change: { description: string; requester: Record<string, unknown> } }>(
      REQUESTER,
      { id: change.id },
      admin,
    );
    expect(after.change).toEqual({
      description: '[erased]',
      requester: { id: 'rita', displayName: null, email: null },
    });

    // Online verification, the digest (which verifies its stretch page by page) and offline.
    expect((await gqlOk<Verification>(VERIFY, {}, admin)).verifyAuditChain).toMatchObject({
      valid: true,
      brokenAtSeq: null,
    });
    const digest = await gqlOk<{ createAuditDigest: { created: boolean; digest: { objectKey: string } } }>(
      'mutation { createAuditDigest { created digest { objectKey } } }',
      {},
      admin,
    );
    expect(digest.createAuditDigest.created).toBe(true);
    const document = await env.AUDIT_ARCHIVE.get(digest.createAuditDigest.digest.objectKey);
    const exported = await exportOf(tenant, admin);
    expect(exported.map((e) => e.hashVersion)).toEqual(exported.map((e) => (e.seq <= 3 ? 1 : 2)));
    const offline = await verifyAuditExport({
      lines: exported.map((event) => ({ event })),
      digests: [{ name: 'd', digest: JSON.parse(await (document as R2ObjectBody).text()) }],
      keys: (await publishedKeys()).keys,
    });
    expect(offline.findings).toEqual([]);

    // A later token of rita's does not write her name and email back.
    await createChange(rita, { title: 'After erasure' });
    const again = await gqlOk<{ change: { requester: Record<string, unknown> } }>(
      REQUESTER,
      { id: change.id },
      admin,
    );
    expect(again.change.requester).toEqual({ id: 'rita', displayName: null, email: null });
  });

  it('still detects tampering after an erasure: an edited field, a forged marker, an edited old event', async () => {
    const tenant = 'erase-tamper';
    const { admin } = await tenantWithHistory(tenant);
    await gqlOk(SET_POLICY, { eraseFreeText: true }, admin);
    await gqlOk(ERASE, { userId: 'rita' }, admin);
    const verify = async () => (await gqlOk<Verification>(VERIFY, {}, admin)).verifyAuditChain;
    const edit = async (
      seq: number,
      column: 'after_json' | 'before_json',
      edit: (p: Record<string, unknown>) => void,
    ) => {
      const row = await env.DB.prepare(
        `SELECT ${column} AS p FROM audit_events WHERE tenant_id = ?1 AND seq = ?2`,
      )
        .bind(tenant, seq)
        .first<{ p: string }>();
      const original = row?.p as string;
      const p = JSON.parse(original);
      edit(p);
      await env.DB.prepare(`UPDATE audit_events SET ${column} = ?3 WHERE tenant_id = ?1 AND seq = ?2`)
        .bind(tenant, seq, JSON.stringify(p))
        .run();
      const result = await verify();
      await env.DB.prepare(`UPDATE audit_events SET ${column} = ?3 WHERE tenant_id = ?1 AND seq = ?2`)
        .bind(tenant, seq, original)
        .run();
      return result;
    };
    expect((await verify()).valid).toBe(true);
    // seq 4 is rita's new change.created (version 2): a kept field edited, then its marker's hash.
    expect(await edit(4, 'after_json', (p) => (p.title = 'Tampered'))).toMatchObject({
      valid: false,
      brokenAtSeq: 4,
    });
    expect(await edit(4, 'after_json', (p) => (p.description = { $redacted: 'f'.repeat(64) }))).toMatchObject(
      {
        valid: false,
        brokenAtSeq: 4,
      },
    );
    // seq 1 is rita's old change.created (version 1, redacted under a record): another field edited.
    expect(await edit(1, 'after_json', (p) => (p.status = 'APPROVED'))).toMatchObject({
      valid: false,
      brokenAtSeq: 1,
    });
    // The record itself (the user.erased event) edited to vouch for something else.
    const recordSeq = (
      await env.DB.prepare(`SELECT seq FROM audit_events WHERE tenant_id = ?1 AND action = 'user.erased'`)
        .bind(tenant)
        .first<{ seq: number }>()
    )?.seq as number;
    const forged = await edit(recordSeq, 'after_json', (p) => {
      const [first] = p.v1 as { redactedHash: string }[];
      if (first) first.redactedHash = '0'.repeat(64);
    });
    expect(forged.valid).toBe(false);
    expect((await verify()).valid).toBe(true);
  });

  it('is refused to a non-admin, for another tenant’s person, twice, and under legal hold', async () => {
    const tenant = 'erase-abuse';
    const { admin } = await tenantWithHistory(tenant);
    const manager = await token({ tenant, roles: ['change_manager'], sub: 'max' });
    expect((await gqlError(ERASE, { userId: 'rita' }, manager)).code).toBe('FORBIDDEN');

    // rita exists in erase-abuse only: another tenant's admin cannot reach her.
    const otherAdmin = await token({ tenant: 'erase-abuse-other', roles: ['admin'], sub: 'root' });
    expect((await gqlError(ERASE, { userId: 'rita' }, otherAdmin)).code).toBe('USER_NOT_FOUND');
    expect((await gqlError(ERASE, { userId: 'nobody' }, admin)).code).toBe('USER_NOT_FOUND');

    await gqlOk(SET_POLICY, { legalHold: true }, admin);
    const held = await gqlError(ERASE, { userId: 'rita' }, admin);
    expect(held.code).toBe('LEGAL_HOLD');
    expect(held.status).toBe(409);
    expect(await storedPayloads(tenant)).toContain(NEW_TEXT);

    await gqlOk(SET_POLICY, { legalHold: false }, admin);
    const first = await gqlOk<{ eraseUserData: { redactedEvents: number } }>(
      ERASE,
      { userId: 'rita' },
      admin,
    );
    // Free text is kept by default: only the name and email go.
    expect(first.eraseUserData.redactedEvents).toBe(0);
    expect(await storedPayloads(tenant)).toContain(NEW_TEXT);
    expect((await gqlError(ERASE, { userId: 'rita' }, admin)).code).toBe('USER_ALREADY_ERASED');
    // Once the policy asks for free text, the same person has something left to erase, once.
    await gqlOk(SET_POLICY, { eraseFreeText: true }, admin);
    const second = await gqlOk<{ eraseUserData: { redactedEvents: number } }>(
      ERASE,
      { userId: 'rita' },
      admin,
    );
    expect(second.eraseUserData.redactedEvents).toBeGreaterThan(0);
    expect((await gqlError(ERASE, { userId: 'rita' }, admin)).code).toBe('USER_ALREADY_ERASED');

    const { results } = await env.DB.prepare(
      `SELECT action FROM audit_events WHERE tenant_id = ?1 AND action IN ('user.erased', 'retention_policy.updated') ORDER BY seq`,
    )
      .bind(tenant)
      .all<{ action: string }>();
    expect(results.map((r) => r.action)).toEqual([
      'retention_policy.updated',
      'retention_policy.updated',
      'user.erased',
      'retention_policy.updated',
      'user.erased',
    ]);
    expect((await gqlOk<Verification>(VERIFY, {}, admin)).verifyAuditChain.valid).toBe(true);
  });
});
