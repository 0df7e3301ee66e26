import { auditEventHashMatches, GENESIS_HASH, type StoredAuditEvent, v1RedactionsIn } from './auditChain';
import {
  type AuditPublicJwk,
  digestHash,
  importPublicKey,
  type SignedAuditDigest,
  verifyDigestSignature,
} from './auditDigest';

/**
 * The offline verification of a tenant's audit export against its signed digests and the
 * published public keys (scripts/auditVerify.ts reads the files; this is the judgement, pure).
 *
 * The export is NDJSON, one event per line, oldest first, each with the fields of the GraphQL
 * `AuditEvent` plus `tenantId` (`npm run audit:export` writes it). What it proves:
 * - every event's hash is its content's (an edited event is EDITED; a redacted field of a version-2
 *   event keeps its hash, a redacted version-1 event is vouched for by its `user.erased` record),
 *   and links to the one before (BROKEN_LINK); events are in chain order (REORDERED), none repeats (DUPLICATE), none is missing
 *   between the first and the last (GAP);
 * - every digest is signed by a published key (BAD_SIGNATURE, UNKNOWN_KEY), digests link to each
 *   other from the first (DIGEST_CHAIN), and the chain the export holds ends, at each digest's
 *   toSeq, in the digest's headHash with its eventCount (HEAD_MISMATCH: the chain was rewritten,
 *   even if every hash was recomputed); events up to the last digest that the export lacks are
 *   DELETED (dropping the newest events is what an unkeyed chain cannot show by itself).
 * Events after the last digest are listed as not yet anchored: their hashes are checked, but
 * nothing outside the database vouches for them yet.
 */

export type FindingKind =
  | 'MALFORMED'
  | 'TENANT_MISMATCH'
  | 'EDITED'
  | 'BROKEN_LINK'
  | 'REORDERED'
  | 'DUPLICATE'
  | 'GAP'
  | 'DELETED'
  | 'HEAD_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'UNKNOWN_KEY'
  | 'DIGEST_CHAIN'
  | 'NO_DIGESTS';

export interface Finding {
  kind: FindingKind;
  /** The event the finding is about, when it is about one. */
  seq?: number;
  /** The digest file (its toSeq) the finding is about, when it is about one. */
  digestToSeq?: number;
  message: string;
}

export interface ExportVerification {
  ok: boolean;
  tenant: string | null;
  events: number;
  digests: number;
  /** The last seq a valid digest anchors (0 with none). */
  anchoredThroughSeq: number;
  /** Events after the last digest: checked, not yet anchored. */
  unanchored: number[];
  findings: Finding[];
}

/** An export line as read: the event, or why it could not be read. */
export type ExportLine = { event: StoredAuditEvent } | { line: number; error: string };

