import type { AuditDigestSettings, AuditSigningJwk } from '../config';
import { auditEventsFrom, auditHead } from '../db/audit';
import { claimDigestSweep, startDigestSweep } from '../db/auditDigestSweeps';
import {
  type AuditDigestRecord,
  digestRecord,
  insertAuditDigest,
  lastAuditDigest,
  listAuditDigests,
  markAuditDigestArchived,
  tenantIdsAfter,
  unarchivedAuditDigests,
} from '../db/auditDigests';
import { isUniqueViolation } from '../db/errors';
import { v1RedactionFromDb } from '../db/redactions';
import { auditEventHashMatches, GENESIS_HASH } from '../domain/auditChain';
import { type AuditDigestBody, digestObjectKey, importPublicKey, signDigest } from '../domain/auditDigest';
import { type Keyset, type Page, type PageRequest, type PageSize, paginate } from '../domain/pagination';
import { AppError } from '../errors';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';
import type { AuditArchive } from './ports/auditArchive';

/**
 * Signed audit digests (issue 15, item 3). A digest covers the events a tenant's chain gained since
 * its previous digest, is signed with AUDIT_SIGNING_KEY, written to the archive (outside D1) and
 * then recorded in D1. It is made only after the stretch it covers verifies from the previous
 * digest's head: a digest never anchors a broken chain, so a later verification may trust the
 * chain up to the last digest and check only what follows (item 4 builds on that).
 */

/** The most events one digest covers, so that making one reads and hashes a bounded number of rows. */
export const MAX_DIGEST_EVENTS = 10_000;
/** Events read per query while the stretch is verified. */
const VERIFY_PAGE = 500;

export const AUDIT_DIGEST_PAGE_SIZE: PageSize = { default: 20, max: 100 };

/** What making digests needs: the database, the archive, the keys, the clock. */
export interface AuditDigestDeps {
  db: D1Database;
  archive: AuditArchive | null;
  settings: AuditDigestSettings;
  now: () => Date;
}

export interface DigestOutcome {
  /** False when the tenant had no events since its last digest (digest is then that one, or null). */
  created: boolean;
  digest: AuditDigestRecord | null;
}

interface Signer {
  keyId: string;
  privateKey: CryptoKey;
}

const signers = new WeakMap<AuditSigningJwk, Promise<Signer>>();

/**
 * The signing key, imported once per configuration and checked to be the private half of the
 * public key it publishes (a JWK whose `x` is not its `d`'s would sign digests nobody can verify).
 */
function signerOf(jwk: AuditSigningJwk): Promise<Signer> {
  let signer = signers.get(jwk);
  if (!signer) {
    signer = (async () => {
      const privateKey = await crypto.subtle.importKey('jwk', { ...jwk }, 'Ed25519', false, ['sign']);
      const probe = new TextEncoder().encode('changeflow-audit-key-check');
      const signature = await crypto.subtle.sign('Ed25519', privateKey, probe);
      const publicKey = await importPublicKey({ kty: 'OKP', crv: 'Ed25519', x: jwk.x, kid: jwk.kid });
      if (!(await crypto.subtle.verify('Ed25519', publicKey, signature, probe))) {
        throw new AppError(
          'AUDIT_DIGESTS_NOT_CONFIGURED',
          `AUDIT_SIGNING_KEY "${jwk.kid}": its "x" is not the public half of its "d"`,
        );
      }
      return { keyId: jwk.kid, privateKey };
    })();
    signer.catch(() => signers.delete(jwk));
    signers.set(jwk, signer);
  }
  return signer;
}

/** The key and the archive, or AUDIT_DIGESTS_NOT_CONFIGURED saying which is missing. */
function configured(deps: AuditDigestDeps): { archive: AuditArchive; key: AuditSigningJwk } {
  const { settings, archive } = deps;
  const missing = !settings.enabled
    ? 'audit digests are off (AUDIT_DIGESTS_ENABLED)'
    : !settings.signingKey
      ? 'no AUDIT_SIGNING_KEY is set'
      : !archive
        ? 'no archive is bound (the R2 bucket AUDIT_ARCHIVE; AUDIT_ARCHIVE_DIR on Node)'
        : null;
  if (missing || !archive || !settings.signingKey) {
    throw new AppError('AUDIT_DIGESTS_NOT_CONFIGURED', `Audit digests cannot be made here: ${missing}`);
  }
  return { archive, key: settings.signingKey };
}

