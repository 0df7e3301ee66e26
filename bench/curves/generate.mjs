// A seeded, deterministic data set at real sizes (issue 17 item 3): the same seed and sizes give
// the same rows, byte for byte, on every run (no clock, no Math.random). It fills the Node
// runtime's SQLite database (every migration applied) with one measured tenant and a few others,
// so that every per-tenant index holds other tenants' rows too:
//
// - users: a few hundred requesters with a long tail (some raise many changes, most a few), a
//   dozen CAB approvers, change managers;
// - services: 60, a few hot ones touched by most changes and a long tail (Zipf weights), some
//   tagged `pci`;
// - changes across the whole lifecycle: old ones mostly closed (completed, cancelled, rejected,
//   failed, rolled back), the newest still in flight (draft … implementing); types, impacts and
//   risk levels spread; emergencies with their justification and review;
// - CAB votes by quorum of the risk level, from approvers with skewed workloads; now and then a
//   self-approval or an implementation before approval, so the compliance checks have findings;
// - the audit trail: every change's lifecycle events (created, submitted, each vote, scheduled,
//   implementation, …) plus edits, in time order, hash-chained with the project's own
//   computeAuditHash (src/domain/auditChain.ts), and signed digests every MAX_DIGEST_EVENTS
//   events up to a fixed tail before the head, signed with the project's signDigest, so that a
//   RECENT verification starts from the last digest and checks the same number of events at
//   every size.
//
// Rows are inserted directly in bulk transactions (better-sqlite3 under the project's D1
// adapter). The compliance facts are not written here: migration 0020's triggers keep them, and
// checkGenerated() compares them with the view they are defined by.

import { digestRecord, insertAuditDigest, markAuditDigestArchived } from '../../src/db/auditDigests.ts';
import { CHANGE_COLUMNS, changeToRow } from '../../src/db/changeRows.ts';
import { CURRENT_HASH_VERSION, computeAuditHash, GENESIS_HASH } from '../../src/domain/auditChain.ts';
import { digestObjectKey, signDigest } from '../../src/domain/auditDigest.ts';
import { MAX_DIGEST_EVENTS } from '../../src/usecases/auditDigests.ts';
import { Prng } from '../../test/helpers/prng.ts';

/** The tenant the curves measure. */
export const MEASURED_TENANT = 'acme';
/** The approver who never voted in the generated data: the curves' approve operation votes as them. */
export const BENCH_APPROVER = 'cab-bench';
/** Events after the last digest: what a RECENT verification checks, the same at every size. */
export const DIGEST_TAIL = 500;
/** Changes are created over two years up to here; their last events follow within about 16 days. */
export const GENERATED_NOW = Date.parse('2026-11-15T00:00:00.000Z');
/**
 * The newest changes of the measured tenant wait for votes the bench approver has not cast: the
 * curves' approve operation takes one each (a vote is once per person and change).
 */
export const PENDING_POOL = 32;
const SPAN_MS = 2 * 365 * 86_400_000;

