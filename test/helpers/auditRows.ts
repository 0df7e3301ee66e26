import { env } from 'cloudflare:test';
import { parseConfig } from '../../src/config';
import { type AuditEventRecord, insertAuditEventStatement } from '../../src/db/audit';
import { computeAuditHash } from '../../src/domain/auditChain';
import { r2Archive } from '../../src/runtime/worker/ports';
import { digestTenant } from '../../src/usecases/auditDigests';

/** One synthetic event of a tenant's chain, as the write path would store it. */
export async function chainEvent(tenantId: string, seq: number, prevHash: string): Promise<AuditEventRecord> {
  const e = {
    tenantId,
    seq,
    id: `aud_${tenantId}_${seq}`,
    actorId: 'loader',
    actorType: 'user',
    source: 'system' as const,
    toolName: null,
    action: 'change.update',
    targetType: 'ChangeRequest',
    targetId: `CHG-${seq}`,
    requestId: `req-${seq}`,
    before: { n: seq - 1 },
    after: { n: seq },
    createdAt: new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString(),
    hashVersion: 2 as const,
  };
  return { ...e, prevHash, hash: await computeAuditHash(prevHash, e) };
}

/** Appends `count` valid events from `fromSeq`, linked to `prevHash`; returns the last hash. */
export async function appendChain(
  tenantId: string,
  fromSeq: number,
  count: number,
  prevHash: string,
): Promise<string> {
  let prev = prevHash;
  const events: AuditEventRecord[] = [];
  for (let seq = fromSeq; seq < fromSeq + count; seq++) {
    const e = await chainEvent(tenantId, seq, prev);
    events.push(e);
    prev = e.hash;
  }
  for (let i = 0; i < events.length; i += 200) {
    await env.DB.batch(events.slice(i, i + 200).map((e) => insertAuditEventStatement(env.DB, e)));
  }
  return prev;
}

/**
 * Fills seq fromSeq..toSeq with rows in one SQL statement (a recursive CTE), fast enough for a
 * million: their hashes are not real, so a verification that reads any of them finds a break.
 */
export async function fillUnhashedEvents(tenantId: string, fromSeq: number, toSeq: number): Promise<void> {
  await env.DB.prepare(
    `WITH RECURSIVE s(seq) AS (SELECT ?2 UNION ALL SELECT seq + 1 FROM s WHERE seq < ?3)
     INSERT INTO audit_events (tenant_id, seq, id, actor_id, actor_type, source, tool_name, action,
       target_type, target_id, request_id, before_json, after_json, created_at, prev_hash, hash)
     SELECT ?1, seq, ?1 || '-' || seq, 'loader', 'user', 'system', NULL, 'change.update',
       'ChangeRequest', 'CHG-' || seq, 'req-' || seq, NULL, NULL, '2026-01-01T00:00:00.000Z',
       printf('%064d', seq - 1), printf('%064d', seq)
     FROM s`,
  )
    .bind(tenantId, fromSeq, toSeq)
    .run();
}

/** The hourly run's dependencies (src/runtime/worker/scheduled.ts). */
export const cronDeps = () => ({
  db: env.DB,
  archive: r2Archive(env.AUDIT_ARCHIVE),
  settings: parseConfig(env).auditDigests,
  now: () => new Date(),
});

/** A signed digest of the tenant's events since its last one, as the hourly run makes it. */
export const digestNow = (tenantId: string) => digestTenant(cronDeps(), tenantId);