/**
 * Checks the stretch fromSeq..toSeq of the chain: contiguous, each event linked to the one before
 * (the first to the previous digest's head) and hashed over its own content. Returns the head.
 */
async function verifyStretch(
  db: D1Database,
  tenantId: string,
  fromSeq: number,
  toSeq: number,
  previousHead: string,
): Promise<{ headHash: string; count: number }> {
  let prev = previousHead;
  let seq = fromSeq;
  const redactions = v1RedactionFromDb(db, tenantId);
  const broken = (at: number, why: string): never => {
    throw new AppError(
      'AUDIT_CHAIN_BROKEN',
      `The audit chain does not verify at event ${at} (${why}); no digest was signed`,
      { seq: at },
    );
  };
  while (seq <= toSeq) {
    const page = await auditEventsFrom(db, tenantId, seq, toSeq, VERIFY_PAGE);
    if (page.length === 0) broken(seq, 'event missing');
    for (const e of page) {
      if (e.seq !== seq) broken(seq, 'event missing');
      if (e.prevHash !== prev) broken(seq, 'it does not link to the event before');
      if (!(await auditEventHashMatches(prev, e, redactions)))
        broken(seq, 'its content does not match its hash');
      prev = e.hash;
      seq += 1;
    }
  }
  return { headHash: prev, count: toSeq - fromSeq + 1 };
}

/** Unarchived digests written again per run and tenant (more wait for the next run). */
const ARCHIVE_RETRIES = 20;

/**
 * Writes to the archive the tenant's digests D1 recorded but the archive has not confirmed (a run
 * that failed or died between the two), and marks them archived.
 */
async function archivePending(deps: AuditDigestDeps, archive: AuditArchive, tenantId: string): Promise<void> {
  for (const d of await unarchivedAuditDigests(deps.db, tenantId, ARCHIVE_RETRIES)) {
    await archive.put(d.objectKey, d.document);
    await markAuditDigestArchived(deps.db, tenantId, d.toSeq, deps.now().toISOString());
  }
}

/**
 * Makes the tenant's next digest, if it has events its last digest does not cover (at most
 * MAX_DIGEST_EVENTS of them; the next run continues). Not in the tenant's write turn: hashing the
 * stretch must not hold up its writers, and the chain before the head does not change.
 *
 * D1 is the ledger and decides races: a digest is recorded first (two runs that read the same
 * last digest start at the same fromSeq, and a unique index lets only one record), then written
 * to the archive and marked archived. A run that fails in between leaves it unarchived, and the
 * next run writes it again before anything else; so the archive only ever holds recorded digests,
 * and holds every one.
 */
export async function digestTenant(deps: AuditDigestDeps, tenantId: string): Promise<DigestOutcome> {
  const { archive, key } = configured(deps);
  const signer = await signerOf(key);
  await archivePending(deps, archive, tenantId);
  const [last, head] = await Promise.all([lastAuditDigest(deps.db, tenantId), auditHead(deps.db, tenantId)]);
  const fromSeq = (last?.toSeq ?? 0) + 1;
  if (!head || head.seq < fromSeq) return { created: false, digest: last };
  const toSeq = Math.min(head.seq, fromSeq + MAX_DIGEST_EVENTS - 1);
  const { headHash, count } = await verifyStretch(
    deps.db,
    tenantId,
    fromSeq,
    toSeq,
    last?.headHash ?? GENESIS_HASH,
  );
  const body: AuditDigestBody = {
    tenant: tenantId,
    fromSeq,
    toSeq,
    headHash,
    eventCount: count,
    previousDigestHash: last?.digestHash ?? null,
    createdAt: deps.now().toISOString(),
  };
  const signed = await signDigest(body, signer);
  const objectKey = digestObjectKey(tenantId, toSeq);
  const record = digestRecord(signed, objectKey, `${JSON.stringify(signed, null, 2)}\n`);
  try {
    await insertAuditDigest(deps.db, record);
  } catch (e) {
    if (!isUniqueViolation(e, 'audit_digests')) throw e;
    // Another run recorded the digest from this fromSeq first: it is the one, and it archives it.
    return { created: false, digest: await lastAuditDigest(deps.db, tenantId) };
  }
  await archive.put(objectKey, record.document);
  const archivedAt = deps.now().toISOString();
  await markAuditDigestArchived(deps.db, tenantId, toSeq, archivedAt);
  return { created: true, digest: { ...record, archivedAt } };
}

export interface DigestRunReport {
  created: { tenant: string; toSeq: number }[];
  unchanged: number;
  failed: { tenant: string; error: string }[];
}

