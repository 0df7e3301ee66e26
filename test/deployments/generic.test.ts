import { describe, expect, it } from 'vitest';
import docs from '../../docs/deployments.md?raw';
import { changeInState, gqlOk } from '../helpers/changes';
import {
  auditRows,
  createIntegration,
  freshCast,
  genericBody,
  getChange,
  post,
  sendGeneric,
} from './helpers';

/** The generic signed JSON shape of docs/deployments.md: a pipeline step gates on the answer. */

const encoder = new TextEncoder();

/**
 * The documented signing steps, done here independently of the server's code: HMAC-SHA256 with the
 * secret over `<timestamp>.<body>`, hex, prefixed `sha256=`.
 */
async function documentedSignature(secret: string, timestamp: number, body: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`${timestamp}.${body}`)));
  return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

describe('generic deployments', () => {
  it('the documented example signs as the docs say, and is allowed: started → IMPLEMENTING through SCHEDULED', async () => {
    // The docs sign exactly "<timestamp>.<body>" with openssl, and send these two headers.
    expect(docs).toContain('printf \'%s.%s\' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET"');
    expect(docs).toContain('X-ChangeFlow-Timestamp: $TS');
    expect(docs).toContain('X-ChangeFlow-Signature: sha256=$SIG');
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC');
    const body = JSON.stringify(genericBody());
    const ts = Math.floor(Date.now() / 1000);
    const r = await post(i.id, body, {
      'x-changeflow-timestamp': String(ts),
      'x-changeflow-signature': await documentedSignature(i.secret, ts, body),
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ allowed: true, status: 'IMPLEMENTING' });
    const actions = (await auditRows(c.tenant))
      .filter((e) => e.target_id === r.body.changeId)
      .map((e) => e.action);
    expect(actions).toEqual([
      'change.created',
      'change.submitted.pre_approved',
      'change.scheduled',
      'change.implementation_started',
    ]);
  });

  it('succeeded completes and failed fails the change; a window is scheduled as given', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC');
    const start = new Date(Date.now() + 3_600_000).toISOString();
    const end = new Date(Date.now() + 7_200_000).toISOString();
    const ok = genericBody({ window: { start, end } });
    const first = await sendGeneric(i, ok);
    expect(first.body).toMatchObject({ allowed: true, status: 'IMPLEMENTING' });
    expect((await getChange(c.viewer, first.body.changeId as string)).plannedStart).toBe(start);
    const done = await sendGeneric(i, { ...ok, status: 'succeeded' });
    expect(done.body).toMatchObject({ allowed: true, changeId: first.body.changeId, status: 'COMPLETED' });

    // A failure reported straight away still passes IMPLEMENTING.
    const bad = genericBody({ status: 'failed' });
    const failed = await sendGeneric(i, bad);
    expect(failed.body).toMatchObject({ allowed: true, status: 'FAILED' });
    const actions = (await auditRows(c.tenant))
      .filter((e) => e.target_id === failed.body.changeId)
      .map((e) => e.action);
    expect(actions.slice(-3)).toEqual(['change.scheduled', 'change.implementation_started', 'change.failed']);
  });

  it('refuses a stale or future timestamp, a bad signature, a missing one, and a replay', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC');
    const body = genericBody();
    const stale = await sendGeneric(i, body, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect([stale.status, stale.body.error?.code]).toEqual([401, 'DEPLOYMENT_TIMESTAMP_STALE']);
    const future = await sendGeneric(i, body, { timestamp: Math.floor(Date.now() / 1000) + 600 });
    expect(future.body.error?.code).toBe('DEPLOYMENT_TIMESTAMP_STALE');
    const wrong = await sendGeneric(i, body, { secret: 'not-the-secret' });
    expect([wrong.status, wrong.body.error?.code]).toEqual([401, 'DEPLOYMENT_SIGNATURE_INVALID']);
    const missing = await sendGeneric(i, body, { signature: null });
    expect([missing.status, missing.body.error?.code]).toEqual([400, 'DEPLOYMENT_SIGNATURE_MISSING']);

    const ts = Math.floor(Date.now() / 1000);
    const raw = JSON.stringify(body);
    const signature = await documentedSignature(i.secret, ts, raw);
    const once = await sendGeneric(i, null, { raw, timestamp: ts, signature });
    expect(once.status).toBe(200);
    const before = await auditRows(c.tenant);
    const replay = await sendGeneric(i, null, { raw, timestamp: ts, signature });
    expect([replay.status, replay.body.error?.code]).toEqual([409, 'DEPLOYMENT_REPLAYED']);
    expect(await auditRows(c.tenant)).toEqual(before);
  });

  it('refuses bodies that are not the documented shape, naming the field', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC');
    const cases: [unknown, string][] = [
      [[1, 2], 'body'],
      [genericBody({ status: 'deployed' }), 'status'],
      [genericBody({ commit: undefined }), 'commit'],
      [genericBody({ deploymentId: { id: 1 } }), 'deploymentId'],
      [genericBody({ url: 'file:///etc/passwd' }), 'url'],
      [genericBody({ changeId: 'CHG 1; DROP' }), 'changeId'],
      [genericBody({ window: 'tomorrow' }), 'window'],
      [genericBody({ environment: 'prod\nuction' }), 'environment'],
    ];
    for (const [body, field] of cases) {
      const r = await sendGeneric(i, body);
      expect([r.status, r.body.error?.code]).toEqual([400, 'DEPLOYMENT_PAYLOAD_INVALID']);
      expect(r.body.error?.message.startsWith(field)).toBe(true);
    }
    const notJson = await sendGeneric(i, null, { raw: '{"deploymentId": "x",' });
    expect(notJson.body.error?.code).toBe('DEPLOYMENT_PAYLOAD_INVALID');
    expect((await auditRows(c.tenant)).filter((e) => e.action.startsWith('deployment.'))).toEqual([]);
  });

  it('answers blocked for an unknown environment, a change not approved, and a window that is not one', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC');
    const unknown = await sendGeneric(i, genericBody({ environment: 'qa' }));
    expect([unknown.status, unknown.body.allowed, unknown.body.code]).toEqual([
      409,
      false,
      'DEPLOYMENT_ENVIRONMENT_UNKNOWN',
    ]);
    const draft = await changeInState(c, 'DRAFT');
    const notApproved = await sendGeneric(i, genericBody({ changeId: draft.id }));
    expect(notApproved.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_CHANGE_NOT_APPROVED' });
    expect((await getChange(c.viewer, draft.id)).status).toBe('DRAFT');
    const past = new Date(Date.now() - 7_200_000).toISOString();
    const pastEnd = new Date(Date.now() - 3_600_000).toISOString();
    const window = await sendGeneric(i, genericBody({ window: { start: past, end: pastEnd } }));
    expect(window.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_WINDOW_INVALID' });
    const blocked = (await auditRows(c.tenant)).filter((e) => e.action === 'deployment.blocked');
    expect(blocked.map((e) => e.target_type)).toEqual(['deployment', 'deployment', 'deployment']);
    expect(blocked.map((e) => JSON.parse(e.after_json ?? '{}').code)).toEqual([
      'DEPLOYMENT_ENVIRONMENT_UNKNOWN',
      'DEPLOYMENT_CHANGE_NOT_APPROVED',
      'DEPLOYMENT_WINDOW_INVALID',
    ]);
  });

  it('blocks a deployment naming a change already under way or over, and leaves that change alone', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC');
    for (const state of ['IMPLEMENTING', 'COMPLETED'] as const) {
      const change = await changeInState(c, state);
      const r = await sendGeneric(i, genericBody({ changeId: change.id, status: 'succeeded' }));
      expect(r.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_CHANGE_NOT_APPROVED' });
      expect(r.body.reason).toContain(state);
      expect((await getChange(c.viewer, change.id)).status).toBe(state);
    }
  });

  it('a template whose risk is not LOW raises a change for the CAB and blocks until it is approved', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC', {
      templateId: (
        await gqlOk<{ createStandardChangeTemplate: { id: string } }>(
          `mutation($input: CreateStandardChangeTemplateInput!) { createStandardChangeTemplate(input: $input) { id } }`,
          {
            input: {
              name: 'Risky deployment',
              titlePattern: 'Deploy {{ref}}',
              titleVariables: ['ref'],
              description: 'A deployment the CAB looks at.',
              affectedServices: ['core'],
              impact: 'HIGH',
              urgency: 'HIGH',
              implementationPlan: 'Deploy.',
              backoutPlan: 'Roll back.',
              testPlan: 'Smoke tests.',
              riskLevel: 'HIGH',
            },
          },
          c.manager,
        )
      ).createStandardChangeTemplate.id,
    });
    const r = await sendGeneric(i, genericBody());
    expect(r.body).toMatchObject({ allowed: false, code: 'DEPLOYMENT_CHANGE_NOT_APPROVED' });
    expect(r.body.changeId).toEqual(expect.any(String));
    expect((await getChange(c.viewer, r.body.changeId as string)).status).toBe('PENDING_APPROVAL');
  });
});
