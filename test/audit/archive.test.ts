import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { lastAuditDigest } from '../../src/db/auditDigests';
import { r2Archive } from '../../src/runtime/worker/ports';
import { digestTenant } from '../../src/usecases/auditDigests';
import { token } from '../helpers/auth';
import { createChange } from '../helpers/changes';

const archive = () => r2Archive(env.AUDIT_ARCHIVE) as NonNullable<ReturnType<typeof r2Archive>>;
const deps = () => ({
  db: env.DB,
  archive: archive(),
  settings: parseConfig(env).auditDigests,
  now: () => new Date(),
});

describe('the audit archive is write-once', () => {
  it('takes a new object, takes the same object again, and refuses a different one', async () => {
    const key = 'digests/archive-unit/00000000000000000001.json';
    await archive().put(key, '{"a":1}\n');
    await archive().put(key, '{"a":1}\n');
    await expect(archive().put(key, '{"a":2}\n')).rejects.toMatchObject({
      code: 'AUDIT_ARCHIVE_CONFLICT',
    });
    expect(await archive().get(key)).toBe('{"a":1}\n');
  });

  it('a database rolled back behind its digests cannot overwrite what the archive anchored', async () => {
    const tenant = 'archive-rollback';
    const tok = await token({ tenant, roles: ['requester'], sub: 'rita' });
    await createChange(tok, { title: 'Before the digest' });
    const first = await digestTenant(deps(), tenant);
    const key = first.digest?.objectKey as string;
    const anchored = await archive().get(key);
    expect(anchored).not.toBeNull();

    // D1 goes back to before the digest was recorded (Time Travel, a restore): the next run signs
    // a digest of the same stretch at another time, for the same object key.
    await env.DB.prepare('DELETE FROM audit_digests WHERE tenant_id = ?').bind(tenant).run();
    await expect(digestTenant(deps(), tenant)).rejects.toMatchObject({ code: 'AUDIT_ARCHIVE_CONFLICT' });
    expect(await archive().get(key)).toBe(anchored);
    // The new digest stays recorded but unarchived, so the conflict shows on every run until an
    // operator resolves it; it never replaces the anchored one.
    expect((await lastAuditDigest(env.DB, tenant))?.archivedAt).toBeNull();
    await expect(digestTenant(deps(), tenant)).rejects.toMatchObject({ code: 'AUDIT_ARCHIVE_CONFLICT' });
    expect(await archive().get(key)).toBe(anchored);
  });
});
