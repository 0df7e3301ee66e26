import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import {
  APPROVE,
  CHANGE_FIELDS,
  type Change,
  cast,
  createChange,
  gqlError,
  gqlOk,
  OVERRIDE,
  REJECT,
  submit,
} from '../helpers/changes';

/**
 * One person, one vote: an API key is its owner for segregation of duties, CAB votes and emergency
 * overrides are acts of a person, and re-assessing risk never decides a change. Each case is the
 * attack the outside review ran against `wrangler dev`.
 */

const HIGH = { impact: 'HIGH', urgency: 'HIGH', affectedServices: ['api', 'web', 'worker'] };

const CREATE_KEY = `mutation($name: String!, $roles: [Role!]!, $delegatedVoting: Boolean) {
  createApiKey(name: $name, roles: $roles, delegatedVoting: $delegatedVoting) {
    secret apiKey { id ownerId ownerRoles delegatedVoting roles } } }`;

interface Key {
  secret: string;
  apiKey: { id: string; ownerId: string; ownerRoles: string[]; delegatedVoting: boolean; roles: string[] };
}

async function mintKey(by: string, roles: string[], delegatedVoting?: boolean, name = 'voting key') {
  const data = await gqlOk<{ createApiKey: Key }>(CREATE_KEY, { name, roles, delegatedVoting }, by);
  return data.createApiKey;
}

type VoteResult = { change: Change; approvalsReceived: number; approvalsRequired: number };
const vote = async (tok: string, id: string) =>
  (await gqlOk<{ approveChange: VoteResult }>(APPROVE, { id, comment: 'ok' }, tok)).approveChange;

const read = async (tok: string, id: string) =>
  (
    await gqlOk<{ change: Omit<Change, 'approvals'> & { approvals: { apiKeyId: string | null }[] } }>(
      `query($id: ID!) { change(id: $id) { ${CHANGE_FIELDS} approvals { apiKeyId } } }`,
      { id },
      tok,
    )
  ).change;

/** A second admin, "ann", who is not the requester of anything here. */
const ann = (tenant: string) => token({ sub: 'ann', tenant, roles: ['admin'], name: 'Ann Admin' });

