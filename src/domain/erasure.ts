import {
  type AuditEventInput,
  computeAuditHash,
  isRedactedField,
  redactField,
  type StoredAuditEvent,
  type V1Redaction,
} from './auditChain';
import { FREE_TEXT_FIELDS } from './retention';

/**
 * What erasing a person redacts of the audit trail (issue 15 item 6), pure. The free text a person
 * wrote is found by its hash: the hashes of the FREE_TEXT_FIELDS values in the `after` of their
 * own events (where it differs from `before`: they wrote it), plain or already redacted (a marker
 * keeps the hash), so a second run, or one that resumes, finds the same text. Any event holding
 * one of those hashes in the same top-level field (the person's own, or another actor's snapshot of
 * the same change) has that field replaced by its redaction marker.
 */

type Payload = Record<string, unknown>;
const asObject = (v: unknown): Payload | null =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Payload) : null;

/** Hashes of the free text fields the person wrote, per field. */
export type WrittenText = Map<string, Set<string>>;

export async function writtenText(ownEvents: readonly AuditEventInput[]): Promise<WrittenText> {
  const out: WrittenText = new Map(FREE_TEXT_FIELDS.map((f) => [f, new Set<string>()]));
  for (const e of ownEvents) {
    const after = asObject(e.after);
    if (!after) continue;
    const before = asObject(e.before);
    for (const f of FREE_TEXT_FIELDS) {
      const v = after[f];
      if (!isRedactedField(v) && (typeof v !== 'string' || v === '' || before?.[f] === v)) continue;
      out.get(f)?.add((await redactField(v)).$redacted);
    }
  }
  return out;
}

async function redactPayload(
  payload: unknown,
  written: WrittenText,
): Promise<{ value: unknown; changed: boolean }> {
  const object = asObject(payload);
  if (!object || isRedactedField(object)) return { value: payload, changed: false };
  let changed = false;
  const value: Payload = { ...object };
  for (const f of FREE_TEXT_FIELDS) {
    const v = object[f];
    if (typeof v !== 'string' || v === '') continue;
    const marker = await redactField(v);
    if (!written.get(f)?.has(marker.$redacted)) continue;
    value[f] = marker;
    changed = true;
  }
  return { value, changed };
}

/** The event with the person's text redacted, or null when it holds none. */
export async function redactEvent<E extends StoredAuditEvent>(e: E, written: WrittenText): Promise<E | null> {
  const before = await redactPayload(e.before, written);
  const after = await redactPayload(e.after, written);
  if (!before.changed && !after.changed) return null;
  return { ...e, before: before.value, after: after.value };
}

/**
 * What vouches for a version-1 event's redaction: its hash as written (which the chain links to)
 * and the hash of its redacted content over the same prevHash.
 */
export async function v1RedactionOf(
  original: StoredAuditEvent,
  redacted: StoredAuditEvent,
): Promise<V1Redaction> {
  return {
    seq: original.seq,
    hash: original.hash,
    redactedHash: await computeAuditHash(original.prevHash, redacted),
  };
}
