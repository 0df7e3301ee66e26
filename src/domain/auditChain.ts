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
  /**
   * How the event is hashed. 1 (or absent): over its payloads' JSON, the events written before
   * issue 15 item 6. 2: over a digest of each payload made of one SHA-256 per top-level field
   * (`payloadDigest`), so a field can be redacted (see `redactField`) while the chain verifies.
   */
  hashVersion?: AuditHashVersion | null;
}

export type AuditHashVersion = 1 | 2;
/** What new events are written with. */
export const CURRENT_HASH_VERSION: AuditHashVersion = 2;

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

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * What a redacted top-level payload field holds instead of its value (hash version 2): the
 * SHA-256 of the value's canonical JSON, which is all the chain needs of it.
 */
export interface RedactedField {
  $redacted: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

export const isRedactedField = (v: unknown): v is RedactedField =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  typeof (v as { $redacted?: unknown }).$redacted === 'string' &&
  HEX64.test((v as RedactedField).$redacted);

const fieldHash = (v: unknown): Promise<string> =>
  isRedactedField(v) ? Promise.resolve(v.$redacted) : sha256Hex(canonicalJson(v ?? null));

/** A field's value replaced by its redaction marker: the chain still verifies, the value is gone. */
export const redactField = async (v: unknown): Promise<RedactedField> => ({ $redacted: await fieldHash(v) });

/**
 * The hash a version-2 event's chain hash covers for one payload: over an object, the SHA-256 of
 * the canonical JSON of `{field: sha256(canonicalJson(value))}` (a redacted field contributes the
 * hash its marker kept); over anything else (null, an array, a scalar), the SHA-256 of its
 * canonical JSON, or the marker's hash when the whole payload was redacted. Editing a kept field,
 * or a marker's hash, changes it.
 */
export async function payloadDigest(payload: unknown): Promise<string> {
  if (payload === null || payload === undefined || typeof payload !== 'object' || Array.isArray(payload)) {
    return fieldHash(payload ?? null);
  }
  if (isRedactedField(payload)) return payload.$redacted;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(payload)) if (v !== undefined) fields[k] = await fieldHash(v);
  return sha256Hex(canonicalJson(fields));
}

/**
 * Hex SHA-256 of `prevHash + '\n' + canonicalJson(event)`. Version 1 hashes the payloads as they
 * are; version 2 hashes `hashVersion: 2` and, instead of `before`/`after`, `beforeHash`/`afterHash`
 * (their `payloadDigest`).
 */
export async function computeAuditHash(prevHash: string, event: AuditEventInput): Promise<string> {
  const fields = hashedFields(event);
  if ((event.hashVersion ?? 1) === 2) {
    const { before, after, ...rest } = fields;
    const v2 = {
      ...rest,
      hashVersion: 2,
      beforeHash: await payloadDigest(before),
      afterHash: await payloadDigest(after),
    };
    return sha256Hex(`${prevHash}\n${canonicalJson(v2)}`);
  }
  return sha256Hex(`${prevHash}\n${canonicalJson(fields)}`);
}

/**
 * A version-1 event redacted by erasure: its payload was edited, so its stored hash no longer is
 * its content's. The redaction record (a `user.erased` event later in the chain, itself
 * hashed and anchored by the digests) vouches for the edit: the event's hash before (`hash`,
 * unchanged in the row, still what the next event links to) and the hash of its redacted content
 * (`redactedHash`, computed over the same prevHash).
 */
export interface V1Redaction {
  seq: number;
  hash: string;
  redactedHash: string;
}

/** The erasure's audit event: its `after.v1` lists the version-1 redactions it vouches for. */
export const REDACTION_ACTION = 'user.erased';

/** The version-1 redactions the `user.erased` events of a list of events vouch for, by seq. */
export function v1RedactionsIn(events: readonly AuditEventInput[]): Map<number, V1Redaction> {
  const out = new Map<number, V1Redaction>();
  for (const e of events) {
    if (e.action !== REDACTION_ACTION) continue;
    const listed = (e.after as { v1?: unknown } | null)?.v1;
    if (!Array.isArray(listed)) continue;
    for (const r of listed as V1Redaction[]) out.set(r.seq, r);
  }
  return out;
}

export type V1RedactionLookup = (seq: number) => Promise<V1Redaction | null> | V1Redaction | null;

/**
 * The per-event check: the event's content hashes, over `prevHash`, to its stored hash; or it is a
 * version-1 event whose redaction record names this very hash and the hash of what it holds now.
 */
export async function auditEventHashMatches(
  prevHash: string,
  e: StoredAuditEvent,
  v1Redaction?: V1RedactionLookup,
): Promise<boolean> {
  const computed = await computeAuditHash(prevHash, e);
  if (computed === e.hash) return true;
  if ((e.hashVersion ?? 1) !== 1 || !v1Redaction) return false;
  const r = await v1Redaction(e.seq);
  return r !== null && r.hash === e.hash && r.redactedHash === computed;
}

/** Where a stretch of the chain starts: its first event and the hash that event must link to. */
export interface AuditChainStart {
  seq: number;
  prevHash: string;
}

/**
 * Verifies one tenant's whole chain, given in seq order; stops at the first break. Version-1
 * events redacted by erasure verify through the `user.erased` records among the events.
 */
export function verifyAuditChain(events: StoredAuditEvent[]): Promise<AuditChainVerification> {
  const redactions = v1RedactionsIn(events);
  return verifyAuditStretch(events, { seq: 1, prevHash: GENESIS_HASH }, (seq) => redactions.get(seq) ?? null);
}

/**
 * Verifies a stretch of one tenant's chain, given in seq order from `start.seq`, the first event
 * linking to `start.prevHash` (GENESIS_HASH at seq 1, or a hash already known good: a digest's
 * head, an earlier verification's last event); stops at the first break. `checked` counts the
 * events that verified, so the stretch is good up to `start.seq + checked - 1`. Version-1 events
 * redacted by erasure verify through `v1Redaction` (the tenant's redaction records), when given.
 */
export async function verifyAuditStretch(
  events: readonly StoredAuditEvent[],
  start: AuditChainStart,
  v1Redaction?: V1RedactionLookup,
): Promise<AuditChainVerification> {
  const broken = (checked: number, seq: number, reason: string): AuditChainVerification => ({
    valid: false,
    checked,
    brokenAtSeq: seq,
    reason,
  });
  let prev = start.prevHash;
  const tenantId = events[0]?.tenantId;
  for (const [i, e] of events.entries()) {
    const expectedSeq = start.seq + i;
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
    if (!(await auditEventIntact(e, v1Redaction))) {
      return broken(i, e.seq, `Event ${e.seq} was modified after it was written (hash mismatch)`);
    }
    prev = e.hash;
  }
  return { valid: true, checked: events.length, brokenAtSeq: null, reason: null };
}

/**
 * Whether a stored event's hash is still the hash of its content over its own prevHash (or, for a
 * version-1 event redacted by erasure, the hash its redaction record vouches for).
 */
export function auditEventIntact(e: StoredAuditEvent, v1Redaction?: V1RedactionLookup): Promise<boolean> {
  return auditEventHashMatches(e.prevHash, e, v1Redaction);
}