describe('one person, one vote', () => {
  it('an admin cannot approve their own HIGH-risk change through three approver keys', async () => {
    const c = await cast('vote-own-keys');
    const mine = await createChange(c.admin, HIGH);
    const pending = await submit(c.admin, mine.id);
    expect(pending).toMatchObject({ status: 'PENDING_APPROVAL', riskLevel: 'HIGH' });

    // Keys without delegation cannot vote at all.
    const plain = await Promise.all([1, 2, 3].map(() => mintKey(c.admin, ['approver'])));
    expect(plain[0]?.apiKey).toMatchObject({
      ownerId: 'root',
      ownerRoles: ['admin'],
      delegatedVoting: false,
    });
    for (const k of plain) {
      const refused = await gqlError(APPROVE, { id: pending.id }, k.secret);
      expect(refused).toMatchObject({ code: 'APPROVAL_REQUIRES_PERSON', status: 403 });
      expect(refused.message).toMatch(/act of a person/);
      const rejection = await gqlError(REJECT, { id: pending.id, reason: 'Through a plain key' }, k.secret);
      expect(rejection).toMatchObject({ code: 'APPROVAL_REQUIRES_PERSON', status: 403 });
    }
    // Delegated keys are their owner: no vote, for or against, on the owner's own change.
    const delegated = await Promise.all([1, 2, 3].map(() => mintKey(c.admin, ['approver'], true)));
    for (const k of delegated) {
      expect((await gqlError(APPROVE, { id: pending.id }, k.secret)).code).toBe('APPROVAL_SELF_APPROVAL');
      expect((await gqlError(REJECT, { id: pending.id, reason: 'Mine' }, k.secret)).code).toBe(
        'APPROVAL_SELF_APPROVAL',
      );
    }
    const after = await read(c.viewer, pending.id);
    expect(after).toMatchObject({ status: 'PENDING_APPROVAL', version: pending.version });
    expect(after.approvals).toEqual([]);
  });

  it("three delegated keys of one person are that person's one vote, with or without their token", async () => {
    const c = await cast('vote-three-keys');
    const annToken = await ann(c.tenant);
    const pending = await submit(c.requester, (await createChange(c.requester)).id);
    expect(pending.riskLevel).toBe('MEDIUM'); // needs 2 approvals

    const keys = await Promise.all([1, 2, 3].map(() => mintKey(annToken, ['approver'], true)));
    const first = await vote(keys[0]!.secret, pending.id);
    expect(first).toMatchObject({ approvalsReceived: 1, approvalsRequired: 2 });
    expect(first.change.status).toBe('PENDING_APPROVAL');
    expect(first.change.approvals).toEqual([
      { approver: { id: 'ann' }, decision: 'APPROVED', comment: 'ok', approverRoles: ['approver'] },
    ]);

    for (const tok of [keys[1]!.secret, keys[2]!.secret, annToken]) {
      const dup = await gqlError(APPROVE, { id: pending.id }, tok);
      expect(dup.code).toBe('APPROVAL_DUPLICATE_VOTE');
      expect(dup.message).toMatch(/one vote per person/);
    }
    // A rejection through another of her keys is still her second vote.
    expect((await gqlError(REJECT, { id: pending.id, reason: 'no' }, keys[1]!.secret)).code).toBe(
      'APPROVAL_DUPLICATE_VOTE',
    );
    const after = await read(c.viewer, pending.id);
    expect(after.status).toBe('PENDING_APPROVAL');
    expect(after.approvals.map((a) => a.apiKeyId)).toEqual([keys[0]!.apiKey.id]);

    // Another person completes the quorum.
    expect((await vote(c.approver1, pending.id)).change.status).toBe('APPROVED');
  });

  it("a vote through a delegated key carries only the key roles its owner's roles cover", async () => {
    const c = await cast('vote-intersection');
    // VERY_HIGH: 3 approvals including a change manager.
    const veryHigh = {
      ...HIGH,
      affectedServices: ['api', 'web', 'worker', 'db'],
      backoutPlan: null,
      testPlan: null,
    };
    const pending = await submit(c.requester, (await createChange(c.requester, veryHigh)).id);
    expect(pending.riskLevel).toBe('VERY_HIGH');

    // A key whose recorded owner roles are only `approver` (e.g. its owner was demoted before a
    // re-issue) may carry change_manager, but its votes do not.
    const k = await mintKey(c.admin, ['approver', 'change_manager'], true);
    await env.DB.prepare("UPDATE api_keys SET owner_id = 'pat', owner_roles = '[\"approver\"]' WHERE id = ?1")
      .bind(k.apiKey.id)
      .run();
    await vote(c.approver1, pending.id);
    await vote(c.approver2, pending.id);
    const third = await vote(k.secret, pending.id);
    expect(third.change.status).toBe('PENDING_APPROVAL');
    expect(third.change.approvals.at(-1)).toMatchObject({
      approver: { id: 'pat' },
      approverRoles: ['approver'],
    });

    // A key whose owner's roles cover none of its roles cannot vote.
    const none = await mintKey(c.admin, ['approver'], true);
    await env.DB.prepare("UPDATE api_keys SET owner_id = 'vic', owner_roles = '[\"viewer\"]' WHERE id = ?1")
      .bind(none.apiKey.id)
      .run();
    const refused = await gqlError(APPROVE, { id: pending.id }, none.secret);
    expect(refused.code).toBe('FORBIDDEN');

    // The change manager, in person, completes it.
    expect((await vote(c.manager, pending.id)).change.status).toBe('APPROVED');
  });

  it('delegated voting is granted only by an admin in person, never through a key', async () => {
    const c = await cast('vote-grant');
    const adminKey = await mintKey(c.admin, ['admin'], false, 'admin automation');
    const refused = await gqlError(
      CREATE_KEY,
      { name: 'sneaky', roles: ['approver'], delegatedVoting: true },
      adminKey.secret,
    );
    expect(refused.code).toBe('FORBIDDEN');
    expect(refused.message).toMatch(/signed in as a person/);
    // Without delegation a key may mint keys; they belong to the same person.
    const child = await mintKey(adminKey.secret, ['approver']);
    expect(child.apiKey).toMatchObject({ ownerId: 'root', ownerRoles: ['admin'], delegatedVoting: false });
  });

  it("a change requested through a key is its owner's: the owner cannot vote on it in person", async () => {
    const c = await cast('vote-key-requests');
    const annToken = await ann(c.tenant);
    const bot = await mintKey(annToken, ['requester'], false, 'deploy bot');
    const created = await createChange(bot.secret);
    expect(created.requester.id).toBe('ann');
    const pending = await submit(bot.secret, created.id);
    expect((await gqlError(APPROVE, { id: pending.id }, annToken)).code).toBe('APPROVAL_SELF_APPROVAL');
    expect((await gqlError(REJECT, { id: pending.id, reason: 'Mine after all' }, annToken)).code).toBe(
      'APPROVAL_SELF_APPROVAL',
    );

    // Rows written before keys recorded their owner name the key as requester: still its owner's.
    await env.DB.prepare('UPDATE change_requests SET requester_id = ?1, version = version + 1 WHERE id = ?2')
      .bind(bot.apiKey.id, pending.id)
      .run();
    expect((await gqlError(APPROVE, { id: pending.id }, annToken)).code).toBe('APPROVAL_SELF_APPROVAL');
    expect((await vote(c.approver1, pending.id)).approvalsReceived).toBe(1);
  });

  it('an emergency override is an act of a person, never on their own change', async () => {
    const c = await cast('vote-override');
    const annToken = await ann(c.tenant);
    const emergency = { type: 'EMERGENCY', title: 'Patch the actively exploited CVE' };
    const justification = 'Actively exploited in the wild; vendor patch verified on staging.';

    const plain = await mintKey(c.admin, ['admin']);
    const theirs = await createChange(c.requester, emergency);
    const refused = await gqlError(OVERRIDE, { id: theirs.id, justification }, plain.secret);
    expect(refused).toMatchObject({ code: 'APPROVAL_REQUIRES_PERSON', status: 403 });

    // Ann's own change, overridden through her delegated admin key: her own change.
    const annsKey = await mintKey(annToken, ['admin'], true);
    const own = await createChange(annToken, emergency);
    expect((await gqlError(OVERRIDE, { id: own.id, justification }, annsKey.secret)).code).toBe(
      'APPROVAL_SELF_APPROVAL',
    );
    // A delegated key without admin among its roles cannot override either.
    const approverKey = await mintKey(annToken, ['approver'], true);
    expect((await gqlError(OVERRIDE, { id: theirs.id, justification }, approverKey.secret)).code).toBe(
      'FORBIDDEN',
    );
    // Rita's change, overridden by Ann through her delegated key: allowed.
    const done = await gqlOk<{ emergencyOverride: Change }>(
      OVERRIDE,
      { id: theirs.id, justification },
      annsKey.secret,
    );
    expect(done.emergencyOverride.status).toBe('APPROVED');
  });
});

