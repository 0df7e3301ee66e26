import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createWorkflow } from '../execution/helpers';
import { changeInState, gqlOk, submit } from '../helpers/changes';
import { createTemplate } from '../helpers/templates';
import {
  auditRows,
  CREATE_INTEGRATION,
  createIntegration,
  DISABLE,
  deployTemplate,
  freshCast,
  genericBody,
  getChange,
  githubDeployment,
  gql,
  LIST,
  ROTATE,
  sendGeneric,
  sendGitHub,
  UPDATE,
} from './helpers';

/** Managing integrations: admins only, audited, the secret shown once; and no runbook for a deployed change. */

const codes = (r: { errors?: { extensions?: { code?: string } }[] }) =>
  r.errors?.map((e) => e.extensions?.code);

describe('deployment integrations', () => {
  it('shows the secret once: never listed, never in the audit trail, never stored in the clear', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GENERIC');
    expect(i.secret).toMatch(/^cfdep_[0-9a-f]{64}$/);
    const listed = await gqlOk<{ deploymentIntegrations: Record<string, unknown>[] }>(LIST, {}, c.admin);
    expect(listed.deploymentIntegrations).toEqual([
      expect.objectContaining({
        id: i.id,
        kind: 'GENERIC',
        status: 'ACTIVE',
        secretVersion: 1,
        createdBy: 'root',
      }),
    ]);
    expect(JSON.stringify(listed)).not.toContain(i.secret);
    const noSecretField = await gql('query { deploymentIntegrations { id secret } }', {}, { token: c.admin });
    expect(codes(noSecretField)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    const rotated = await gqlOk<{ rotateDeploymentIntegrationSecret: { secret: string } }>(
      ROTATE,
      { id: i.id },
      c.admin,
    );
    const newSecret = rotated.rotateDeploymentIntegrationSecret.secret;
    expect(newSecret).not.toBe(i.secret);
    const audit = JSON.stringify(await auditRows(c.tenant));
    expect(audit).toContain('deployment_integration.created');
    expect(audit).toContain('deployment_integration.secret_rotated');
    for (const s of [i.secret, newSecret, i.secret.slice(6), newSecret.slice(6)])
      expect(audit).not.toContain(s);
    const row = JSON.stringify(
      await env.DB.prepare('SELECT * FROM deployment_integrations WHERE id = ?1').bind(i.id).first(),
    );
    for (const s of [i.secret, newSecret, newSecret.slice(6)]) expect(row).not.toContain(s);

    // The old secret stops verifying at once; the new one works.
    const old = await sendGeneric(i, genericBody());
    expect([old.status, old.body.error?.code]).toEqual([401, 'DEPLOYMENT_SIGNATURE_INVALID']);
    const fresh = await sendGeneric({ id: i.id, secret: newSecret }, genericBody());
    expect(fresh.status).toBe(200);
  });

  it('only admins manage integrations; other roles get FORBIDDEN and change nothing', async () => {
    const c = await freshCast();
    const i = await createIntegration(c, 'GITHUB');
    const before = await auditRows(c.tenant);
    for (const tok of [c.viewer, c.requester, c.approver1, c.manager]) {
      const attempts = [
        gql(CREATE_INTEGRATION, { name: 'sneaky', kind: 'GITHUB', environments: [] }, { token: tok }),
        gql(ROTATE, { id: i.id }, { token: tok }),
        gql(UPDATE, { id: i.id, name: 'renamed' }, { token: tok }),
        gql(DISABLE, { id: i.id }, { token: tok }),
        gql(LIST, {}, { token: tok }),
      ];
      for (const r of await Promise.all(attempts)) expect(codes(r)).toEqual(['FORBIDDEN']);
    }
    expect(await auditRows(c.tenant)).toEqual(before);
    // Anyone in the tenant reads the deployments themselves.
    const read = await gql('query { deployments { nodes { id } } }', {}, { token: c.viewer });
    expect(read.errors).toBeUndefined();
  });

  it("validates the mapping: a template of the tenant, ACTIVE, whose title a deployment can fill in; not another tenant's", async () => {
    const c = await freshCast();
    const other = await freshCast();
    const foreign = await deployTemplate(other.manager);
    const service = await createTemplate(c.manager); // its title needs {{service}}
    const good = await deployTemplate(c.manager);
    const cases: [unknown[], string][] = [
      [[{ environment: 'production', templateId: foreign.id }], 'does not exist'],
      [[{ environment: 'production', templateId: service.id }], 'service'],
      [
        [
          { environment: 'production', templateId: good.id },
          { environment: 'Production', templateId: good.id },
        ],
        'mapped twice',
      ],
    ];
    for (const [environments, message] of cases) {
      const r = await gql(
        CREATE_INTEGRATION,
        { name: 'pipeline', kind: 'GENERIC', environments },
        { token: c.admin },
      );
      expect(codes(r)).toEqual(['VALIDATION_FAILED']);
      expect(r.errors?.[0]?.message).toContain(message);
    }
    const i = await createIntegration(c, 'GENERIC', { templateId: good.id });
    const unknown = await gql(ROTATE, { id: i.id }, { token: other.admin });
    expect(codes(unknown)).toEqual(['DEPLOYMENT_INTEGRATION_NOT_FOUND']);
    const renamed = await gqlOk<{ updateDeploymentIntegration: { name: string; environments: unknown[] } }>(
      UPDATE,
      { id: i.id, name: 'renamed', environments: [{ environment: 'staging', templateId: good.id }] },
      c.admin,
    );
    expect(renamed.updateDeploymentIntegration).toMatchObject({
      name: 'renamed',
      environments: [{ environment: 'staging', templateId: good.id }],
    });
    await gqlOk(DISABLE, { id: i.id }, c.admin);
    const again = await gql(DISABLE, { id: i.id }, { token: c.admin });
    expect(codes(again)).toEqual(['DEPLOYMENT_INTEGRATION_DISABLED']);
    const actions = (await auditRows(c.tenant)).filter((e) => e.target_id === i.id).map((e) => e.action);
    expect(actions).toEqual([
      'deployment_integration.created',
      'deployment_integration.updated',
      'deployment_integration.disabled',
    ]);
  });
});