export async function verifyAuditExport(input: {
  lines: ExportLine[];
  digests: { name: string; digest: SignedAuditDigest | string }[];
  keys: AuditPublicJwk[];
}): Promise<ExportVerification> {
  const findings: Finding[] = [];
  const events: StoredAuditEvent[] = [];
  for (const l of input.lines) {
    if ('error' in l) findings.push({ kind: 'MALFORMED', message: `export line ${l.line}: ${l.error}` });
    else events.push(l.event);
  }

  // --- Digests: signatures, then the chain of digests ---
  const keys = new Map<string, CryptoKey>();
  for (const k of input.keys) keys.set(k.kid, await importPublicKey(k));
  const valid: SignedAuditDigest[] = [];
  for (const { name, digest } of input.digests) {
    if (typeof digest === 'string') {
      findings.push({ kind: 'MALFORMED', message: `digest ${name}: ${digest}` });
      continue;
    }
    const at = { digestToSeq: digest.digest.toSeq };
    const key = keys.get(digest.keyId);
    if (!key) {
      findings.push({
        kind: 'UNKNOWN_KEY',
        ...at,
        message: `digest ${name} is signed with key "${digest.keyId}", which the keys file does not publish`,
      });
      continue;
    }
    if (!(await verifyDigestSignature(digest.digest, digest.signature, key))) {
      findings.push({
        kind: 'BAD_SIGNATURE',
        ...at,
        message: `digest ${name}: the signature does not verify with key "${digest.keyId}" (forged or altered)`,
      });
      continue;
    }
    if ((await digestHash(digest.digest)) !== digest.digestHash) {
      findings.push({ kind: 'MALFORMED', ...at, message: `digest ${name}: digestHash is not its digest's` });
      continue;
    }
    valid.push(digest);
  }
  valid.sort((a, b) => a.digest.toSeq - b.digest.toSeq);

  const tenants = new Set([...valid.map((d) => d.digest.tenant), ...events.map((e) => e.tenantId)]);
  const tenant = valid[0]?.digest.tenant ?? events[0]?.tenantId ?? null;
  if (tenants.size > 1) {
    findings.push({
      kind: 'TENANT_MISMATCH',
      message: `the export and digests name more than one tenant: ${[...tenants].join(', ')}`,
    });
  }

  let previous: SignedAuditDigest | null = null;
  for (const d of valid) {
    const expectedFrom = previous ? previous.digest.toSeq + 1 : 1;
    const expectedPrev = previous ? previous.digestHash : null;
    if (d.digest.fromSeq !== expectedFrom || d.digest.previousDigestHash !== expectedPrev) {
      findings.push({
        kind: 'DIGEST_CHAIN',
        digestToSeq: d.digest.toSeq,
        message: previous
          ? `digest to seq ${d.digest.toSeq} does not follow the digest to seq ${previous.digest.toSeq} (a digest is missing or was replaced)`
          : `the first digest (to seq ${d.digest.toSeq}) does not start the chain (fromSeq ${d.digest.fromSeq}, expected 1): earlier digests are missing`,
      });
    }
    previous = d;
  }
  const last = valid.at(-1) ?? null;
  const anchoredThroughSeq = last?.digest.toSeq ?? 0;
  if (!last) {
    findings.push({ kind: 'NO_DIGESTS', message: 'no valid digest: nothing anchors this export' });
  }

  // --- Events: order in the file, then the chain by seq ---
  for (let i = 1; i < events.length; i++) {
    const before = events[i - 1] as StoredAuditEvent;
    const e = events[i] as StoredAuditEvent;
    if (e.seq < before.seq) {
      findings.push({
        kind: 'REORDERED',
        seq: e.seq,
        message: `event ${e.seq} comes after event ${before.seq} in the export (line ${i + 1})`,
      });
    }
  }
  const bySeq = new Map<number, StoredAuditEvent>();
  for (const e of events) {
    if (bySeq.has(e.seq)) {
      findings.push({ kind: 'DUPLICATE', seq: e.seq, message: `event ${e.seq} appears more than once` });
      continue;
    }
    bySeq.set(e.seq, e);
  }
  // Sorted once: a digest's count is two binary searches, whatever the export's size.
  const seqs = [...bySeq.keys()].sort((a, b) => a - b);
  const maxSeq = seqs.at(-1) ?? 0;
  const countIn = (from: number, to: number) => firstAtLeast(seqs, to + 1) - firstAtLeast(seqs, from);
  const digestsAt = new Map(valid.map((d) => [d.digest.toSeq, d]));
  // Version-1 events an erasure redacted verify through the `user.erased` records that list them.
  const redactions = v1RedactionsIn(events);
  let prevHash: string | null = GENESIS_HASH;
  let missingFrom: number | null = null;
  const flushGap = (to: number) => {
    if (missingFrom === null) return;
    findings.push({
      kind: 'GAP',
      seq: missingFrom,
      message:
        missingFrom === to ? `event ${missingFrom} is missing` : `events ${missingFrom} to ${to} are missing`,
    });
    missingFrom = null;
  };
  for (let seq = 1; seq <= Math.max(maxSeq, anchoredThroughSeq); seq++) {
    const e = bySeq.get(seq);
    if (!e) {
      if (seq > maxSeq) {
        flushGap(seq - 1);
        findings.push({
          kind: 'DELETED',
          seq,
          message: `events ${seq} to ${anchoredThroughSeq} are missing, yet the digest to seq ${anchoredThroughSeq} anchors them (the newest events were deleted)`,
        });
        break;
      }
      missingFrom ??= seq;
      prevHash = null;
      continue;
    }
    flushGap(seq - 1);
    if (prevHash !== null && e.prevHash !== prevHash) {
      findings.push({
        kind: 'BROKEN_LINK',
        seq,
        message: `event ${seq} does not link to event ${seq - 1} (prevHash mismatch)`,
      });
    }
    if (!(await auditEventHashMatches(e.prevHash, e, (s) => redactions.get(s) ?? null))) {
      findings.push({
        kind: 'EDITED',
        seq,
        message: `event ${seq} was modified after it was written (its hash is not its content's)`,
      });
    }
    prevHash = e.hash;
    const d = digestsAt.get(seq);
    if (d) {
      const count = countIn(d.digest.fromSeq, seq);
      if (e.hash !== d.digest.headHash || count !== d.digest.eventCount) {
        findings.push({
          kind: 'HEAD_MISMATCH',
          seq,
          digestToSeq: seq,
          message:
            e.hash !== d.digest.headHash
              ? `event ${seq}'s hash is not the head hash the digest to seq ${seq} signed: the chain up to it was rewritten`
              : `the digest to seq ${seq} counts ${d.digest.eventCount} events from seq ${d.digest.fromSeq}, the export holds ${count}`,
        });
      }
    }
  }
  return {
    ok: findings.length === 0,
    tenant,
    events: events.length,
    digests: valid.length,
    anchoredThroughSeq,
    unanchored: seqs.slice(firstAtLeast(seqs, anchoredThroughSeq + 1)),
    findings,
  };
}

/** The index of the first item of the ascending `sorted` that is at least `value` (its length if none). */
function firstAtLeast(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
