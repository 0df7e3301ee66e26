import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { approve, approvedChange, changeInState, gqlOk } from '../helpers/changes';
import {
  auditRows,
  createIntegration,
  DEPLOYMENTS,
  freshCast,
  getChange,
  githubDeployment,
  githubSignature,
  githubStatus,
  post,
  sendGitHub,
} from './helpers';

/** GitHub's deployment webhooks at /hooks/deployments/:id: signatures, replays, the gate and the lifecycle. */

const CREATE_FREEZE = `mutation($name: String!, $startsAt: DateTime!, $endsAt: DateTime!) {
  createFreezeWindow(name: $name, startsAt: $startsAt, endsAt: $endsAt) { id } }`;

describe('GitHub deployments: signatures and deliveries', () => {
  it('answers ping with 200 once signed, and refuses an unsigned ping', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const ok = await sendGitHub(i, 'ping', { zen: 'Keep it logically awesome.' });
    expect([ok.status, ok.body.ok]).toEqual([200, true]);
    const unsigned = await sendGitHub(i, 'ping', { zen: 'x' }, { signature: null });
    expect([unsigned.status, unsigned.body.error?.code]).toEqual([400, 'DEPLOYMENT_SIGNATURE_MISSING']);
  });

  it('refuses missing, malformed, wrong and other-integration signatures, and a tampered body', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const other = await createIntegration(c, 'GITHUB');
    const payload = githubDeployment();
    const cases = [
      [await sendGitHub(i, 'deployment', payload, { signature: null }), 400, 'DEPLOYMENT_SIGNATURE_MISSING'],
      [
        await sendGitHub(i, 'deployment', payload, { signature: 'sha1=abc' }),
        400,
        'DEPLOYMENT_SIGNATURE_MISSING',
      ],
      [
        await sendGitHub(i, 'deployment', payload, { signature: `sha256=${'0'.repeat(64)}` }),
        401,
        'DEPLOYMENT_SIGNATURE_INVALID',
      ],
      [
        await sendGitHub(i, 'deployment', payload, { secret: other.secret }),
        401,
        'DEPLOYMENT_SIGNATURE_INVALID',
      ],
      [
        await sendGitHub(i, 'deployment', payload, { secret: 'guessed' }),
        401,
        'DEPLOYMENT_SIGNATURE_INVALID',
      ],
    ] as const;
    for (const [r, status, code] of cases) expect([r.status, r.body.error?.code]).toEqual([status, code]);
    // Signed for one body, sent with another.
    const signature = await githubSignature(i.secret, JSON.stringify(payload));
    const tampered = await sendGitHub(i, 'deployment', null, {
      signature,
      raw: JSON.stringify(githubDeployment({ environment: 'production', ref: 'evil' })),
    });
    expect([tampered.status, tampered.body.error?.code]).toEqual([401, 'DEPLOYMENT_SIGNATURE_INVALID']);
    const { results } = await env.DB.prepare('SELECT id FROM deployments WHERE integration_id = ?1')
      .bind(i.id)
      .all();
    expect(results).toEqual([]);
  });

  it("refuses another tenant's integration signed with this tenant's secret, and unknown or disabled ids alike", async () => {
    const a = await freshCast();
    const b = await freshCast();
    const mine = await createIntegration(a, 'GITHUB');
    const theirs = await createIntegration(b, 'GITHUB');
    const r = await sendGitHub({ id: theirs.id, secret: mine.secret }, 'deployment', githubDeployment());
    expect([r.status, r.body.error?.code]).toEqual([401, 'DEPLOYMENT_SIGNATURE_INVALID']);
    const unknown = await sendGitHub(
      { id: 'dpi_nope', secret: mine.secret },
      'deployment',
      githubDeployment(),
    );
    expect([unknown.status, unknown.body.error?.code]).toEqual([404, 'DEPLOYMENT_INTEGRATION_NOT_FOUND']);
    await gqlOk(
      'mutation($id: ID!) { disableDeploymentIntegration(id: $id) { id } }',
      { id: mine.id },
      a.admin,
    );
    const disabled = await sendGitHub(mine, 'deployment', githubDeployment());
    expect([disabled.status, disabled.body.error?.code]).toEqual([404, 'DEPLOYMENT_INTEGRATION_NOT_FOUND']);
    // Nothing of B's was touched.
    expect((await auditRows(b.tenant)).map((e) => e.action)).toEqual([
      'standard_change_template.created',
      'deployment_integration.created',
    ]);
  });

  it('refuses a replayed delivery id and changes nothing for it', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const payload = githubDeployment();
    const first = await sendGitHub(i, 'deployment', payload);
    expect(first.status).toBe(200);
    const before = await auditRows(c.tenant);
    const replay = await sendGitHub(i, 'deployment', payload, { delivery: first.delivery });
    expect([replay.status, replay.body.error?.code]).toEqual([409, 'DEPLOYMENT_REPLAYED']);
    // The same delivery id with another (validly signed) status is the same delivery too.
    const again = await sendGitHub(i, 'deployment_status', githubStatus(payload, 'success'), {
      delivery: first.delivery,
    });
    expect(again.body.error?.code).toBe('DEPLOYMENT_REPLAYED');
    expect(await auditRows(c.tenant)).toEqual(before);
    expect((await getChange(c.viewer, first.body.changeId as string)).status).toBe('SCHEDULED');
  });

  it('refuses non-JSON, a truncated body, a body that is not a deployment, and an oversized body', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const nonJson = await sendGitHub(i, 'deployment', null, { raw: 'deployment=1' });
    expect([nonJson.status, nonJson.body.error?.code]).toEqual([400, 'DEPLOYMENT_PAYLOAD_INVALID']);
    const whole = JSON.stringify(githubDeployment());
    // Cut short after signing: the signature no longer matches.
    const sig = await githubSignature(i.secret, whole);
    const cut = await sendGitHub(i, 'deployment', null, { raw: whole.slice(0, 40), signature: sig });
    expect([cut.status, cut.body.error?.code]).toEqual([401, 'DEPLOYMENT_SIGNATURE_INVALID']);
    // Cut short and signed as cut: not JSON.
    const cutSigned = await sendGitHub(i, 'deployment', null, { raw: whole.slice(0, 40) });
    expect(cutSigned.body.error?.code).toBe('DEPLOYMENT_PAYLOAD_INVALID');
    const noEnv = await sendGitHub(i, 'deployment', githubDeployment({ environment: '' }));
    expect(noEnv.body.error).toMatchObject({ code: 'DEPLOYMENT_PAYLOAD_INVALID' });
    expect(noEnv.body.error?.message).toContain('deployment.environment');
    const badState = await sendGitHub(i, 'deployment_status', githubStatus(githubDeployment(), 'exploded'));
    expect(badState.body.error?.message).toContain('deployment_status.state');
    const hostileUrl = await sendGitHub(i, 'deployment', githubDeployment({ url: 'javascript:alert(1)' }));
    expect(hostileUrl.body.error?.code).toBe('DEPLOYMENT_PAYLOAD_INVALID');
    const big = JSON.stringify(githubDeployment({ description: 'x'.repeat(200 * 1024) }));
    const tooBig = await post(i.id, big, {
      'x-github-event': 'deployment',
      'x-github-delivery': crypto.randomUUID(),
      'x-hub-signature-256': await githubSignature(i.secret, big),
    });
    expect([tooBig.status, tooBig.body.error?.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const other = await sendGitHub(i, 'push', { ref: 'main' });
    expect([other.status, other.body.ignored]).toEqual([202, true]);
    const { results } = await env.DB.prepare('SELECT id FROM deployments WHERE integration_id = ?1')
      .bind(i.id)
      .all();
    expect(results).toEqual([]);
  });
});

