import { describe, expect, it } from 'vitest';
import {
  type Change,
  cast,
  changeInState,
  changeMutation,
  createChange,
  GET,
  gqlError,
  gqlOk,
  inDays,
  OVERRIDE,
  schedule,
  submit,
} from '../helpers/changes';

type Cast = Awaited<ReturnType<typeof cast>>;

const REVIEW = changeMutation('completeEmergencyReview', { notes: 'String!' });
const JUSTIFICATION = 'Card payments are failing for every customer; this hotfix restores them.';
const NOTES = 'Root cause found; the hotfix is now covered by a regression test.';
const HOURS_48 = 48 * 3600_000;

type Stamped = Change & { submittedAt: string | null };

async function read(tok: string, id: string): Promise<Stamped> {
  return (await gqlOk<{ change: Stamped }>(GET, { id }, tok)).change;
}

async function override(c: Cast, id: string, justification = JUSTIFICATION): Promise<Stamped> {
  return (await gqlOk<{ emergencyOverride: Stamped }>(OVERRIDE, { id, justification }, c.admin))
    .emergencyOverride;
}

async function auditActions(tok: string, id: string) {
  const data = await gqlOk<{ auditLog: { nodes: { action: string; actorId: string }[] } }>(
    `query($id: ID!) { auditLog(targetId: $id) { nodes { action actorId } } }`,
    { id },
    tok,
  );
  return data.auditLog.nodes.reverse();
}

const emergencyDraft = (c: Cast) =>
  createChange(c.requester, { type: 'EMERGENCY', impact: 'HIGH', urgency: 'HIGH' });

describe('emergencyOverride by an admin', () => {
  it('approves an EMERGENCY DRAFT at once, with the justification and a review due 48 h later', async () => {
    const c = await cast('emg-draft');
    const draft = await emergencyDraft(c);
    const approved = await override(c, draft.id);
    expect(approved).toMatchObject({
      status: 'APPROVED',
      type: 'EMERGENCY',
      version: 2,
      emergencyJustification: JUSTIFICATION,
      reviewedAt: null,
      approvals: [],
      // Assessed on the way: EMERGENCY 25 + HIGH impact 20 + HIGH urgency 10.
      riskScore: 55,
      riskLevel: 'HIGH',
      allowedTransitions: ['SCHEDULED', 'CANCELLED'],
    });
    expect(approved.approvedAt).not.toBeNull();
    expect(approved.submittedAt).toBe(approved.approvedAt);
    expect(Date.parse(approved.reviewDueAt ?? '')).toBe(Date.parse(approved.approvedAt ?? '') + HOURS_48);
    expect(await read(c.viewer, draft.id)).toEqual(approved);
    expect(await auditActions(c.viewer, draft.id)).toEqual([
      { action: 'change.created', actorId: 'rita' },
      { action: 'change.emergency_override', actorId: 'root' },
    ]);
  });

  it('approves an EMERGENCY change waiting for the CAB, keeping its submission time and risk', async () => {
    const c = await cast('emg-pending');
    const draft = await emergencyDraft(c);
    const pending = (await submit(c.requester, draft.id)) as Stamped;
    expect(pending.status).toBe('PENDING_APPROVAL');
    const approved = await override(c, draft.id);
    expect(approved).toMatchObject({
      status: 'APPROVED',
      submittedAt: pending.submittedAt,
      riskScore: pending.riskScore,
      emergencyJustification: JUSTIFICATION,
    });
    expect(Date.parse(approved.reviewDueAt ?? '')).toBe(Date.parse(approved.approvedAt ?? '') + HOURS_48);
  });

  it('leaves a change that can be scheduled and implemented like any approved one', async () => {
    const c = await cast('emg-then-schedule');
    const draft = await emergencyDraft(c);
    await override(c, draft.id);
    const result = await schedule(c.manager, draft.id, inDays(1, 10), inDays(1, 11));
    expect(result.change.status).toBe('SCHEDULED');
    expect(result.change.reviewDueAt).not.toBeNull();
  });

  it.each(['NORMAL'])('is refused for a %s change with EMERGENCY_NOT_ALLOWED', async (type) => {
    const c = await cast(`emg-not-emergency-${type}`);
    const pending = await changeInState(c, 'PENDING_APPROVAL', { type, impact: 'HIGH', urgency: 'HIGH' });
    const err = await gqlError(OVERRIDE, { id: pending.id, justification: JUSTIFICATION }, c.admin);
    expect(err.code).toBe('EMERGENCY_NOT_ALLOWED');
    expect(err.message).toContain(`is ${type}`);
    expect(await read(c.viewer, pending.id)).toMatchObject({
      status: 'PENDING_APPROVAL',
      version: pending.version,
      emergencyJustification: null,
      reviewDueAt: null,
    });
  });

  it.each(['requester', 'approver1', 'manager', 'viewer'] as const)(
    'is refused for a non-admin (%s) with FORBIDDEN',
    async (who) => {
      const c = await cast(`emg-forbidden-${who}`);
      const draft = await emergencyDraft(c);
      const err = await gqlError(OVERRIDE, { id: draft.id, justification: JUSTIFICATION }, c[who]);
      expect(err.code).toBe('FORBIDDEN');
      expect(err.status).toBe(403);
      expect(await read(c.viewer, draft.id)).toMatchObject({ status: 'DRAFT', version: 1 });
    },
  );

  it.each([
    ['too short', 'Urgent fix'],
    ['empty', ''],
  ])(
    'is refused with a %s justification (VALIDATION_FAILED naming justification)',
    async (what, justification) => {
      const c = await cast(`emg-justification-${what}`);
      const draft = await emergencyDraft(c);
      const err = await gqlError(OVERRIDE, { id: draft.id, justification }, c.admin);
      expect(err.code).toBe('VALIDATION_FAILED');
      expect(err.status).toBe(400);
      expect(err.message).toContain('justification');
      expect(await read(c.viewer, draft.id)).toMatchObject({
        status: 'DRAFT',
        version: 1,
        emergencyJustification: null,
      });
    },
  );

  it('is refused for the admin overriding their own change (APPROVAL_SELF_APPROVAL)', async () => {
    const c = await cast('emg-self');
    const own = await createChange(c.admin, { type: 'EMERGENCY' });
    const err = await gqlError(OVERRIDE, { id: own.id, justification: JUSTIFICATION }, c.admin);
    expect(err.code).toBe('APPROVAL_SELF_APPROVAL');
    expect(err.message).toContain('segregation of duties');
    expect(await read(c.viewer, own.id)).toMatchObject({ status: 'DRAFT', version: 1, approvedAt: null });
  });

  it.each(['REJECTED', 'CANCELLED'] as const)(
    'cannot revive a %s EMERGENCY change (CHANGE_INVALID_TRANSITION)',
    async (status) => {
      const c = await cast(`emg-dead-${status}`);
      const dead = await changeInState(c, status, { type: 'EMERGENCY' });
      const err = await gqlError(OVERRIDE, { id: dead.id, justification: JUSTIFICATION }, c.admin);
      expect(err.code).toBe('CHANGE_INVALID_TRANSITION');
      expect(err.message).toContain(`from ${status}`);
      expect(await read(c.viewer, dead.id)).toEqual(dead);
    },
  );
});