const HOT_SERVICES = ['payments-api', 'checkout', 'identity', 'search', 'web-frontend'];
const SERVICE_COUNT = 60;
const APPROVERS = 12;
const MANAGERS = 3;
const QUORUM = { LOW: 1, MEDIUM: 2, HIGH: 3, VERY_HIGH: 3 };
const ACTIVE = ['DRAFT', 'SUBMITTED', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED', 'IMPLEMENTING'];
const VOTED = new Set(['APPROVED', 'SCHEDULED', 'IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK']);

const iso = (/** @type {number} */ ms) => new Date(ms).toISOString();
const pad = (/** @type {number} */ i, n = 7) => String(i).padStart(n, '0');

/** Draws an index 0..n-1 with Zipf weights (index 0 the hottest). */
function zipf(/** @type {number} */ n, s = 1.1) {
  const w = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s);
  const total = w.reduce((a, b) => a + b, 0);
  let acc = 0;
  const cdf = w.map((x) => (acc += x / total));
  return (/** @type {Prng} */ rng) => {
    const u = rng.float();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (/** @type {number} */ (cdf[mid]) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** A small binary heap of pending events by time (then by insertion), so the chain is in time order. */
class EventQueue {
  /** @type {{ at: number, n: number, event: object }[]} */
  items = [];
  n = 0;
  get size() {
    return this.items.length;
  }
  less(/** @type {number} */ a, /** @type {number} */ b) {
    const x = /** @type {{ at: number, n: number }} */ (this.items[a]);
    const y = /** @type {{ at: number, n: number }} */ (this.items[b]);
    return x.at < y.at || (x.at === y.at && x.n < y.n);
  }
  swap(/** @type {number} */ a, /** @type {number} */ b) {
    const t = /** @type {{ at: number, n: number, event: object }} */ (this.items[a]);
    this.items[a] = /** @type {{ at: number, n: number, event: object }} */ (this.items[b]);
    this.items[b] = t;
  }
  push(/** @type {number} */ at, /** @type {object} */ event) {
    this.items.push({ at, n: this.n++, event });
    let i = this.items.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  peekAt() {
    return this.items[0]?.at ?? Number.POSITIVE_INFINITY;
  }
  pop() {
    const top = this.items[0];
    const last = /** @type {{ at: number, n: number, event: object }} */ (this.items.pop());
    if (this.items.length && top !== last) {
      this.items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.items.length && this.less(l, m)) m = l;
        if (r < this.items.length && this.less(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * One tenant's changes, votes and audit trail.
 * @param {import('../../src/runtime/node/sqlite.ts').SqliteD1} db
 * @param {{ tenant: string, seed: number, changes: number, auditEvents: number,
 *   signer: { keyId: string, privateKey: CryptoKey } | null, pendingPool?: number,
 *   onProgress?: (msg: string) => void }} o
 */
export async function generateTenant(db, o) {
  const { tenant, changes } = o;
  const rng = new Prng(o.seed);
  const sql = db.sqlite;
  const requesters = Math.max(5, Math.min(400, Math.ceil(changes / 50)));
  const pickRequester = zipf(requesters, 1.0);
  const pickService = zipf(SERVICE_COUNT, 1.2);
  const pickApprover = zipf(APPROVERS, 0.8);
  const services = [
    ...HOT_SERVICES,
    ...Array.from({ length: SERVICE_COUNT - HOT_SERVICES.length }, (_, i) => `svc-${pad(i, 3)}`),
  ];
  const created0 = iso(GENERATED_NOW - SPAN_MS - 86_400_000);

  const insertUser = sql.prepare(
    'INSERT INTO users (tenant_id, id, display_name, email, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const insertService = sql.prepare(
    'INSERT INTO services (tenant_id, name, tags, created_at) VALUES (?, ?, ?, ?)',
  );
  sql.transaction(() => {
    const people = [
      ...Array.from({ length: requesters }, (_, i) => `req-${pad(i, 4)}`),
      ...Array.from({ length: APPROVERS }, (_, i) => `cab-${pad(i, 2)}`),
      ...Array.from({ length: MANAGERS }, (_, i) => `mgr-${i}`),
      BENCH_APPROVER,
    ];
    for (const id of people) insertUser.run(tenant, id, `User ${id}`, `${id}@${tenant}.example`, created0);
    services.forEach((name, i) => {
      // The hottest service, and every seventh of the tail, handle card data.
      const tags =
        i === 0 || (i > HOT_SERVICES.length && i % 7 === 0) ? ['pci', 'tier-1'] : i < 5 ? ['tier-1'] : [];
      insertService.run(tenant, name, JSON.stringify(tags), created0);
    });
  })();

  const insertChange = sql.prepare(
    `INSERT INTO change_requests (${CHANGE_COLUMNS.join(', ')}) VALUES (${CHANGE_COLUMNS.map((c) => `@${c}`).join(', ')})`,
  );
  const insertChangeService = sql.prepare(
    'INSERT INTO change_services (tenant_id, change_id, service) VALUES (?, ?, ?)',
  );
  const insertApproval = sql.prepare(
    `INSERT INTO approvals (id, tenant_id, change_id, approver_id, approver_roles, decision, comment, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertEvent = sql.prepare(
    `INSERT INTO audit_events (tenant_id, seq, id, actor_id, actor_type, source, tool_name, action, target_type,
       target_id, request_id, before_json, after_json, created_at, prev_hash, hash, hash_version)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );

  // Lifecycle events alone average about 5 per change; edits make up the rest of the target.
  const extraPerChange = Math.max(0, o.auditEvents / changes - 5.2);
  const queue = new EventQueue();
  let seq = 0;
  let prevHash = GENESIS_HASH;
  /** @type {unknown[][]} */
  let eventRows = [];
  const flushEvents = () => {
    const rows = eventRows;
    eventRows = [];
    sql.transaction(() => {
      for (const r of rows) insertEvent.run(...r);
    })();
  };
  const emit = async (/** @type {any} */ e) => {
    seq += 1;
    const event = {
      ...e,
      tenantId: tenant,
      seq,
      hashVersion: CURRENT_HASH_VERSION,
      toolName: e.toolName ?? null,
    };
    const hash = await computeAuditHash(prevHash, event);
    eventRows.push([
      tenant,
      seq,
      `aud-${tenant}-${pad(seq, 8)}`,
      event.actorId,
      event.actorType,
      event.source,
      event.toolName,
      event.action,
      event.targetType,
      event.targetId,
      event.requestId,
      event.before === null ? null : JSON.stringify(event.before),
      event.after === null ? null : JSON.stringify(event.after),
      event.createdAt,
      prevHash,
      hash,
      CURRENT_HASH_VERSION,
    ]);
    prevHash = hash;
    if (eventRows.length >= 5000) flushEvents();
  };
  /** Emits queued events up to time `t`. */
  const drain = async (/** @type {number} */ t) => {
    while (queue.size && queue.peekAt() <= t) {
      const item = /** @type {{ event: object }} */ (queue.pop());
      await emit(item.event);
    }
  };

  /** @type {(() => void)[]} */
  let rowWrites = [];
  const flushRows = () => {
    const writes = rowWrites;
    rowWrites = [];
    sql.transaction(() => {
      for (const w of writes) w();
    })();
  };

  const step = SPAN_MS / changes;
  for (let i = 0; i < changes; i++) {
    const createdMs = GENERATED_NOW - SPAN_MS + Math.floor(i * step + rng.float() * step * 0.9);
    await drain(createdMs);
    const age = (GENERATED_NOW - createdMs) / SPAN_MS; // 1 oldest … 0 newest
    const fresh = age < 0.02;
    const pooled = i >= changes - (o.pendingPool ?? 0);
    const typeDraw = rng.float();
    const type = pooled ? 'NORMAL' : typeDraw < 0.6 ? 'NORMAL' : typeDraw < 0.9 ? 'STANDARD' : 'EMERGENCY';
    const riskLevel =
      type === 'STANDARD'
        ? rng.chance(0.85)
          ? 'LOW'
          : 'MEDIUM'
        : rng.pick(['LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'VERY_HIGH']);
    let status;
    if (pooled) status = 'PENDING_APPROVAL';
    else if (fresh || rng.chance(0.01)) status = rng.pick(ACTIVE);
    else {
      const s = rng.float();
      status =
        s < 0.72
          ? 'COMPLETED'
          : s < 0.82
            ? 'CANCELLED'
            : s < 0.9
              ? 'REJECTED'
              : s < 0.95
                ? 'FAILED'
                : 'ROLLED_BACK';
    }
    const preApproved = type === 'STANDARD' && riskLevel === 'LOW';
    if (preApproved && status === 'PENDING_APPROVAL') status = 'APPROVED';
    if (preApproved && status === 'REJECTED') status = 'COMPLETED';
    const requester = `req-${pad(pickRequester(rng), 4)}`;
    const affected = [...new Set(Array.from({ length: rng.int(1, 3) }, () => services[pickService(rng)]))];
    const id = `CHG-${tenant}-${pad(i)}`;
    const level = () => rng.pick(['LOW', 'MEDIUM', 'HIGH']);
    const impact = level();
    const urgency = level();
    const hour = 3600_000;
    const t = {
      submitted: createdMs + rng.int(1, 48) * hour,
      approved: 0,
      implemented: 0,
      completed: 0,
    };
    t.approved = t.submitted + rng.int(1, 72) * hour;
    t.implemented = t.approved + rng.int(24, 240) * hour;
    t.completed = t.implemented + rng.int(1, 8) * hour;
    const past = (/** @type {string[]} */ ...ss) => ss.includes(status);
    const implemented = past('IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK');
    const override = type === 'EMERGENCY' && rng.chance(0.7);
    // Now and then an implementation before its approval (a SOX-2 finding).
    const early = implemented && !override && !preApproved && rng.chance(0.004);
    if (early) t.implemented = t.submitted + hour;
    const submitted = status !== 'DRAFT';
    const approvedAt =
      past('APPROVED', 'SCHEDULED', ...['IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK']) && !override
        ? iso(t.approved)
        : null;
    const planned = past('SCHEDULED', 'IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK');
    const change = {
      id,
      tenantId: tenant,
      title: `${rng.pick(['Upgrade', 'Patch', 'Migrate', 'Resize', 'Rotate keys of', 'Reconfigure'])} ${affected[0]} (${i})`,
      description: `Routine work on ${affected.join(', ')}.`,
      type,
      impact,
      urgency,
      priority: rng.pick(['P1', 'P2', 'P3', 'P3', 'P4']),
      status,
      requesterId: requester,
      affectedServices: affected,
      implementationPlan: 'Roll out node by node behind the load balancer.',
      backoutPlan: rng.chance(0.02) ? '  ' : 'Roll back to the previous release.',
      testPlan: rng.chance(0.03) ? null : 'Smoke suite and the error-rate dashboard.',
      riskScore: QUORUM[/** @type {keyof typeof QUORUM} */ (riskLevel)] * 20 + 5 + rng.int(0, 9),
      riskLevel,
      riskFactors: [
        { key: 'type', label: `Type ${type}`, contribution: 10 },
        { key: 'services', label: `${affected.length} affected services`, contribution: 5 * affected.length },
      ],
      plannedStart: planned ? iso(t.implemented) : null,
      plannedEnd: planned ? iso(t.implemented + 2 * hour) : null,
      emergencyJustification: override ? 'Customer-facing outage: fix forward now.' : null,
      reviewDueAt: override ? iso(t.submitted + 5 * 86_400_000) : null,
      reviewedAt: override && age > 0.01 && rng.chance(0.9) ? iso(t.submitted + 2 * 86_400_000) : null,
      runbookWorkflowId: null,
      runbookInputs: null,
      runbookAttachedBy: null,
      templateId: null,
      templateVersion: null,
      failureReason: past('FAILED', 'ROLLED_BACK')
        ? 'Error rate above the threshold after the rollout.'
        : null,
      version: 1,
      createdAt: iso(createdMs),
      updatedAt: iso(createdMs),
      submittedAt: submitted ? iso(t.submitted) : null,
      approvedAt,
      implementedAt: implemented ? iso(t.implemented) : null,
      completedAt: past('COMPLETED', 'ROLLED_BACK') ? iso(t.completed) : null,
    };

    // Votes: the quorum for those past the vote; fewer (never the bench approver's) while pending.
    const quorum = QUORUM[/** @type {keyof typeof QUORUM} */ (riskLevel)];
    let votes = 0;
    if (!preApproved && !override) {
      if (VOTED.has(status)) votes = quorum;
      else if (status === 'PENDING_APPROVAL') votes = rng.int(0, quorum - 1);
      else if (status === 'REJECTED') votes = rng.int(1, quorum);
      else if (status === 'CANCELLED' && rng.chance(0.3)) votes = rng.int(0, quorum - 1);
    }
    const voters = new Set();
    // A self-approval (SOX-1) now and then: the requester votes.
    if (votes > 0 && VOTED.has(status) && rng.chance(0.003)) voters.add(requester);
    while (voters.size < votes) {
      const v =
        riskLevel === 'VERY_HIGH' && voters.size === 0
          ? `mgr-${rng.int(0, MANAGERS - 1)}`
          : `cab-${pad(pickApprover(rng), 2)}`;
      voters.add(v);
    }
    const approvals = [...voters].map((approverId, v) => {
      const rejecting = status === 'REJECTED' && v === votes - 1;
      return {
        id: `apr-${tenant}-${pad(i)}-${v}`,
        approverId,
        roles: approverId.startsWith('mgr-') ? ['change_manager'] : ['approver'],
        decision: rejecting ? 'REJECTED' : 'APPROVED',
        comment: rejecting ? 'The backout plan was never tested.' : v === 0 ? null : 'Looks fine.',
        at: t.submitted + (v + 1) * 600_000,
      };
    });

    rowWrites.push(() => {
      insertChange.run(changeToRow(/** @type {any} */ (change)));
      for (const s of affected) insertChangeService.run(tenant, id, s);
      for (const a of approvals) {
        insertApproval.run(
          a.id,
          tenant,
          id,
          a.approverId,
          JSON.stringify(a.roles),
          a.decision,
          a.comment,
          iso(a.at),
        );
      }
    });
    if (rowWrites.length >= 2000) flushRows();

    // The audit trail of the change, queued by time.
    const ev = (
      /** @type {number} */ at,
      /** @type {string} */ actor,
      /** @type {string} */ action,
      /** @type {unknown} */ before,
      /** @type {unknown} */ after,
      target = { type: 'ChangeRequest', id },
    ) =>
      queue.push(at, {
        actorId: actor,
        actorType: 'user',
        source: rng.chance(0.15) ? 'mcp' : 'graphql',
        action,
        targetType: target.type,
        targetId: target.id,
        requestId: `req-${tenant}-${i}-${queue.n}`,
        before,
        after,
        createdAt: iso(at),
      });
    ev(createdMs, requester, 'change.created', null, {
      id,
      title: change.title,
      type,
      status: 'DRAFT',
      affectedServices: affected,
      riskLevel,
    });
    const edits = Math.floor(extraPerChange) + (rng.float() < extraPerChange % 1 ? 1 : 0);
    for (let e = 0; e < edits; e++) {
      const at = createdMs + rng.int(1, Math.max(2, Math.floor((t.submitted - createdMs) / 60_000))) * 60_000;
      ev(at, requester, 'change.updated', { description: 'draft' }, { description: `edit ${e}` });
    }
    if (!submitted) continue;
    const afterSubmit = preApproved ? 'APPROVED' : override ? 'APPROVED' : 'PENDING_APPROVAL';
    ev(
      t.submitted,
      requester,
      preApproved ? 'change.submitted.pre_approved' : 'change.submitted',
      { status: 'DRAFT' },
      { status: afterSubmit },
    );
    for (const a of approvals) {
      ev(
        a.at,
        a.approverId,
        a.decision === 'APPROVED' ? 'change.approval_recorded' : 'change.rejection_recorded',
        { status: 'PENDING_APPROVAL' },
        { status: 'PENDING_APPROVAL' },
      );
      ev(
        a.at,
        a.approverId,
        'approval.created',
        null,
        { id: a.id, changeId: id, decision: a.decision, comment: a.comment },
        { type: 'Approval', id: a.id },
      );
    }
    if (status === 'CANCELLED')
      ev(t.approved, requester, 'change.cancelled', { status: afterSubmit }, { status: 'CANCELLED' });
    if (planned)
      ev(
        t.approved + hour,
        'mgr-0',
        'change.scheduled',
        { status: 'APPROVED' },
        { status: 'SCHEDULED', plannedStart: change.plannedStart },
      );
    if (implemented)
      ev(
        t.implemented,
        'mgr-0',
        'change.implementation_started',
        { status: 'SCHEDULED' },
        { status: 'IMPLEMENTING' },
      );
    if (past('COMPLETED'))
      ev(t.completed, 'mgr-0', 'change.completed', { status: 'IMPLEMENTING' }, { status: 'COMPLETED' });
    if (past('FAILED', 'ROLLED_BACK'))
      ev(t.completed, 'mgr-0', 'change.failed', { status: 'IMPLEMENTING' }, { status: 'FAILED' });
    if (past('ROLLED_BACK'))
      ev(t.completed + hour, 'mgr-0', 'change.rolled_back', { status: 'FAILED' }, { status: 'ROLLED_BACK' });
    if (change.reviewedAt)
      ev(
        Date.parse(change.reviewedAt),
        'mgr-1',
        'change.emergency_reviewed',
        { reviewedAt: null },
        { reviewedAt: change.reviewedAt },
      );
    if (i % 10_000 === 9_999) o.onProgress?.(`${tenant}: ${i + 1} changes, ${seq} events`);
  }
  await drain(Number.POSITIVE_INFINITY);
  flushRows();
  flushEvents();

  // Signed digests every MAX_DIGEST_EVENTS events, the last one DIGEST_TAIL events before the head.
  const digests = o.signer ? await signDigests(db, tenant, seq, o.signer) : 0;
  return { tenant, changes, auditEvents: seq, digests, headHash: prevHash };
}

/**
 * Digests of 1..head-DIGEST_TAIL in stretches of MAX_DIGEST_EVENTS, signed with the project's
 * signDigest over the stored chain (each head hash read back from the table), recorded and
 * marked archived as digestTenant records them.
 */
/**
 * @param {import('../../src/runtime/node/sqlite.ts').SqliteD1} db
 * @param {string} tenant
 * @param {number} head
 * @param {{ keyId: string, privateKey: CryptoKey }} signer
 */
async function signDigests(db, tenant, head, signer) {
  const end = head - DIGEST_TAIL;
  const hashOf = db.sqlite.prepare('SELECT hash FROM audit_events WHERE tenant_id = ? AND seq = ?').pluck();
  let from = 1;
  let previousDigestHash = null;
  let n = 0;
  while (from <= end) {
    const to = Math.min(end, from + MAX_DIGEST_EVENTS - 1);
    const body = {
      tenant,
      fromSeq: from,
      toSeq: to,
      headHash: /** @type {string} */ (hashOf.get(tenant, to)),
      eventCount: to - from + 1,
      previousDigestHash,
      createdAt: iso(GENERATED_NOW),
    };
    const signed = await signDigest(body, signer);
    const objectKey = digestObjectKey(tenant, to);
    const record = digestRecord(signed, objectKey, `${JSON.stringify(signed, null, 2)}\n`);
    await insertAuditDigest(db, record);
    await markAuditDigestArchived(db, tenant, to, iso(GENERATED_NOW));
    previousDigestHash = signed.digestHash;
    from = to + 1;
    n++;
  }
  return n;
}

/** The digest signer from an AUDIT_SIGNING_KEY JWK (as the digest use case imports it). */
export async function digestSigner(/** @type {{ kid: string } & JsonWebKey} */ jwk) {
  const privateKey = await crypto.subtle.importKey('jwk', { ...jwk }, 'Ed25519', false, ['sign']);
  return { keyId: jwk.kid, privateKey };
}

/**
 * The measured tenant at `changes` with about `auditEvents` events, and `otherTenants` others at a
 * tenth of its size each (lifecycle events only), each from its own seed derived from `seed`.
 * @param {import('../../src/runtime/node/sqlite.ts').SqliteD1} db
 * @param {{ seed: number, changes: number, auditEvents: number, otherTenants?: number,
 *   signingKey?: ({ kid: string } & JsonWebKey) | null, onProgress?: (msg: string) => void }} o
 */
export async function generateDatabase(db, o) {
  const signer = o.signingKey ? await digestSigner(o.signingKey) : null;
  const tenants = [];
  const others = o.otherTenants ?? 2;
  for (let k = 0; k < others; k++) {
    const changes = Math.max(10, Math.round(o.changes / 10));
    tenants.push(
      await generateTenant(db, {
        tenant: `other-${k}`,
        seed: (o.seed * 31 + k + 1) >>> 0,
        changes,
        auditEvents: changes * 5,
        signer,
        onProgress: o.onProgress,
      }),
    );
  }
  tenants.push(
    await generateTenant(db, {
      tenant: MEASURED_TENANT,
      seed: o.seed >>> 0,
      changes: o.changes,
      auditEvents: o.auditEvents,
      signer,
      pendingPool: Math.min(PENDING_POOL, Math.floor(o.changes / 2)),
      onProgress: o.onProgress,
    }),
  );
  return tenants;
}

/**
 * What must hold after generation, from SQL alone: the compliance facts (kept by migration 0020's
 * triggers) equal the view that defines them, row for row; the per-day counts equal the facts;
 * each tenant's chain is contiguous from seq 1 and each event links to the one before. Returns
 * the mismatches (empty when all hold). The hashes themselves are checked by verifying the chain
 * through the app (the test does, with the project's verifier).
 * @param {import('../../src/runtime/node/sqlite.ts').SqliteD1} db
 */
export function checkGenerated(db) {
  const q = (/** @type {string} */ s) => db.sqlite.prepare(s).all();
  const cols = 'change_id, tenant_id, created_at, sox1, sox2, pci_gaps, touches_pci, review_pending_due';
  return {
    factsNotInView: q(
      `SELECT ${cols} FROM change_compliance EXCEPT SELECT ${cols} FROM change_compliance_facts`,
    ),
    viewNotInFacts: q(
      `SELECT ${cols} FROM change_compliance_facts EXCEPT SELECT ${cols} FROM change_compliance`,
    ),
    dailyMismatch: q(`
      SELECT tenant_id, day FROM (
        SELECT tenant_id, substr(created_at, 1, 10) AS day, count(*) AS changes, sum(sox1) AS sox1,
               sum(sox2 <> 0) AS sox2, sum(touches_pci = 1 AND pci_gaps <> 0) AS pci
        FROM change_compliance GROUP BY 1, 2
        EXCEPT SELECT tenant_id, day, changes, sox1, sox2, pci FROM compliance_daily WHERE changes > 0)`),
    chainGaps: q(`
      SELECT e.tenant_id, e.seq FROM audit_events e
      LEFT JOIN audit_events p ON p.tenant_id = e.tenant_id AND p.seq = e.seq - 1
      WHERE (e.seq = 1 AND e.prev_hash <> '${GENESIS_HASH}') OR (e.seq > 1 AND (p.hash IS NULL OR p.hash <> e.prev_hash))
      LIMIT 5`),
  };
}
