import { type AuditEventRecord, auditHead, insertAuditEventStatement } from '../db/audit';
import { classifyDbError, isUniqueViolation } from '../db/errors';
import { claimIdempotencyKeyStatements } from '../db/idempotency';
import { newId } from '../db/ids';
import { type FollowUp, insertOutboxStatement, settleRowId, webhookRowId } from '../db/outbox';
import { upsertUserStatement } from '../db/users';
import {
  type AuditEventInput,
  CURRENT_HASH_VERSION,
  computeAuditHash,
  GENESIS_HASH,
} from '../domain/auditChain';
import { retryDelayMs } from '../engine/backoff';
import { AppError } from '../errors';
import type { AuthedContext } from './context';
import { webhookStatements } from './webhooks/enqueue';

/** One audit entry a write produces; actor, source, request and chain links are filled in here. */
export interface AuditEntry {
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
}

export interface WritePlan<T> {
  statements: D1PreparedStatement[];
  audit: AuditEntry[];
  /** What must follow once the write committed: queued in its batch, run after it (outbox.ts). */
  followUps?: FollowUp[];
  result: T;
}

/**
 * Attempts before giving up on a tenant busy enough that every try lost a race. Every write of a
 * tenant appends to one audit chain, so of N writers that race, only one wins each round: the
 * budget must outlast a burst of parallel writes, not just a single collision.
 */
const MAX_ATTEMPTS = 12;
/** The randomised pause before the first retry is at most this long, doubling up to the cap. */
const BACKOFF_BASE_MS = 8;
const BACKOFF_CAP_MS = 100;

/**
 * The pause after `lost` lost attempts: the engine's full-jitter backoff (src/engine/backoff.ts),
 * random() · min(cap, base · 2^(lost−1)) ms, so that the losers of a race do not all collide again.
 */
export const commitBackoffMs = (lost: number, random: () => number = Math.random) =>
  retryDelayMs({ attempt: lost, baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS, random });

const backoff = (lost: number) => new Promise<void>((resolve) => setTimeout(resolve, commitBackoffMs(lost)));

const isVersionConflict = (e: unknown) => classifyDbError(e).kind === 'version-conflict';
const isIdempotencyRace = (e: unknown) => isUniqueViolation(e, 'idempotency_keys');
const isAuditRace = (e: unknown) => isUniqueViolation(e, 'audit_events');

/** JSON round trip, so the hash covers exactly what is stored and read back. */
const plain = (v: unknown): unknown => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

async function auditStatements(
  ctx: AuthedContext,
  entries: AuditEntry[],
): Promise<{ statements: D1PreparedStatement[]; sequenced: { entry: AuditEntry; seq: number }[] }> {
  const { principal } = ctx;
  const head = await auditHead(ctx.db, principal.tenantId);
  let seq = head?.seq ?? 0;
  let prevHash = head?.hash ?? GENESIS_HASH;
  const createdAt = ctx.now().toISOString();
  const out: D1PreparedStatement[] = [];
  const sequenced: { entry: AuditEntry; seq: number }[] = [];
  for (const entry of entries) {
    seq += 1;
    sequenced.push({ entry, seq });
    const input: AuditEventInput = {
      tenantId: principal.tenantId,
      seq,
      actorId: principal.id,
      actorType: principal.kind,
      source: ctx.source,
      toolName: ctx.toolName,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      requestId: ctx.requestId,
      before: plain(entry.before),
      after: plain(entry.after),
      createdAt,
      hashVersion: CURRENT_HASH_VERSION,
    };
    const hash = await computeAuditHash(prevHash, input);
    const record: AuditEventRecord = {
      ...input,
      toolName: ctx.toolName,
      hashVersion: CURRENT_HASH_VERSION,
      id: newId('evt'),
      prevHash,
      hash,
    };
    out.push(insertAuditEventStatement(ctx.db, record));
    prevHash = hash;
  }
  return { statements: out, sequenced };
}

