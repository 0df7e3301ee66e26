// The verdict of `npm run load` (bench/load.mjs), as pure functions of what the run recorded and
// what it read back, so that test/node/loadVerdict.test.mjs can feed them synthetic runs and show
// that each way of losing data (or of doing nothing at all) fails the run.

/**
 * One acknowledged write and the audit event it must have left: `action` exact, or a prefix when
 * it ends with '*' (a submit is `change.submitted` or `change.submitted.pre_approved`).
 * @typedef {{ targetId: string, action: string }} ExpectedEvent
 */
/** @typedef {{ seq: number, targetId: string, action: string }} AuditEventRow */

/**
 * Matches every acknowledged write to an audit event of its target and action, each event used
 * once. Events left over are explained by writes whose outcome was unknown (a timeout, the
 * server killed mid-request) up to their number; beyond that they are writes nobody acknowledged.
 * @param {ExpectedEvent[]} expected
 * @param {AuditEventRow[]} events the events this run added (seq above the head read before it)
 * @param {{ uncertainWrites: number }} options
 */
export function matchAudit(expected, events, { uncertainWrites }) {
  /** @type {Map<string, AuditEventRow[]>} */
  const byTarget = new Map();
  for (const e of events) {
    const list = byTarget.get(e.targetId) ?? [];
    list.push(e);
    byTarget.set(e.targetId, list);
  }
  const used = new Set();
  /** @type {ExpectedEvent[]} */
  const missing = [];
  for (const want of expected) {
    const prefix = want.action.endsWith('*') ? want.action.slice(0, -1) : null;
    const found = (byTarget.get(want.targetId) ?? []).find(
      (e) => !used.has(e) && (prefix === null ? e.action === want.action : e.action.startsWith(prefix)),
    );
    if (found) used.add(found);
    else missing.push(want);
  }
  const leftOver = events.filter((e) => !used.has(e));
  return {
    expected: expected.length,
    events: events.length,
    matched: used.size,
    missing,
    leftOver: leftOver.length,
    unexplained: Math.max(0, leftOver.length - uncertainWrites),
    leftOverExamples: leftOver.slice(0, 5),
  };
}

/**
 * Lost updates on the changes several clients wrote with expectedVersion: two acknowledged writes
 * of one change at the same version (one silently overwrote the other), or a stored state other
 * than the last acknowledged one (version and title) when no write of it was uncertain.
 * @param {Map<string, { acks: { version: number, title: string }[], uncertain: boolean }>} shared
 * @param {Map<string, { version: number, title: string } | null>} stored
 */
export function checkContention(shared, stored) {
  let acknowledged = 0;
  let duplicateVersions = 0;
  let wrongFinal = 0;
  /** @type {string[]} */
  const examples = [];
  for (const [id, { acks, uncertain }] of shared) {
    acknowledged += acks.length;
    const versions = new Set();
    for (const a of acks) {
      if (versions.has(a.version)) {
        duplicateVersions++;
        examples.push(`${id}: two writes acknowledged at v${a.version}`);
      }
      versions.add(a.version);
    }
    const last = acks.reduce(
      (m, a) => (m && m.version >= a.version ? m : a),
      /** @type {{ version: number, title: string } | null} */ (null),
    );
    const got = stored.get(id) ?? null;
    if (!got) {
      if (acks.length) {
        wrongFinal++;
        examples.push(`${id}: acknowledged writes but the change is gone`);
      }
      continue;
    }
    if (!last || uncertain) continue;
    if (got.version !== last.version || got.title !== last.title) {
      wrongFinal++;
      examples.push(
        `${id}: last acknowledged v${last.version} "${last.title}", stored v${got.version} "${got.title}"`,
      );
    }
  }
  return {
    changes: shared.size,
    acknowledged,
    duplicateVersions,
    wrongFinal,
    examples: examples.slice(0, 10),
  };
}