describe('a change a deployment implements runs no runbook', () => {
  const EXECUTIONS_OF = `query($changeId: String) { executions(filter: { changeId: $changeId }) { nodes { id trigger } } }`;
  const settle = () => new Promise((r) => setTimeout(r, 300));

  it('neither on pre-approval nor on implementation, while the same template raised by hand does run it', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [{ id: 'echo', type: 'transform', spec: { value: 1 } }], {
      triggers: [{ type: 'change-approved' }, { type: 'manual' }],
    });
    const t = await deployTemplate(c.manager, { runbookWorkflowId: wf });
    const executionsOf = async (changeId: string) =>
      (await gqlOk<{ executions: { nodes: unknown[] } }>(EXECUTIONS_OF, { changeId }, c.viewer)).executions
        .nodes;

    // The control: raised by hand, its LOW change is pre-approved and its runbook starts.
    const byHand = await gqlOk<{ createChangeFromTemplate: { id: string } }>(
      `mutation($t: ID!, $input: CreateChangeFromTemplateInput!) { createChangeFromTemplate(templateId: $t, input: $input) { id } }`,
      {
        t: t.id,
        input: {
          titleVariables: [
            { name: 'ref', value: 'main' },
            { name: 'environment', value: 'production' },
          ],
          plannedStart: new Date(Date.now() + 86_400_000).toISOString(),
          plannedEnd: new Date(Date.now() + 90_000_000).toISOString(),
        },
      },
      c.requester,
    );
    expect((await submit(c.requester, byHand.createChangeFromTemplate.id)).status).toBe('APPROVED');
    expect(await executionsOf(byHand.createChangeFromTemplate.id)).toHaveLength(1);

    const i = await createIntegration(c, 'GITHUB', { templateId: t.id });
    const payload = githubDeployment();
    const r = await sendGitHub(i, 'deployment', payload);
    expect(r.body).toMatchObject({ allowed: true, status: 'SCHEDULED' });
    const changeId = r.body.changeId as string;
    await settle();
    expect(await executionsOf(changeId)).toEqual([]);
    const started = await sendGitHub(i, 'deployment_status', {
      deployment_status: { state: 'in_progress' },
      deployment: payload.deployment,
    });
    expect(started.body).toMatchObject({ allowed: true, status: 'IMPLEMENTING' });
    await settle();
    expect(await executionsOf(changeId)).toEqual([]);
    expect((await getChange(c.viewer, changeId)).status).toBe('IMPLEMENTING');
  });

  it('nor for a change with a runbook a change manager attached, named in the payload', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [{ id: 'echo', type: 'transform', spec: { value: 1 } }], {
      triggers: [{ type: 'manual' }],
    });
    const scheduled = await changeInState(c, 'SCHEDULED');
    await env.DB.prepare(
      "UPDATE change_requests SET runbook_workflow_id = ?1, runbook_attached_by = 'max', version = version + 1 WHERE id = ?2",
    )
      .bind(wf, scheduled.id)
      .run();
    const i = await createIntegration(c, 'GENERIC');
    const r = await sendGeneric(i, genericBody({ changeId: scheduled.id }));
    expect(r.body).toMatchObject({ allowed: true, changeId: scheduled.id, status: 'IMPLEMENTING' });
    expect(
      (await gqlOk<{ executions: { nodes: unknown[] } }>(EXECUTIONS_OF, { changeId: scheduled.id }, c.viewer))
        .executions.nodes,
    ).toEqual([]);
  });
});
