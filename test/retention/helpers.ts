import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import { insertAuditEventStatement } from '../../src/db/audit';
import {
  type AuditEventInput,
  computeAuditHash,
  GENESIS_HASH,
  type StoredAuditEvent,
} from '../../src/domain/auditChain';
import type { AuditKeySet } from '../../src/domain/auditDigest';
import { gqlOk } from '../helpers/graphql';

/** Old events (hash version 1, as written before payload hashing), straight into D1 from seq 1. */
export async function writeV1Events(tenant: string, events: Omit<AuditEventInput, 'tenantId' | 'seq'>[]) {
  let prevHash = GENESIS_HASH;
  const statements: D1PreparedStatement[] = [];
  for (const [i, e] of events.entries()) {
    const input: AuditEventInput = { ...e, tenantId: tenant, seq: i + 1 };
    const hash = await computeAuditHash(prevHash, input);
    statements.push(
      insertAuditEventStatement(env.DB, {
        ...input,
        toolName: null,
        hashVersion: 1,
        id: `evt-v1-${tenant}-${i}`,
        prevHash,
        hash,
      }),
    );
    prevHash = hash;
  }
  await env.DB.batch(statements);
}

const EXPORT = `query($after: String) { auditLog(first: 200, after: $after, detail: FULL) {
  nodes { id seq actorId actorType source toolName action targetType targetId requestId before after createdAt prevHash hash hashVersion }
  pageInfo { hasNextPage endCursor } } }`;

interface ExportPage {
  auditLog: { nodes: StoredAuditEvent[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

/** The tenant's export as `npm run audit:export` writes it: the GraphQL fields plus tenantId, oldest first. */
export async function exportOf(tenant: string, tok: string): Promise<StoredAuditEvent[]> {
  const out: StoredAuditEvent[] = [];
  let after: string | null = null;
  do {
    const page: ExportPage = await gqlOk<ExportPage>(EXPORT, { after }, tok);
    out.push(...page.auditLog.nodes.map((e) => ({ ...e, tenantId: tenant })));
    after = page.auditLog.pageInfo.hasNextPage ? page.auditLog.pageInfo.endCursor : null;
  } while (after);
  return out.reverse();
}

export async function publishedKeys(): Promise<AuditKeySet> {
  const res = await exports.default.fetch('http://cf.test/.well-known/changeflow-audit-keys.json');
  expect(res.status).toBe(200);
  return res.json();
}

/** Every stored payload of the tenant's chain, as text: what an erasure must leave nothing of. */
export async function storedPayloads(tenant: string): Promise<string> {
  const { results } = await env.DB.prepare(
    'SELECT before_json, after_json FROM audit_events WHERE tenant_id = ?1 ORDER BY seq',
  )
    .bind(tenant)
    .all<{ before_json: string | null; after_json: string | null }>();
  return results.map((r) => `${r.before_json}\n${r.after_json}`).join('\n');
}

// FULL: tampering with an event already verified is found only by a full verification (RECENT starts
// after the last anchor); these chains fit in one page.
export const VERIFY = '{ verifyAuditChain(mode: FULL) { valid checked brokenAtSeq reason } }';
export type Verification = {
  verifyAuditChain: { valid: boolean; checked: number; brokenAtSeq: number | null; reason: string | null };
};
