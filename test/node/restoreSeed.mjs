// A tenant with every kind of row an export holds, written the way users write them (GraphQL);
// what only a migration or the Worker's engine writes is inserted as they would.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { graphqlOk } from './graphqlOk.mjs';

const ROOT = join(import.meta.dirname, '../..');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');

/** `npm run restore -- …`, as npm runs it. */
export function restoreCli(args) {
  const run = spawnSync(process.execPath, [TSX, join(ROOT, 'scripts/restore.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const change = (title) => ({
  title,
  description: 'Minor version upgrade of Postgres on the payments cluster.',
  type: 'NORMAL',
  impact: 'MEDIUM',
  urgency: 'MEDIUM',
  affectedServices: ['payments-db', 'ledger'],
  implementationPlan: 'Fail over, upgrade the replica, fail back.',
  backoutPlan: 'Fail back to the old primary.',
  testPlan: 'Run the smoke suite against the cluster.',
});

export async function seedEveryKindOfRow({ base, secret, tenant, admin, db }) {
  const gql = graphqlOk(base, admin);
  const bob = await signDevToken({ secret, sub: 'bob', tenant, roles: ['approver'] });
  const other = await signDevToken({ secret, sub: 'eve', tenant: 'other', roles: ['admin'] });

  const { createChangeRequest: c } = await gql(
    'mutation($i: CreateChangeRequestInput!) { createChangeRequest(input: $i) { id } }',
    { i: change('Upgrade Postgres') },
  );
  await gql('mutation($id: ID!) { submitChange(id: $id) { id status } }', { id: c.id });
  await graphqlOk(base, bob)('mutation($id: ID!) { approveChange(id: $id, comment: "ok") { __typename } }', {
    id: c.id,
  });
  await gql('mutation { tagService(name: "payments-db", tags: ["tier-1"]) { name } }');
  await gql('mutation { setEgressPolicy(allowedHosts: ["api.example.com"]) { allowedHosts } }');
  await gql(
    'mutation { setWorkflowSecret(name: "UPSTREAM", value: "restore-test-upstream-token", allowedHosts: ["api.example.com"]) { name } }',
  );
  await gql('mutation { createApiKey(name: "ci-deploy", roles: [viewer]) { secret } }');
  await gql(
    `mutation($s: DateTime!, $e: DateTime!) { createFreezeWindow(name: "Year end", startsAt: $s, endsAt: $e, reason: "close") { id } }`,
    { s: '2027-12-20T00:00:00Z', e: '2028-01-03T00:00:00Z' },
  );
  const { createWorkflow: w } = await gql(
    'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id version } }',
    { i: { name: 'Rotate', steps: [{ id: 'shape', type: 'transform', spec: { value: 'done' } }] } },
  );
  await gql(
    'mutation($id: ID!, $i: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $i) { version } }',
    {
      id: w.id,
      i: {
        description: 'Rotates the certificate',
        steps: [{ id: 'shape', type: 'transform', spec: { value: 'ok' } }],
      },
    },
  );
  const { createStandardChangeTemplate: t } = await gql(
    'mutation($i: CreateStandardChangeTemplateInput!) { createStandardChangeTemplate(input: $i) { id } }',
    {
      i: {
        name: 'TLS rotation',
        titlePattern: 'Rotate TLS cert for {{service}}',
        titleVariables: ['service'],
        description: 'Routine certificate rotation.',
        affectedServices: ['edge'],
        implementationPlan: 'Run the rotation runbook.',
        backoutPlan: 'Restore the previous bundle.',
        testPlan: 'Check the expiry date served.',
        riskLevel: 'LOW',
      },
    },
  );
  await gql(
    'mutation($id: ID!, $i: UpdateStandardChangeTemplateInput!) { updateStandardChangeTemplate(id: $id, input: $i) { id } }',
    { id: t.id, i: { description: 'Routine certificate rotation, quarterly.' } },
  );
  // An ended execution and its step run, written as the engine writes them (a run of its own would
  // make the seed wait for it).
  const at = new Date().toISOString();
  await db.batch([
    db
      .prepare(
        `INSERT INTO workflow_executions (id, tenant_id, workflow_id, workflow_version, status, trigger, inputs,
           outputs, created_by, created_at, started_at, ended_at, updated_at)
         VALUES ('exe_1', ?1, ?2, 2, 'SUCCEEDED', 'MANUAL', '{}', '{"value":"ok"}', 'alice', ?3, ?3, ?3, ?3)`,
      )
      .bind(tenant, w.id, at),
    db
      .prepare(
        `INSERT INTO workflow_step_runs (execution_id, tenant_id, step_index, step_id, type, status, attempts,
           started_at, ended_at, output)
         VALUES ('exe_1', ?1, 0, 'shape', 'transform', 'SUCCEEDED', 1, ?2, ?2, '"ok"')`,
      )
      .bind(tenant, at),
  ]);
  await db
    .prepare(
      `INSERT INTO change_migrations (tenant_id, change_id, migration, before_json, after_json, migrated_at)
       VALUES (?1, ?2, '0009_standard_requires_template', '{"type":"STANDARD"}', '{"type":"NORMAL"}', ?3)`,
    )
    .bind(tenant, c.id, new Date().toISOString())
    .run();
  await gql('mutation { setRetentionPolicy(stepOutputDays: 30) { stepOutputDays } }');
  // An outgoing webhook endpoint (its signing secret sealed), on the tenant's egress allow-list.
  await gql(
    'mutation { createWebhookEndpoint(url: "https://api.example.com/hooks", events: ["change.completed"]) { endpoint { id } } }',
  );
  // A CI/CD integration, and a deployment it blocked with the claim of its delivery, as the hook
  // writes them (test/deployments drives the hook itself).
  const { createStandardChangeTemplate: deploy } = await gql(
    'mutation($i: CreateStandardChangeTemplateInput!) { createStandardChangeTemplate(input: $i) { id } }',
    {
      i: {
        name: 'Application deployment',
        titlePattern: 'Deploy {{ref}} to {{environment}}',
        titleVariables: ['ref', 'environment'],
        description: 'A deployment from the pipeline.',
        affectedServices: ['edge'],
        implementationPlan: 'The pipeline deploys.',
        backoutPlan: 'The pipeline redeploys the previous release.',
        testPlan: 'Smoke tests in the pipeline.',
        riskLevel: 'LOW',
      },
    },
  );
  const { createDeploymentIntegration: integration } = await gql(
    'mutation($e: [DeploymentEnvironmentInput!]!) { createDeploymentIntegration(name: "pipeline", kind: GENERIC, environments: $e) { integration { id } } }',
    { e: [{ environment: 'production', templateId: deploy.id }] },
  );
  const integrationId = integration.integration.id;
  await db.batch([
    db
      .prepare(
        `INSERT INTO deployments (id, tenant_id, integration_id, external_id, environment, commit_sha, ref, url,
           status, change_id, change_created, blocked_code, blocked_reason, created_at, updated_at)
         VALUES ('dep_1', ?1, ?2, 'build-42', 'production', 'abc123', 'main', NULL, 'BLOCKED', NULL, 0,
           'DEPLOYMENT_FREEZE_WINDOW', 'Year end', ?3, ?3)`,
      )
      .bind(tenant, integrationId, at),
    db
      .prepare(
        `INSERT INTO deployment_deliveries (integration_id, delivery_key, tenant_id, deployment_id, received_at)
         VALUES (?1, 'delivery-42', ?2, 'dep_1', ?3)`,
      )
      .bind(integrationId, tenant, at),
  ]);
  // A version-1 redaction is only made by erasing events older than hash version 2, which the
  // service no longer writes (test/retention covers it); its row is written as erasure stores it.
  await db
    .prepare(
      `INSERT INTO audit_redactions (tenant_id, seq, hash, redacted_hash, record_seq)
       SELECT tenant_id, seq, hash, hash, seq + 1 FROM audit_events WHERE tenant_id = ?1 AND seq = 1`,
    )
    .bind(tenant)
    .run();
  await gql('mutation { createAuditDigest { created } }');
  // Another tenant's rows, which the export must leave out.
  await graphqlOk(base, other)(
    'mutation($i: CreateChangeRequestInput!) { createChangeRequest(input: $i) { id } }',
    {
      i: change('Not acme'),
    },
  );
}
