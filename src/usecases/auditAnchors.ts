import type { AuditDigestSettings } from '../config';
import { auditEventsFrom } from '../db/audit';
import { type AuditDigestRecord, auditDigestsEndingBetween } from '../db/auditDigests';
import type { ChainStatus } from '../db/auditVerifications';
import { v1RedactionFromDb } from '../db/redactions';
import { auditEventIntact } from '../domain/auditChain';
import { digestTrustProblem } from '../domain/auditDigest';
import type { AuthedContext } from './context';

/**
 * The checks of a verification's anchors (src/usecases/auditVerification.ts): the signed digests
 * recorded in D1 and the events they, and earlier verifications, vouch for.
 */

export interface ChainBreak {
  seq: number;
  reason: string;
}

/**
 * What is wrong with the anchors before any event is read: the chain ends before a point a digest
 * or an earlier verification reached (its newest events were deleted), the last digest does not
 * verify, or the events the anchors name no longer carry the hashes they had.
 */
export async function anchorProblem(
  ctx: AuthedContext,
  headSeq: number,
  digest: AuditDigestRecord | null,
  status: ChainStatus | null,
): Promise<ChainBreak | null> {
  const reached = Math.max(digest?.toSeq ?? 0, status?.verifiedSeq ?? 0);
  if (headSeq < reached) {
    return {
      seq: headSeq + 1,
      reason: `The chain ends at seq ${headSeq} but a digest or an earlier verification reached ${reached} (events deleted)`,
    };
  }
  const anchors: [number, string, string][] = [];
  if (digest) {
    const why = await digestProblem(ctx.auditDigestSettings, digest);
    if (why) return { seq: digest.toSeq, reason: why };
    anchors.push([digest.toSeq, digest.headHash, 'the last signed digest']);
  }
  if (status && status.verifiedSeq > 0 && status.verifiedSeq !== digest?.toSeq) {
    anchors.push([status.verifiedSeq, status.verifiedHash, `the verification of ${status.verifiedAt}`]);
  }
  for (const [seq, hash, what] of anchors) {
    const [e] = await auditEventsFrom(ctx.db, ctx.principal.tenantId, seq, seq, 1);
    if (!e) return { seq, reason: `Event ${seq}, anchored by ${what}, is missing` };
    if (e.hash !== hash || !(await auditEventIntact(e, v1RedactionFromDb(ctx.db, ctx.principal.tenantId)))) {
      return { seq, reason: `Event ${seq} was modified since ${what} recorded its hash` };
    }
  }
  return null;
}

/** Why a digest recorded in D1 cannot be trusted, or null: its hash and its signature must verify. */
function digestProblem(settings: AuditDigestSettings, d: AuditDigestRecord): Promise<string | null> {
  const { tenantId: tenant, fromSeq, toSeq, headHash, eventCount, previousDigestHash, createdAt } = d;
  return digestTrustProblem(settings.keySet.keys, {
    digest: { tenant, fromSeq, toSeq, headHash, eventCount, previousDigestHash, createdAt },
    keyId: d.keyId,
    signature: d.signature,
    digestHash: d.digestHash,
  });
}

/**
 * The digests that end among the events just verified: each must name its event's hash and carry
 * a valid signature, else the chain was rewritten (recomputed hashes verify, the digests do not).
 */
export async function passedDigests(
  ctx: AuthedContext,
  verified: { seq: number; hash: string }[],
): Promise<ChainBreak | null> {
  const first = verified[0];
  const last = verified.at(-1);
  if (!first || !last) return null;
  const digests = await auditDigestsEndingBetween(
    ctx.db,
    ctx.principal.tenantId,
    first.seq,
    last.seq,
    verified.length,
  );
  for (const d of digests) {
    const e = verified[d.toSeq - first.seq];
    const why = await digestProblem(ctx.auditDigestSettings, d);
    if (why) return { seq: d.toSeq, reason: why };
    if (e?.hash !== d.headHash) {
      return {
        seq: d.toSeq,
        reason: `Event ${d.toSeq} is not the event the digest ending there signed (the chain was rewritten)`,
      };
    }
  }
  return null;
}
