import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { auditEventsFrom } from '../../src/db/audit';
import { digestRecord, insertAuditDigest } from '../../src/db/auditDigests';
import { GENESIS_HASH } from '../../src/domain/auditChain';
import { digestObjectKey, signDigest } from '../../src/domain/auditDigest';
import type { Principal } from '../../src/domain/principal';
import { VERIFY_PAGE_EVENTS, verifyTenantAuditChain } from '../../src/usecases/auditVerification';
import { type AuthedContext, createRequestContext } from '../../src/usecases/context';
import { complianceReport } from '../../src/usecases/reports';
import { appendChain, fillUnhashedEvents } from '../helpers/auditRows';
import { rowsReadD1 } from '../helpers/rowsReadD1';

/**
 * A tenant with a million audit events: every verification and compliance report call reads and
 * hashes a bounded number of rows, counted by D1 itself (meta.rows_read). Only the events a
 * bounded call may touch carry real hashes (the first page, and the last 1000 around the digest);
 * the 998,000 in between are filled by SQL with hashes that verify nothing, so a call that read
 * any of them would report a break.
 */
const TENANT = 'verify-million';
const TOTAL = 1_000_000;
const DIGEST_AT = 999_500;
/** Rows a call may read besides the events it hashes: anchors, the digest, the run, the status. */
const OVERHEAD = 20;

const principal: Principal = {
  id: 'auditor',
  tenantId: TENANT,
  roles: ['change_manager'],
  kind: 'user',
  name: null,
  email: null,
};

function context() {
  const counted = rowsReadD1(env.DB);
  const ctx = createRequestContext({
    db: counted.db,
    requestId: 'million',
    principal,
    auditDigestSettings: parseConfig(env).auditDigests,
  }) as AuthedContext;
  return { ctx, counter: counted.counter };
}

beforeAll(async () => {
  await appendChain(TENANT, 1, VERIFY_PAGE_EVENTS, GENESIS_HASH);
  await fillUnhashedEvents(TENANT, VERIFY_PAGE_EVENTS + 1, TOTAL - 1000);
  await appendChain(TENANT, TOTAL - 999, 1000, `${TOTAL - 1000}`.padStart(64, '0'));
  // A signed digest anchoring seq 1..999,500, as the hourly run would have made it.
  const [anchor] = await auditEventsFrom(env.DB, TENANT, DIGEST_AT, DIGEST_AT, 1);
  const key = parseConfig(env).auditDigests.signingKey;
  if (!anchor || !key) throw new Error('test setup: no anchor event or no signing key');
  const privateKey = await crypto.subtle.importKey('jwk', { ...key }, 'Ed25519', false, ['sign']);
  const signed = await signDigest(
    {
      tenant: TENANT,
      fromSeq: 1,
      toSeq: DIGEST_AT,
      headHash: anchor.hash,
      eventCount: DIGEST_AT,
      previousDigestHash: null,
      createdAt: new Date().toISOString(),
    },
    { keyId: key.kid, privateKey },
  );
  await insertAuditDigest(
    env.DB,
    digestRecord(signed, digestObjectKey(TENANT, DIGEST_AT), JSON.stringify(signed)),
  );
}, 120_000);

describe('verification at a million events', () => {
  it('holds a million events', async () => {
    const head = await env.DB.prepare('SELECT MAX(seq) AS seq FROM audit_events WHERE tenant_id = ?1')
      .bind(TENANT)
      .first<{ seq: number }>();
    expect(head?.seq).toBe(TOTAL);
  });

  it('RECENT hashes the 500 events after the digest and reads little more', async () => {
    const { ctx, counter } = context();
    const r = await verifyTenantAuditChain(ctx);
    expect(r).toMatchObject({
      valid: true,
      anchor: 'DIGEST',
      checked: 500,
      fromSeq: DIGEST_AT + 1,
      complete: true,
    });
    console.log(
      `RECENT at 1M events: ${r.checked} hashed, ${counter.rowsRead} rows read in ${counter.statements} statements`,
    );
    expect(counter.rowsRead).toBeLessThanOrEqual(500 + OVERHEAD);

    // Again: from the checkpoint it just recorded, nothing new to read.
    const again = context();
    expect(await verifyTenantAuditChain(again.ctx)).toMatchObject({
      valid: true,
      checked: 0,
      anchor: 'CHECKPOINT',
    });
    expect(again.counter.rowsRead).toBeLessThanOrEqual(OVERHEAD);
  });

  it('FULL reads one page per call, resumes by cursor, and finds the break in the second page', async () => {
    const first = context();
    const page1 = await verifyTenantAuditChain(first.ctx, { mode: 'FULL' });
    expect(page1).toMatchObject({ valid: true, checked: VERIFY_PAGE_EVENTS, complete: false, toSeq: TOTAL });
    console.log(`FULL page 1 at 1M events: ${page1.checked} hashed, ${first.counter.rowsRead} rows read`);
    expect(first.counter.rowsRead).toBeLessThanOrEqual(VERIFY_PAGE_EVENTS + OVERHEAD);

    const second = context();
    const page2 = await verifyTenantAuditChain(second.ctx, { cursor: page1.cursor });
    // The SQL-filled events carry no real hashes: the first of them does not link.
    expect(page2).toMatchObject({ valid: false, brokenAtSeq: VERIFY_PAGE_EVENTS + 1, complete: true });
    console.log(`FULL page 2 at 1M events: ${second.counter.rowsRead} rows read`);
    expect(second.counter.rowsRead).toBeLessThanOrEqual(VERIFY_PAGE_EVENTS + OVERHEAD);
  });

  it('complianceReport reads the recorded status and a bounded page, never the chain', async () => {
    const { ctx, counter } = context();
    const r = await complianceReport(ctx, '2026-01-01T00:00:00Z', '2026-12-31T00:00:00Z');
    expect(r.auditChain).toMatchObject({ valid: false, brokenAtSeq: VERIFY_PAGE_EVENTS + 1, headSeq: TOTAL });
    console.log(`complianceReport at 1M events: ${counter.rowsRead} rows read`);
    expect(counter.rowsRead).toBeLessThanOrEqual(OVERHEAD);
  });
});