/** The outbox rows of a plan's follow-ups, acting as the caller (without name or email). */
function outboxStatements(ctx: AuthedContext, followUps: readonly FollowUp[], createdAt: string) {
  const { id, tenantId, kind, roles, apiKey } = ctx.principal;
  return followUps.map((followUp) => {
    const rowId =
      followUp.kind === 'settle-runbook'
        ? settleRowId(followUp.executionId)
        : followUp.kind === 'webhook-delivery'
          ? webhookRowId(followUp.deliveryId)
          : newId('obx');
    const statement = insertOutboxStatement(ctx.db, {
      id: rowId,
      tenantId,
      followUp,
      actor: { id, tenantId, kind, roles, ...(apiKey ? { apiKey } : {}) },
      source: ctx.source,
      toolName: ctx.toolName,
      requestId: ctx.requestId,
      createdAt,
    });
    return { rowId, statement };
  });
}

/**
 * Runs a write and its audit events as one D1 batch (one transaction). `plan` is called again
 * on every attempt so that it re-reads and re-validates: a lost race for the audit sequence or
 * the change version retries from fresh state instead of overwriting someone else's write.
 *
 * The plan's follow-ups are outbox rows in the same batch; once it committed (and `onCommitted`
 * ran: events announce the write before its consequences), the runtime runs them (outbox.ts),
 * outside the tenant's write turn, which they need for their own writes. Their failure is logged
 * and retried later, never thrown: the write stands, and so does the answer.
 */
export async function commitWithAudit<T>(
  ctx: AuthedContext,
  plan: (attempt: number) => Promise<WritePlan<T>>,
  onCommitted?: (result: T) => void,
): Promise<T> {
  const attempts = () => commitAttempts(ctx, plan);
  const { result, outboxIds } = await (ctx.writeLock
    ? ctx.writeLock(ctx.principal.tenantId, attempts)
    : attempts());
  onCommitted?.(result);
  if (outboxIds.length) await ctx.followUps?.afterCommit(ctx, outboxIds);
  return result;
}

async function commitAttempts<T>(
  ctx: AuthedContext,
  plan: (attempt: number) => Promise<WritePlan<T>>,
): Promise<{ result: T; outboxIds: string[] }> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (attempt > 0) await backoff(attempt);
    const p = await plan(attempt);
    const now = ctx.now().toISOString();
    const user = { id: ctx.principal.id, displayName: ctx.principal.name, email: ctx.principal.email };
    const claim = ctx.idempotency && !ctx.idempotency.claimed ? ctx.idempotency : null;
    const outbox = outboxStatements(ctx, p.followUps ?? [], now);
    const audit = await auditStatements(ctx, p.audit);
    // The webhook deliveries the audit entries call for, in the same batch (usecases/webhooks).
    const webhooks = await webhookStatements(ctx, audit.sequenced, now);
    const statements = [
      ...p.statements,
      ...outbox.map((o) => o.statement),
      upsertUserStatement(ctx.db, ctx.principal.tenantId, user, now),
      ...audit.statements,
      ...webhooks.statements,
      // The key is claimed by the request's first write, in the same transaction as that write.
      ...(claim ? claimIdempotencyKeyStatements(ctx.db, claim, { ...claim, now }) : []),
    ];
    try {
      await ctx.db.batch(statements);
      if (claim) claim.claimed = true;
      return { result: p.result, outboxIds: [...outbox.map((o) => o.rowId), ...webhooks.outboxIds] };
    } catch (e) {
      if (isIdempotencyRace(e)) {
        throw new AppError('IDEMPOTENCY_IN_PROGRESS', 'Another request with this Idempotency-Key is running');
      }
      if (!isVersionConflict(e) && !isAuditRace(e)) throw e;
    }
  }
  throw new AppError(
    'CONCURRENT_MODIFICATION',
    'The data changed under this request on every attempt; read it again and retry',
  );
}