/** Tenants one cron invocation digests; the hour's sweep goes on at the next minute's. */
export const DIGEST_TENANTS_PER_RUN = 25;

/** Digests the given tenants; one tenant's failure does not stop the others. */
async function digestTenants(deps: AuditDigestDeps, tenants: string[], report: DigestRunReport) {
  for (const tenant of tenants) {
    try {
      const outcome = await digestTenant(deps, tenant);
      if (outcome.created && outcome.digest) report.created.push({ tenant, toSeq: outcome.digest.toSeq });
      else report.unchanged += 1;
    } catch (e) {
      report.failed.push({ tenant, error: e instanceof Error ? e.message : String(e) });
    }
  }
}

/**
 * One cron invocation's share of the hourly run. At the top of the hour a sweep over every tenant
 * starts; each invocation (that one and the next minutes') claims the next DIGEST_TENANTS_PER_RUN
 * tenants after the sweep's cursor in D1 and digests them, until none is left. A claim moves the
 * cursor before the work, so two invocations never take the same tenants; a tenant whose
 * invocation died is digested the next hour (a digest covers everything since the last one).
 * Null when there was nothing to claim (no sweep this hour, or it is done).
 */
export async function digestSweepStep(
  deps: AuditDigestDeps,
  at: Date,
  limit = DIGEST_TENANTS_PER_RUN,
): Promise<(DigestRunReport & { hour: string; done: boolean }) | null> {
  configured(deps);
  const hour = at.toISOString().slice(0, 13);
  if (at.getUTCMinutes() === 0) await startDigestSweep(deps.db, hour);
  for (let attempt = 0; attempt < 3; attempt++) {
    const claim = await claimDigestSweep(deps.db, hour, (after) => tenantIdsAfter(deps.db, after, limit));
    if (claim === 'done') return null;
    if (claim === 'lost') continue;
    const report: DigestRunReport = { created: [], unchanged: 0, failed: [] };
    await digestTenants(deps, claim.tenants, report);
    return { ...report, hour, done: claim.tenants.length < limit };
  }
  return null;
}

/** Every tenant at once, a batch at a time (the Node runtime's hourly run: no CPU limit per run). */
export async function digestAllTenants(deps: AuditDigestDeps): Promise<DigestRunReport> {
  const report: DigestRunReport = { created: [], unchanged: 0, failed: [] };
  configured(deps);
  let after = '';
  for (;;) {
    const tenants = await tenantIdsAfter(deps.db, after, DIGEST_TENANTS_PER_RUN);
    await digestTenants(deps, tenants, report);
    const last = tenants.at(-1);
    if (last === undefined || tenants.length < DIGEST_TENANTS_PER_RUN) return report;
    after = last;
  }
}

/** The digests of the caller's tenant, newest first. */
export function auditDigestPage(ctx: AuthedContext, request: PageRequest): Promise<Page<AuditDigestRecord>> {
  const byToSeq: Keyset<AuditDigestRecord, { toSeq: number }> = {
    isCursor: (v): v is { toSeq: number } =>
      typeof v === 'object' && v !== null && Number.isInteger((v as { toSeq: unknown }).toSeq),
    cursorOf: (d) => ({ toSeq: d.toSeq }),
  };
  return paginate(request, AUDIT_DIGEST_PAGE_SIZE, byToSeq, (limit, cursor) =>
    listAuditDigests(ctx.db, ctx.principal.tenantId, { limit, beforeToSeq: cursor?.toSeq ?? null }),
  );
}

/**
 * On demand (an admin): the caller's tenant's next digest now, rather than at the next hour. The
 * request is itself audited first (who asked for evidence, and when), so the digest covers it
 * too: right after, the tenant's whole chain is anchored and the next hourly run has nothing to do.
 */
export async function createAuditDigest(ctx: AuthedContext): Promise<DigestOutcome> {
  const deps: AuditDigestDeps = {
    db: ctx.db,
    archive: ctx.auditArchive,
    settings: ctx.auditDigestSettings,
    now: ctx.now,
  };
  configured(deps);
  const tenantId = ctx.principal.tenantId;
  await commitWithAudit(ctx, async () => ({
    statements: [],
    audit: [
      {
        action: 'audit_digest.requested',
        targetType: 'AuditDigest',
        targetId: tenantId,
        before: null,
        after: null,
      },
    ],
    result: null,
  }));
  return digestTenant(deps, tenantId);
}