/**
 * @typedef {object} VerdictInput
 * @property {{ other: number, rateLimited: number }} errors measured run
 * @property {{ other: number, rateLimited: number }} warmupErrors
 * @property {{ acknowledgedWrites: number, lost: number, stale: number, mismatched: number,
 *   missingApprovals: number, missedByList: number, unexplainedExtra: number, listed: number,
 *   tenantChangesAfter: number | null, tenantChangesBefore: number, pagesRead: number }} writes
 * @property {{ valid: boolean, brokenAtSeq: number | null }} auditChain
 * @property {ReturnType<typeof matchAudit>} audit
 * @property {ReturnType<typeof checkContention>} contention
 * @property {{ conflicts: number } | null} contentionAttempts null when contention was off
 * @property {{ writers: number, winners: number, conflicts: number, errors: number }[]} [bursts] races of
 *   `writers` concurrent edits of one change with the same expectedVersion: exactly one may win
 * @property {{ wanted: boolean, restarts: number, outageErrors: number } | null} restart
 * @property {{ minWrites: number, tolerateRateLimited: boolean, contention: boolean }} config
 */

/**
 * Every reason the run fails; empty means it passed. A run that wrote too little, was refused by a
 * limiter, lost, duplicated or overwrote anything, or left the audit trail short fails.
 * @param {VerdictInput} r
 * @returns {string[]}
 */
export function loadVerdict(r) {
  /** @type {string[]} */
  const f = [];
  const w = r.writes;
  if (!(w.acknowledgedWrites >= r.config.minWrites))
    f.push(`${w.acknowledgedWrites} acknowledged writes, fewer than the ${r.config.minWrites} required`);
  if (r.errors.other) f.push(`${r.errors.other} errors (other than rate limiting)`);
  if (r.warmupErrors.other) f.push(`${r.warmupErrors.other} errors during the warm-up`);
  const limited = r.errors.rateLimited + r.warmupErrors.rateLimited;
  if (limited && !r.config.tolerateRateLimited)
    f.push(`${limited} requests refused by rate limiting (429): the run did not measure what it asked for`);
  if (w.lost) f.push(`${w.lost} acknowledged changes not found`);
  if (w.stale) f.push(`${w.stale} changes older than their acknowledged write`);
  if (w.mismatched) f.push(`${w.mismatched} changes in another state than acknowledged`);
  if (w.missingApprovals) f.push(`${w.missingApprovals} acknowledged approvals missing`);
  if (w.missedByList) f.push(`${w.missedByList} changes readable by id but missing from the list`);
  if (w.unexplainedExtra > 0) f.push(`${w.unexplainedExtra} changes nobody acknowledged (duplicates?)`);
  if (w.tenantChangesAfter === null || w.listed !== w.tenantChangesAfter)
    f.push(
      `the list returned ${w.listed} changes over ${w.pagesRead} pages, totalCount says ${w.tenantChangesAfter}`,
    );
  if (!r.auditChain.valid) f.push(`audit chain broken at seq ${r.auditChain.brokenAtSeq}`);
  if (r.audit.missing.length)
    f.push(
      `${r.audit.missing.length} of ${r.audit.expected} acknowledged writes without their audit event (target and action)`,
    );
  if (r.audit.unexplained) f.push(`${r.audit.unexplained} audit events no write explains`);
  if (r.audit.expected < w.acknowledgedWrites)
    f.push(`${r.audit.expected} audit events expected for ${w.acknowledgedWrites} acknowledged writes`);
  if (r.config.contention) {
    const c = r.contention;
    if (c.duplicateVersions)
      f.push(`${c.duplicateVersions} lost updates (two writes acknowledged at one version)`);
    if (c.wrongFinal) f.push(`${c.wrongFinal} contended changes not in their last acknowledged state`);
    if (c.acknowledged === 0) f.push('contention: no write to a shared change was acknowledged');
    if (!r.contentionAttempts || r.contentionAttempts.conflicts === 0)
      f.push('contention: no version conflict was seen, so writers never raced');
  }
  for (const [i, b] of (r.bursts ?? []).entries()) {
    if (b.winners > 1)
      f.push(
        `race ${i + 1}: ${b.winners} of ${b.writers} edits acknowledged at one expected version (lost updates)`,
      );
    else if (b.winners === 0) f.push(`race ${i + 1}: none of ${b.writers} edits was acknowledged`);
    if (b.errors) f.push(`race ${i + 1}: ${b.errors} edits failed otherwise than with a version conflict`);
    else if (b.winners === 1 && b.conflicts !== b.writers - 1)
      f.push(`race ${i + 1}: ${b.conflicts} version conflicts for ${b.writers - 1} losing edits`);
  }
  if (r.config.contention && r.bursts !== undefined && r.bursts.length === 0)
    f.push('contention: no race was run');
  if (r.restart?.wanted && r.restart.restarts < 1)
    f.push('the server was to be killed and restarted, and was not');
  return f;
}
