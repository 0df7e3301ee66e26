import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { type AuditDigestSettings, ConfigError, parseConfig } from '../../src/config';
import { auditChain } from '../../src/db/audit';
import { type AuditDigestRecord, insertAuditDigest, lastAuditDigest } from '../../src/db/auditDigests';
import {
  type AuditKeySet,
  digestHash,
  digestObjectKey,
  importPublicKey,
  parseSignedDigest,
  type SignedAuditDigest,
  verifyDigestSignature,
} from '../../src/domain/auditDigest';
import { verifyAuditExport } from '../../src/domain/auditExportVerification';
import { r2Archive } from '../../src/runtime/worker/ports';
import { hourlyAuditDigests } from '../../src/runtime/worker/scheduled';
import { digestTenant } from '../../src/usecases/auditDigests';
import { token } from '../helpers/auth';
import { createChange } from '../helpers/changes';
import { gql, gqlOk } from '../helpers/graphql';

const CREATE_DIGEST = `mutation { createAuditDigest { created digest {
  fromSeq toSeq eventCount headHash previousDigestHash digestHash keyId signature createdAt objectKey } } }`;
const DIGESTS = `query($first: Int, $after: String) { auditDigests(first: $first, after: $after) {
  nodes { fromSeq toSeq keyId digestHash previousDigestHash } pageInfo { hasNextPage endCursor } } }`;

/** The fields the tests select: the record without what only D1 keeps. */
type DigestFields = Omit<AuditDigestRecord, 'tenantId' | 'document' | 'archivedAt'>;

/** What the hourly run passes (src/runtime/worker/scheduled.ts). */
const cronDeps = () => ({
  db: env.DB,
  archive: r2Archive(env.AUDIT_ARCHIVE),
  settings: parseConfig(env).auditDigests,
  now: () => new Date(),
});

const admin = (tenant: string) => token({ tenant, roles: ['admin'], sub: `admin-${tenant}` });

async function someEvents(tenant: string, n: number): Promise<void> {
  const tok = await token({ tenant, roles: ['requester'], sub: `rita-${tenant}` });
  for (let i = 0; i < n; i++) await createChange(tok, { title: `Change ${i} of ${tenant}` });
}

async function createDigest(tenant: string) {
  return (
    await gqlOk<{ createAuditDigest: { created: boolean; digest: DigestFields | null } }>(
      CREATE_DIGEST,
      {},
      await admin(tenant),
    )
  ).createAuditDigest;
}