describe('completeEmergencyReview', () => {
  it('sets reviewedAt and audits the notes', async () => {
    const c = await cast('emg-review');
    const draft = await emergencyDraft(c);
    const approved = await override(c, draft.id);
    const data = await gqlOk<{ completeEmergencyReview: Change }>(
      REVIEW,
      { id: draft.id, notes: NOTES },
      c.manager,
    );
    const reviewed = data.completeEmergencyReview;
    expect(reviewed).toMatchObject({
      status: 'APPROVED',
      version: approved.version + 1,
      reviewDueAt: approved.reviewDueAt,
    });
    expect(reviewed.reviewedAt).not.toBeNull();
    expect(Date.parse(reviewed.reviewedAt ?? '')).toBeGreaterThanOrEqual(
      Date.parse(approved.approvedAt ?? ''),
    );
    expect((await read(c.viewer, draft.id)).reviewedAt).toBe(reviewed.reviewedAt);

    const log = await gqlOk<{ auditLog: { nodes: { action: string; after: unknown }[] } }>(
      `query($id: ID!) { auditLog(targetId: $id, first: 2) { nodes { action after } } }`,
      { id: draft.id },
      c.viewer,
    );
    expect(log.auditLog.nodes).toEqual([
      { action: 'change.emergency_reviewed', after: { reviewedAt: reviewed.reviewedAt } },
      { action: 'review.notes', after: { notes: NOTES } },
    ]);
  });

  it('is refused a second time (EMERGENCY_NOT_ALLOWED), keeping the first review', async () => {
    const c = await cast('emg-review-twice');
    const draft = await emergencyDraft(c);
    await override(c, draft.id);
    const first = await gqlOk<{ completeEmergencyReview: Change }>(
      REVIEW,
      { id: draft.id, notes: NOTES },
      c.manager,
    );
    const err = await gqlError(REVIEW, { id: draft.id, notes: 'A second opinion, much later.' }, c.manager);
    expect(err.code).toBe('EMERGENCY_NOT_ALLOWED');
    expect(err.message).toContain('already reviewed');
    expect(await read(c.viewer, draft.id)).toMatchObject({
      reviewedAt: first.completeEmergencyReview.reviewedAt,
      version: first.completeEmergencyReview.version,
    });
  });

  it('is refused for a change that was not overridden (EMERGENCY_NOT_ALLOWED)', async () => {
    const c = await cast('emg-review-normal');
    const approved = await changeInState(c, 'APPROVED', { type: 'EMERGENCY' });
    const err = await gqlError(REVIEW, { id: approved.id, notes: NOTES }, c.manager);
    expect(err.code).toBe('EMERGENCY_NOT_ALLOWED');
    expect(err.message).toContain('not approved by emergency override');
    expect((await read(c.viewer, approved.id)).reviewedAt).toBeNull();
  });

  it('needs a change manager (FORBIDDEN for the requester) and real notes (VALIDATION_FAILED)', async () => {
    const c = await cast('emg-review-refusals');
    const draft = await emergencyDraft(c);
    const approved = await override(c, draft.id);
    const forbidden = await gqlError(REVIEW, { id: draft.id, notes: NOTES }, c.requester);
    expect(forbidden.code).toBe('FORBIDDEN');
    const short = await gqlError(REVIEW, { id: draft.id, notes: 'ok' }, c.manager);
    expect(short.code).toBe('VALIDATION_FAILED');
    expect(short.message).toContain('notes');
    expect(await read(c.viewer, draft.id)).toMatchObject({ reviewedAt: null, version: approved.version });
  });
});