describe('GitHub deployments: the gate and the lifecycle', () => {
  it('raises a pre-approved standard change and walks it SCHEDULED → IMPLEMENTING → COMPLETED, all audited as the integration', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const payload = githubDeployment();
    const created = await sendGitHub(i, 'deployment', payload);
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ allowed: true, status: 'SCHEDULED' });
    const changeId = created.body.changeId as string;
    const change = await getChange(c.viewer, changeId);
    expect(change).toMatchObject({ type: 'STANDARD', templateId: i.templateId, requesterId: i.id });
    const started = await sendGitHub(i, 'deployment_status', githubStatus(payload, 'in_progress'));
    expect(started.body).toMatchObject({ allowed: true, changeId, status: 'IMPLEMENTING' });
    const done = await sendGitHub(i, 'deployment_status', githubStatus(payload, 'success'));
    expect(done.body).toMatchObject({ allowed: true, changeId, status: 'COMPLETED' });

    const trail = (await auditRows(c.tenant)).filter((e) => e.target_id === changeId);
    expect(trail.map((e) => e.action)).toEqual([
      'change.created',
      'change.submitted.pre_approved',
      'change.scheduled',
      'change.implementation_started',
      'change.completed',
    ]);
    for (const e of trail) expect([e.actor_id, e.actor_type, e.source]).toEqual([i.id, 'system', 'system']);
    const deployment = (
      await gqlOk<{ deployments: { nodes: Record<string, unknown>[] } }>(DEPLOYMENTS, { changeId }, c.viewer)
    ).deployments.nodes;
    expect(deployment).toEqual([
      expect.objectContaining({
        externalId: String(payload.deployment.id),
        commit: payload.deployment.sha,
        ref: 'main',
        url: 'https://shop.example.com/',
        status: 'SUCCEEDED',
        changeCreated: true,
      }),
    ]);
  });

  it('a failure status fails the change with the deployment named, after passing IMPLEMENTING', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const payload = githubDeployment();
    await sendGitHub(i, 'deployment', payload);
    const failed = await sendGitHub(i, 'deployment_status', githubStatus(payload, 'failure'));
    expect(failed.body).toMatchObject({ allowed: true, status: 'FAILED' });
    const change = await getChange(c.viewer, failed.body.changeId as string);
    expect(change.failureReason).toContain(String(payload.deployment.id));
    const actions = (await auditRows(c.tenant)).filter((e) => e.target_id === change.id).map((e) => e.action);
    expect(actions.slice(-2)).toEqual(['change.implementation_started', 'change.failed']);
  });

  it('blocks an unknown environment with deployment.blocked, and raises no change', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const r = await sendGitHub(i, 'deployment', githubDeployment({ environment: 'staging' }));
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_ENVIRONMENT_UNKNOWN', changeId: null });
    expect(r.body.reason).toContain('staging');
    const rows = await auditRows(c.tenant);
    const blocked = rows.filter((e) => e.action === 'deployment.blocked');
    expect(blocked).toEqual([
      expect.objectContaining({ target_type: 'deployment', target_id: r.body.deploymentId, actor_id: i.id }),
    ]);
    expect(rows.some((e) => e.action === 'change.created')).toBe(false);
  });

  it('blocks a deployment in a freeze window, and the change is never scheduled', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const now = Date.now();
    await gqlOk(
      CREATE_FREEZE,
      {
        name: 'Black Friday',
        startsAt: new Date(now - 3_600_000).toISOString(),
        endsAt: new Date(now + 86_400_000).toISOString(),
      },
      c.manager,
    );
    const payload = githubDeployment();
    const r = await sendGitHub(i, 'deployment', payload);
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_FREEZE_WINDOW' });
    expect(r.body.reason).toContain('Black Friday');
    const later = await sendGitHub(i, 'deployment_status', githubStatus(payload, 'in_progress'));
    expect(later.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_FREEZE_WINDOW' });
    const rows = await auditRows(c.tenant);
    expect(rows.filter((e) => e.action === 'deployment.blocked')).toHaveLength(2);
    expect(rows.some((e) => e.action.startsWith('change.'))).toBe(false);
  });

  it('blocks a deployment naming a change that is not approved, then lets it through once approved', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const pending = await changeInState(c, 'PENDING_APPROVAL');
    const payload = githubDeployment({}, { changeId: pending.id });
    const r = await sendGitHub(i, 'deployment', payload);
    expect(r.body).toMatchObject({
      allowed: false,
      code: 'DEPLOYMENT_CHANGE_NOT_APPROVED',
      changeId: pending.id,
    });
    expect((await getChange(c.viewer, pending.id)).status).toBe('PENDING_APPROVAL');
    const blocked = (await auditRows(c.tenant)).filter((e) => e.action === 'deployment.blocked');
    expect(JSON.parse(blocked[0]?.after_json ?? '{}')).toMatchObject({
      changeId: pending.id,
      code: 'DEPLOYMENT_CHANGE_NOT_APPROVED',
    });

    // The blocked deployment did not run under the change; once the CAB approves it, the pipeline retries.
    const row = await env.DB.prepare('SELECT change_id, status FROM deployments WHERE id = ?1')
      .bind(r.body.deploymentId)
      .first();
    expect(row).toEqual({ change_id: null, status: 'BLOCKED' });
    let decided = await getChange(c.viewer, pending.id);
    for (const voter of [c.approver1, c.approver2, c.manager]) {
      if (decided.status !== 'PENDING_APPROVAL') break;
      await approve(voter, pending.id);
      decided = await getChange(c.viewer, pending.id);
    }
    expect(decided.status).toBe('APPROVED');
    const retried = await sendGitHub(i, 'deployment', payload);
    expect(retried.body).toMatchObject({ allowed: true, changeId: pending.id, status: 'SCHEDULED' });

    const approved = await approvedChange(c);
    const ok = await sendGitHub(
      i,
      'deployment',
      githubDeployment({}, JSON.stringify({ changeId: approved.id })),
    );
    expect(ok.body).toMatchObject({ allowed: true, changeId: approved.id, status: 'SCHEDULED' });
    const missing = await sendGitHub(
      i,
      'deployment',
      githubDeployment({}, { changeId: 'CHG-20260101-NOPE00' }),
    );
    expect(missing.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_CHANGE_NOT_FOUND' });
  });

  it("cannot link another tenant's change: it does not exist here", async () => {
    const a = await freshCast();
    const b = await freshCast();
    const i = await createIntegration(a, 'GITHUB');
    const theirs = await approvedChange(b);
    const r = await sendGitHub(i, 'deployment', githubDeployment({}, { changeId: theirs.id }));
    expect(r.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_CHANGE_NOT_FOUND' });
    expect((await getChange(b.viewer, theirs.id)).status).toBe('APPROVED');
  });
});