const ASSESS = `mutation($id: ID!) { assessRisk(id: $id) { change { id status version riskLevel } score level } }`;

describe('assessRisk', () => {
  it("on someone else's change needs change_manager", async () => {
    const c = await cast('risk-others');
    const other = await token({ sub: 'ron', tenant: c.tenant, roles: ['requester'], name: 'ron' });
    const draft = await createChange(c.requester);
    for (const tok of [other, c.approver1, c.viewer]) {
      expect((await gqlError(ASSESS, { id: draft.id }, tok)).code).toBe('FORBIDDEN');
    }
    const byOwner = await gqlOk<{ assessRisk: { change: Change } }>(ASSESS, { id: draft.id }, c.requester);
    expect(byOwner.assessRisk.change.version).toBe(draft.version + 1);
    const byManager = await gqlOk<{ assessRisk: { change: Change } }>(ASSESS, { id: draft.id }, c.manager);
    expect(byManager.assessRisk.change.version).toBe(draft.version + 2);
    // Nothing was written by the refused attempts.
    const log = await gqlOk<{ auditLog: { nodes: { action: string }[] } }>(
      'query($t: ID) { auditLog(targetId: $t) { nodes { action } } }',
      { t: draft.id },
      c.admin,
    );
    expect(log.auditLog.nodes.filter((n) => n.action === 'change.risk_assessed')).toHaveLength(2);
  });

  it('re-assessing a pending change changes its quorum but never decides it; the next vote does', async () => {
    const c = await cast('risk-pending');
    const pending = await submit(c.requester, (await createChange(c.requester)).id);
    expect(pending.riskLevel).toBe('MEDIUM');
    // Stored as HIGH (3 approvals), as if assessed before the service's history improved.
    await env.DB.prepare(
      "UPDATE change_requests SET risk_level = 'HIGH', risk_score = 50, version = version + 1 WHERE id = ?1",
    )
      .bind(pending.id)
      .run();
    expect((await vote(c.approver1, pending.id)).approvalsRequired).toBe(3);
    expect((await vote(c.approver2, pending.id)).change.status).toBe('PENDING_APPROVAL');

    // Re-assessed to MEDIUM: two approvals would now suffice, but assessRisk does not decide.
    const reassessed = await gqlOk<{ assessRisk: { change: Change; level: string } }>(
      ASSESS,
      { id: pending.id },
      c.requester,
    );
    expect(reassessed.assessRisk.level).toBe('MEDIUM');
    expect(reassessed.assessRisk.change.status).toBe('PENDING_APPROVAL');
    // The next vote is judged against the new quorum, through the path that decides.
    const third = await vote(c.approver3, pending.id);
    expect(third).toMatchObject({ approvalsRequired: 2, change: { status: 'APPROVED' } });
  });
});

describe('executions started through a key', () => {
  it("record the key's owner as the person who caused them", async () => {
    const c = await cast('vote-caused-by');
    const bot = await mintKey(c.admin, ['change_manager'], false, 'ops bot');
    const created = await gqlOk<{ createWorkflow: { id: string } }>(
      `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`,
      { input: { name: 'noop', steps: [{ id: 'x', type: 'transform', spec: { value: 1 } }] } },
      c.manager,
    );
    const run = await gqlOk<{ executeWorkflow: { causedBy: string | null; createdBy: string } }>(
      'mutation($w: ID!) { executeWorkflow(workflowId: $w) { causedBy createdBy } }',
      { w: created.createWorkflow.id },
      bot.secret,
    );
    expect(run.executeWorkflow).toEqual({ causedBy: 'root', createdBy: bot.apiKey.id });
  });
});
