import {
  type AuditEventRecord,
  auditEventsByActor,
  auditEventsOfTarget,
  redactAuditPayloadsStatement,
} from '../db/audit';
import { insertV1RedactionStatements, v1RedactionFromDb } from '../db/redactions';
import { retentionPolicy } from '../db/retention';
import { eraseUserStatement, userErasure } from '../db/users';
import { auditEventHashMatches, REDACTION_ACTION, type V1Redaction } from '../domain/auditChain';
import { redactEvent, v1RedactionOf, type WrittenText, writtenText } from '../domain/erasure';
import { AppError } from '../errors';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';

/** Bounds of one call: events read per actor and per target, events redacted (the rest: call again). */
const SCAN_LIMIT = 5000;
const TARGET_LIMIT = 200;
const REDACT_LIMIT = 300;

export interface UserErasure {
  userId: string;
  erasedAt: string;
  /** Events whose payloads had the person's text redacted by this call. */
  redactedEvents: number;
  /** Of them, events written before payload hashing (version 1), vouched for by this call's record. */
  v1RedactedEvents: number;
  /** More events hold the person's text than one call redacts: call again to continue. */
  remaining: boolean;
}

/** The ids the person acted under: their own, and their API keys'. */
async function actorIds(db: D1Database, tenantId: string, userId: string): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT id FROM api_keys WHERE tenant_id = ?1 AND owner_id = ?2')
    .bind(tenantId, userId)
    .all<{ id: string }>();
  return [userId, ...results.map((r) => r.id)];
}

interface Scan {
  own: AuditEventRecord[];
  candidates: AuditEventRecord[];
}

/** The person's own events and those of the targets they acted on, bounded. */
async function scan(ctx: AuthedContext, userId: string): Promise<Scan> {
  const tenantId = ctx.principal.tenantId;
  const own: AuditEventRecord[] = [];
  for (const actor of await actorIds(ctx.db, tenantId, userId)) {
    own.push(...(await auditEventsByActor(ctx.db, tenantId, actor, 1, SCAN_LIMIT - own.length)));
    if (own.length >= SCAN_LIMIT) break;
  }
  const targets = new Map(
    own.map((e) => [`${e.targetType}\u0000${e.targetId}`, { type: e.targetType, id: e.targetId }]),
  );
  const bySeq = new Map(own.map((e) => [e.seq, e]));
  for (const target of [...targets.values()].slice(0, TARGET_LIMIT)) {
    for (const e of await auditEventsOfTarget(ctx.db, tenantId, target, SCAN_LIMIT)) bySeq.set(e.seq, e);
  }
  return { own, candidates: [...bySeq.values()].sort((a, b) => a.seq - b.seq) };
}

interface Redactions {
  statements: D1PreparedStatement[];
  v2: number[];
  v1: V1Redaction[];
  remaining: boolean;
}

async function planRedactions(ctx: AuthedContext, s: Scan, written: WrittenText): Promise<Redactions> {
  const out: Redactions = { statements: [], v2: [], v1: [], remaining: false };
  const vouched = v1RedactionFromDb(ctx.db, ctx.principal.tenantId);
  for (const e of s.candidates) {
    const redacted = await redactEvent(e, written);
    if (!redacted) continue;
    if (out.v1.length + out.v2.length >= REDACT_LIMIT) {
      out.remaining = true;
      break;
    }
    if (e.hashVersion === 1) {
      // A record vouches for the redacted content: never for content that did not verify before.
      if (!(await auditEventHashMatches(e.prevHash, e, vouched))) {
        throw new AppError(
          'AUDIT_CHAIN_BROKEN',
          `Audit event ${e.seq} does not match its hash: it is not redacted (that would vouch for an edit); investigate it first`,
          { seq: e.seq },
        );
      }
      out.v1.push(await v1RedactionOf(e, redacted));
    } else {
      out.v2.push(e.seq);
    }
    out.statements.push(redactAuditPayloadsStatement(ctx.db, redacted));
  }
  return out;
}

/** Free text of the person in the live tables: their votes' comments, their changes' texts. */
function liveTextStatements(db: D1Database, tenantId: string, userId: string): D1PreparedStatement[] {
  return [
    db
      .prepare(
        'UPDATE approvals SET comment = NULL WHERE tenant_id = ?1 AND approver_id = ?2 AND comment IS NOT NULL',
      )
      .bind(tenantId, userId),
    db
      .prepare(
        `UPDATE change_requests SET description = '[erased]', implementation_plan = NULL, backout_plan = NULL,
           test_plan = NULL, emergency_justification = NULL, version = version + 1
         WHERE tenant_id = ?1 AND requester_id = ?2 AND (description <> '[erased]'
           OR COALESCE(implementation_plan, backout_plan, test_plan, emergency_justification) IS NOT NULL)`,
      )
      .bind(tenantId, userId),
  ];
}

/**
 * Erases a person's personal data in the caller's tenant (admin): their name and email (and later
 * tokens do not write them back), and, when the retention policy says so, the free text they wrote,
 * in the live tables and in the audit trail, which still verifies (src/domain/erasure.ts). Refused
 * under legal hold (LEGAL_HOLD), for an unknown person (USER_NOT_FOUND) and once nothing is left
 * (USER_ALREADY_ERASED). Recorded as a `user.erased` event.
 */
export async function eraseUserData(ctx: AuthedContext, userId: string): Promise<UserErasure> {
  const tenantId = ctx.principal.tenantId;
  return commitWithAudit(ctx, async () => {
    const policy = await retentionPolicy(ctx.db, tenantId);
    if (policy.legalHold) {
      throw new AppError(
        'LEGAL_HOLD',
        'The tenant is under legal hold: no personal data is erased until it is lifted',
      );
    }
    const known = await userErasure(ctx.db, tenantId, userId);
    const s = await scan(ctx, userId);
    if (!known && s.own.length === 0)
      throw new AppError('USER_NOT_FOUND', `No person ${userId} in this tenant`);
    const redactions = policy.eraseFreeText
      ? await planRedactions(ctx, s, await writtenText(s.own))
      : { statements: [], v2: [], v1: [], remaining: false };
    if (known?.erased_at && redactions.statements.length === 0) {
      throw new AppError(
        'USER_ALREADY_ERASED',
        `${userId} was erased at ${known.erased_at}; nothing is left to erase`,
      );
    }
    const erasedAt = known?.erased_at ?? ctx.now().toISOString();
    const result: UserErasure = {
      userId,
      erasedAt,
      redactedEvents: redactions.v1.length + redactions.v2.length,
      v1RedactedEvents: redactions.v1.length,
      remaining: redactions.remaining,
    };
    return {
      statements: [
        eraseUserStatement(ctx.db, tenantId, userId, erasedAt),
        ...(policy.eraseFreeText ? liveTextStatements(ctx.db, tenantId, userId) : []),
        ...redactions.statements,
        ...insertV1RedactionStatements(ctx.db, tenantId, redactions.v1),
      ],
      audit: [
        {
          action: REDACTION_ACTION,
          targetType: 'User',
          targetId: userId,
          before: null,
          after: { ...result, freeText: policy.eraseFreeText, v2: redactions.v2, v1: redactions.v1 },
        },
      ],
      result,
    };
  });
}