async function archived(key: string): Promise<SignedAuditDigest> {
  const object = await env.AUDIT_ARCHIVE.get(key);
  expect(object, `archive object ${key}`).not.toBeNull();
  const parsed = parseSignedDigest(JSON.parse(await (object as R2ObjectBody).text()));
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

async function publishedKeys(): Promise<AuditKeySet> {
  const res = await exports.default.fetch('http://cf.test/.well-known/changeflow-audit-keys.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/application\/json/);
  return res.json();
}

async function verifiesWithPublished(d: SignedAuditDigest): Promise<boolean> {
  const key = (await publishedKeys()).keys.find((k) => k.kid === d.keyId);
  if (!key) return false;
  return verifyDigestSignature(d.digest, d.signature, await importPublicKey(key));
}

/** The tenant's chain as `npm run audit:export` writes it, as the offline verifier reads it. */
async function exportLines(tenant: string) {
  return (await auditChain(env.DB, tenant)).map((e) => ({ event: e }));
}

describe('signed audit digests', () => {
  it('signs the new events, writes the digest to R2 and records it in D1', async () => {
    const tenant = 'digest-sign';
    await someEvents(tenant, 3);
    const { created, digest } = await createDigest(tenant);
    expect(created).toBe(true);
    const chain = await auditChain(env.DB, tenant);
    expect(digest).toMatchObject({
      fromSeq: 1,
      toSeq: chain.length,
      eventCount: chain.length,
      headHash: chain.at(-1)?.hash,
      previousDigestHash: null,
      keyId: 'test-2026-12',
      objectKey: digestObjectKey(tenant, chain.length),
    });
    expect(digest?.objectKey).toBe(`digests/digest-sign/${String(chain.length).padStart(12, '0')}.json`);

    const file = await archived(digest?.objectKey as string);
    expect(file.digest).toEqual({
      tenant,
      fromSeq: 1,
      toSeq: chain.length,
      headHash: chain.at(-1)?.hash,
      eventCount: chain.length,
      previousDigestHash: null,
      createdAt: digest?.createdAt,
    });
    expect(file.signature).toBe(digest?.signature);
    expect(file.digestHash).toBe(await digestHash(file.digest));
    expect(await verifiesWithPublished(file)).toBe(true);
    // A signature is over exactly these fields: one changed field and it no longer verifies.
    expect(
      await verifiesWithPublished({ ...file, digest: { ...file.digest, toSeq: file.digest.toSeq - 1 } }),
    ).toBe(false);

    const row = await lastAuditDigest(env.DB, tenant);
    expect(row).toMatchObject({
      toSeq: chain.length,
      digestHash: file.digestHash,
      signature: file.signature,
    });
    expect(JSON.parse(row?.document as string)).toEqual(file);
  });

  it('skips a tenant with no new events, and links the next digest to the last', async () => {
    const tenant = 'digest-link';
    await someEvents(tenant, 2);
    const first = await createDigest(tenant);
    // The request is audited first and covered too: 2 changes and the request.
    expect(first.digest).toMatchObject({ fromSeq: 1, toSeq: 3, eventCount: 3 });
    const [requested] = (await auditChain(env.DB, tenant)).slice(-1);
    expect(requested).toMatchObject({
      seq: 3,
      action: 'audit_digest.requested',
      targetType: 'AuditDigest',
      targetId: tenant,
      actorId: `admin-${tenant}`,
    });
    // Nothing since: the hourly run skips the tenant.
    const again = await digestTenant(cronDeps(), tenant);
    expect(again.created).toBe(false);
    expect(again.digest?.digestHash).toBe(first.digest?.digestHash);

    await someEvents(tenant, 2);
    const second = await createDigest(tenant);
    expect(second.created).toBe(true);
    expect(second.digest).toMatchObject({
      fromSeq: 4,
      toSeq: 6,
      eventCount: 3,
      previousDigestHash: first.digest?.digestHash,
    });

    const page = await gqlOk<{ auditDigests: { nodes: DigestFields[]; pageInfo: { hasNextPage: boolean } } }>(
      DIGESTS,
      { first: 1 },
      await token({ tenant, roles: ['viewer'] }),
    );
    expect(page.auditDigests.nodes.map((d) => d.toSeq)).toEqual([second.digest?.toSeq]);
    expect(page.auditDigests.pageInfo.hasNextPage).toBe(true);

    // The offline verifier accepts the chain and both digests.
    const digests = await Promise.all(
      [first, second].map(async (d) => ({
        name: d.digest?.objectKey as string,
        digest: await archived(d.digest?.objectKey as string),
      })),
    );
    const result = await verifyAuditExport({
      lines: await exportLines(tenant),
      digests,
      keys: (await publishedKeys()).keys,
    });
    expect(result.findings).toEqual([]);
    expect(result.anchoredThroughSeq).toBe(second.digest?.toSeq);
  });

  it('two runs racing for the same events record one digest, and the archive holds only it', async () => {
    const tenant = 'digest-race';
    await someEvents(tenant, 3);
    const deps = cronDeps();
    const outcomes = await Promise.all([
      digestTenant(deps, tenant),
      digestTenant(deps, tenant),
      digestTenant(deps, tenant),
    ]);
    expect(outcomes.filter((o) => o.created)).toHaveLength(1);
    const { results } = await env.DB.prepare(
      'SELECT to_seq, digest_hash FROM audit_digests WHERE tenant_id = ?1',
    )
      .bind(tenant)
      .all<{ to_seq: number; digest_hash: string }>();
    expect(results).toHaveLength(1);
    const listed = await env.AUDIT_ARCHIVE.list({ prefix: `digests/${tenant}/` });
    expect(listed.objects.map((o) => o.key)).toEqual([digestObjectKey(tenant, results[0]?.to_seq as number)]);
    expect((await archived(listed.objects[0]?.key as string)).digestHash).toBe(results[0]?.digest_hash);
    // A run that saw more events (a later toSeq) from the same last digest cannot record a fork.
    const recorded = (await lastAuditDigest(env.DB, tenant)) as NonNullable<
      Awaited<ReturnType<typeof lastAuditDigest>>
    >;
    await expect(insertAuditDigest(env.DB, { ...recorded, toSeq: recorded.toSeq + 5 })).rejects.toThrow(
      /UNIQUE/,
    );
  });

  it('a digest the archive did not take is recorded unarchived and written by the next run', async () => {
    const tenant = 'digest-retry';
    await someEvents(tenant, 2);
    const settings = parseConfig(env).auditDigests;
    const failing = {
      put: async () => {
        throw new Error('R2 is unavailable');
      },
      get: async () => null,
    };
    await expect(
      digestTenant({ db: env.DB, archive: failing, settings, now: () => new Date() }, tenant),
    ).rejects.toThrow('R2 is unavailable');
    const recorded = await lastAuditDigest(env.DB, tenant);
    expect(recorded?.archivedAt).toBeNull();
    expect(await env.AUDIT_ARCHIVE.head(recorded?.objectKey as string)).toBeNull();

    // The next run, with nothing new to digest, writes it first.
    const next = await digestTenant(cronDeps(), tenant);
    expect(next.created).toBe(false);
    expect((await lastAuditDigest(env.DB, tenant))?.archivedAt).not.toBeNull();
    expect((await archived(recorded?.objectKey as string)).digestHash).toBe(recorded?.digestHash);
  });

  it('never signs a broken chain', async () => {
    const tenant = 'digest-broken';
    await someEvents(tenant, 3);
    await env.DB.prepare(
      `UPDATE audit_events SET after_json = '{"title":"rewritten"}' WHERE tenant_id = ?1 AND seq = 2`,
    )
      .bind(tenant)
      .run();
    const r = await gql(CREATE_DIGEST, {}, { token: await admin(tenant) });
    expect(r.errors?.[0]?.extensions).toMatchObject({ code: 'AUDIT_CHAIN_BROKEN', seq: 2 });
    expect(await lastAuditDigest(env.DB, tenant)).toBeNull();
  });

  it('publishes the current and the retired public keys, never a private part', async () => {
    const { keys } = await publishedKeys();
    expect(keys.map((k) => [k.kid, k.status])).toEqual([
      ['test-2026-12', 'current'],
      ['test-2026-06', 'retired'],
    ]);
    for (const k of keys) {
      expect(k).not.toHaveProperty('d');
      expect(k).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    }
    // Public: no credential needed.
    const res = await exports.default.fetch('http://cf.test/.well-known/changeflow-audit-keys.json');
    expect(res.status).toBe(200);
  });

  it('rotation: digests signed by the retired key still verify, the new key signs the next', async () => {
    const tenant = 'digest-rotate';
    const settings = (signingKey: string, publicKeys = ''): AuditDigestSettings =>
      parseConfig({ ...env, AUDIT_SIGNING_KEY: signingKey, AUDIT_PUBLIC_KEYS: publicKeys }).auditDigests;
    const previousKey = JSON.parse(env.AUDIT_PUBLIC_KEYS)[0].kid as string;
    // Before the rotation, the previous key was the signing key (its private half is the test's).
    const before = settings(
      JSON.stringify({
        kty: 'OKP',
        crv: 'Ed25519',
        kid: previousKey,
        x: JSON.parse(env.AUDIT_PUBLIC_KEYS)[0].x,
        d: 'w4CQdSr16n24fOJUwtrWOLz-SKrgKiurH0EEtwrpr8E',
      }),
    );
    const deps = (s: AuditDigestSettings) => ({
      db: env.DB,
      archive: r2Archive(env.AUDIT_ARCHIVE),
      settings: s,
      now: () => new Date(),
    });
    await someEvents(tenant, 2);
    const old = await digestTenant(deps(before), tenant);
    expect(old.digest?.keyId).toBe('test-2026-06');

    await someEvents(tenant, 1);
    const next = await createDigest(tenant);
    expect(next.digest?.keyId).toBe('test-2026-12');
    expect(next.digest?.previousDigestHash).toBe(old.digest?.digestHash);

    const files = await Promise.all(
      [old.digest?.objectKey, next.digest?.objectKey].map((k) => archived(k as string)),
    );
    for (const f of files) expect(await verifiesWithPublished(f)).toBe(true);
    const result = await verifyAuditExport({
      lines: await exportLines(tenant),
      digests: files.map((digest, i) => ({ name: String(i), digest })),
      keys: (await publishedKeys()).keys,
    });
    expect(result.findings).toEqual([]);
    // Once the retired key is no longer published, its digests no longer verify.
    const withoutOld = (await publishedKeys()).keys.filter((k) => k.kid !== 'test-2026-06');
    const stripped = await verifyAuditExport({
      lines: await exportLines(tenant),
      digests: files.map((digest, i) => ({ name: String(i), digest })),
      keys: withoutOld,
    });
    expect(stripped.findings.map((f) => f.kind)).toContain('UNKNOWN_KEY');
  });

  it('every hour, a digest for each tenant with new events', async () => {
    const tenant = 'digest-hourly';
    await someEvents(tenant, 2);
    await hourlyAuditDigests(env, new Date('2026-12-06T21:05:00Z'));
    expect(await lastAuditDigest(env.DB, tenant)).toBeNull();
    await hourlyAuditDigests(env, new Date('2026-12-06T22:00:00Z'));
    const digest = await lastAuditDigest(env.DB, tenant);
    expect(digest?.toSeq).toBe((await auditChain(env.DB, tenant)).length);
    expect(await env.AUDIT_ARCHIVE.head(digest?.objectKey as string)).not.toBeNull();
    // Nothing new: the next hour writes nothing for it.
    await hourlyAuditDigests(env, new Date('2026-12-06T23:00:00Z'));
    expect((await lastAuditDigest(env.DB, tenant))?.digestHash).toBe(digest?.digestHash);
  });
});

describe('who may see and make digests', () => {
  it('an admin makes them; a change manager may not', async () => {
    const tenant = 'digest-auth';
    await someEvents(tenant, 1);
    const r = await gql(
      CREATE_DIGEST,
      {},
      {
        token: await token({ tenant, roles: ['change_manager'] }),
      },
    );
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(await lastAuditDigest(env.DB, tenant)).toBeNull();
    const anonymous = await gql(DIGESTS, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('a tenant sees only its own digests, and makes only its own', async () => {
    const mine = 'digest-tenant-a';
    const theirs = 'digest-tenant-b';
    await someEvents(mine, 1);
    await someEvents(theirs, 1);
    await createDigest(mine);
    const list = async (tenant: string) =>
      (
        await gqlOk<{ auditDigests: { nodes: DigestFields[] } }>(
          DIGESTS,
          {},
          await token({ tenant, roles: ['viewer'] }),
        )
      ).auditDigests.nodes;
    expect(await list(mine)).toHaveLength(1);
    expect(await list(theirs)).toEqual([]);
    expect(await lastAuditDigest(env.DB, theirs)).toBeNull();
  });
});

describe('configuration', () => {
  const base = { JWT_SECRET: 'x'.repeat(32), JWT_AUDIENCE: 'changeflow' };
  const refusal = (vars: Record<string, string>) => {
    try {
      parseConfig({ ...base, ...vars });
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('expected a ConfigError');
  };

  it('requires the signing key outside development when digests are on', () => {
    const e = refusal({
      ENVIRONMENT: 'production',
      AUDIT_DIGESTS_ENABLED: 'true',
      CORS_ORIGINS: 'https://a.example',
    });
    expect(e.variables).toEqual(['AUDIT_SIGNING_KEY', 'AUDIT_DIGESTS_ENABLED']);
    expect(
      parseConfig({ ...base, ENVIRONMENT: 'production', AUDIT_DIGESTS_ENABLED: 'false' }).auditDigests
        .enabled,
    ).toBe(false);
    // Development runs without one (digests then answer AUDIT_DIGESTS_NOT_CONFIGURED).
    expect(parseConfig({ ...base, AUDIT_DIGESTS_ENABLED: 'true' }).auditDigests.signingKey).toBeNull();
  });

  it.each([
    ['not JSON', 'nope', /is not JSON/],
    ['another curve', '{"kty":"OKP","crv":"X25519","d":"AA","x":"AA","kid":"k"}', /not an Ed25519 key/],
    ['no kid', JSON.stringify({ ...JSON.parse(env.AUDIT_SIGNING_KEY), kid: undefined }), /has no "kid"/],
    ['a short d', JSON.stringify({ ...JSON.parse(env.AUDIT_SIGNING_KEY), d: 'AAAA' }), /32-byte "d"/],
  ])('refuses a signing key that is %s, without repeating it', (_label, value, message) => {
    const e = refusal({ AUDIT_SIGNING_KEY: value });
    expect(e.variable).toBe('AUDIT_SIGNING_KEY');
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain(JSON.parse(env.AUDIT_SIGNING_KEY).d);
  });

  it('refuses a published key with a private part, or a kid used twice', () => {
    const { kid, x, d } = JSON.parse(env.AUDIT_SIGNING_KEY);
    expect(
      refusal({ AUDIT_PUBLIC_KEYS: JSON.stringify([{ kty: 'OKP', crv: 'Ed25519', kid: 'old', x, d }]) })
        .message,
    ).toMatch(/private part/);
    expect(
      refusal({
        AUDIT_SIGNING_KEY: env.AUDIT_SIGNING_KEY,
        AUDIT_PUBLIC_KEYS: JSON.stringify([{ kty: 'OKP', crv: 'Ed25519', kid, x }]),
      }).message,
    ).toMatch(/twice/);
  });

  it('answers AUDIT_DIGESTS_NOT_CONFIGURED without a key', async () => {
    const settings = parseConfig({ ...base, AUDIT_DIGESTS_ENABLED: 'true' }).auditDigests;
    await expect(
      digestTenant(
        { db: env.DB, archive: r2Archive(env.AUDIT_ARCHIVE), settings, now: () => new Date() },
        'x',
      ),
    ).rejects.toMatchObject({ code: 'AUDIT_DIGESTS_NOT_CONFIGURED' });
  });
});
