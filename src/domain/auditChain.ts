export interface AuditEventInput {
  tenantId: string;
  seq: number;
  actorId: string;
  actorType: string;
  source: 'graphql' | 'mcp' | 'rest' | 'system';
  action: string;
  targetType: string;
  targetId: string;
  requestId: string;
  before: unknown;
  after: unknown;
  createdAt: string;
  toolName?: string | null;
}

export type StoredAuditEvent = AuditEventInput & { prevHash: string; hash: string };

export interface AuditChainVerification {
  valid: boolean;
  checked: number;
  brokenAtSeq: number | null;
  reason: string | null;
}

/** The `prevHash` of a tenant's first event (seq 1). */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * JSON with object keys sorted at every depth and no whitespace, so the same data always hashes
 * the same, whatever order the keys came back from D1 in. Like JSON.stringify, undefined object
 * members are dropped and undefined array items become null.
 */
export function canonicalJson(value: unknown): string {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return canonicalJson((value as { toJSON: () => unknown }).toJSON());
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .flatMap((k) => {
        const v = (value as Record<string, unknown>)[k];
        return v === undefined ? [] : [`${JSON.stringify(k)}:${canonicalJson(v)}`];
      });
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Only the event's own fields are hashed (never `prevHash`, `hash`, a row id...), and absent
 * values are normalised to null so that an event hashed at write time (toolName omitted) and
 * the same event read back from D1 (tool_name NULL) give the same hash.
 */
function hashedFields(e: AuditEventInput): Record<string, unknown> {
  return {
    tenantId: e.tenantId,
    seq: e.seq,
    actorId: e.actorId,
    actorType: e.actorType,
    source: e.source,
    action: e.action,
    targetType: e.targetType,
    targetId: e.targetId,
    requestId: e.requestId,
    before: e.before ?? null,
    after: e.after ?? null,
    createdAt: e.createdAt,
    toolName: e.toolName ?? null,
  };
}

/** Hex SHA-256 of `prevHash + '\n' + canonicalJson(event)`. */
export async function computeAuditHash(prevHash: string, event: AuditEventInput): Promise<string> {
  const data = new TextEncoder().encode(`${prevHash}\n${canonicalJson(hashedFields(event))}`);
  const digest = await crypto.subtle.digest('SHA-256', data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Verifies one tenant's whole chain, given in seq order; stops at the first break. */
export async function verifyAuditChain(events: StoredAuditEvent[]): Promise<AuditChainVerification> {
  const broken = (checked: number, seq: number, reason: string): AuditChainVerification => ({
    valid: false,
    checked,
    brokenAtSeq: seq,
    reason,
  });
  let prev = GENESIS_HASH;
  const tenantId = events[0]?.tenantId;
  for (const [i, e] of events.entries()) {
    const expectedSeq = i + 1;
    if (e.seq !== expectedSeq) {
      return broken(
        i,
        e.seq,
        `Expected seq ${expectedSeq} but found ${e.seq} (events missing or out of order)`,
      );
    }
    if (e.tenantId !== tenantId) {
      return broken(i, e.seq, `Event ${e.seq} belongs to tenant ${e.tenantId}, not ${tenantId}`);
    }
    if (e.prevHash !== prev) {
      return broken(i, e.seq, `Event ${e.seq} does not link to the previous event (prevHash mismatch)`);
    }
    if ((await computeAuditHash(prev, e)) !== e.hash) {
      return broken(i, e.seq, `Event ${e.seq} was modified after it was written (hash mismatch)`);
    }
    prev = e.hash;
  }
  return { valid: true, checked: events.length, brokenAtSeq: null, reason: null };
}
