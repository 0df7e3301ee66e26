import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import {
  APPROVE,
  approvedChange,
  CANCEL,
  type Change,
  COMPLETE,
  CREATE,
  cast,
  changeInput,
  createChange,
  FAIL,
  GET,
  gql,
  gqlOk,
  inDays,
  OVERRIDE,
  REJECT,
  ROLL_BACK,
  SCHEDULE,
  START,
  SUBMIT,
  submit,
} from '../helpers/changes';
import type { GqlResult } from '../helpers/graphql';

type Cast = Awaited<ReturnType<typeof cast>>;

interface AuditEvent {
  seq: number;
  action: string;
  actorId: string;
  actorType: string;
  source: string;
  toolName: string | null;
  targetType: string;
  targetId: string;
  requestId: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  createdAt: string;
  prevHash: string;
  hash: string;
}

const EVENT_FIELDS =
  'seq action actorId actorType source toolName targetType targetId requestId before after createdAt prevHash hash';
const AUDIT = `query($targetId: ID, $first: Int, $after: String) {
  auditLog(targetId: $targetId, first: $first, after: $after) {
    nodes { ${EVENT_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
const VERIFY = `query($mode: AuditVerificationMode) {
  verifyAuditChain(mode: $mode) { valid checked brokenAtSeq reason } }`;
const UPDATE = `mutation($id: ID!, $input: UpdateChangeRequestInput!, $expectedVersion: Int) {
  updateChangeRequest(id: $id, input: $input, expectedVersion: $expectedVersion) { id version } }`;
const ASSESS = 'mutation($id: ID!) { assessRisk(id: $id) { score level } }';
const REVIEW =
  'mutation($id: ID!, $notes: String!) { completeEmergencyReview(id: $id, notes: $notes) { id } }';
const FREEZE = `mutation($name: String!, $startsAt: DateTime!, $endsAt: DateTime!) {
  createFreezeWindow(name: $name, startsAt: $startsAt, endsAt: $endsAt) { id name } }`;
const DELETE_FREEZE = 'mutation($id: ID!) { deleteFreezeWindow(id: $id) { id } }';
const TAG =
  'mutation($name: String!, $tags: [String!]!) { tagService(name: $name, tags: $tags) { name tags } }';
const WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`;
const SUBMIT_V = `mutation($id: ID!, $expectedVersion: Int) { submitChange(id: $id, expectedVersion: $expectedVersion) { id } }`;

const codes = (r: GqlResult<unknown>) => r.errors?.map((e) => e.extensions?.code);

async function page(tok: string, vars: { targetId?: string; first?: number; after?: string | null }) {
  const data = await gqlOk<{
    auditLog: { nodes: AuditEvent[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  }>(AUDIT, vars, tok);
  return data.auditLog;
}

async function storedCount(tenant: string): Promise<number> {
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1')
    .bind(tenant)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** FULL checks from seq 1 (these chains are one page long); RECENT from the last anchor. */
async function verify(tok: string, mode: 'RECENT' | 'FULL' = 'FULL') {
  return (
    await gqlOk<{
      verifyAuditChain: {
        valid: boolean;
        checked: number;
        brokenAtSeq: number | null;
        reason: string | null;
      };
    }>(VERIFY, { mode }, tok)
  ).verifyAuditChain;
}

// ---------------------------------------------------------------------------------------------
// Every mutation appends an audit event
// ---------------------------------------------------------------------------------------------

let c: Cast;
/** Ids the steps create and use, by name. */
const ids: Record<string, string> = {};
const TITLE = 'Upgrade the payments database';

/** What one mutation must leave in the trail (in seq order). */
interface ExpectedEvent {
  action: string;
  targetType: string;
  /** The target id; a function when it is only known after the mutation ran. */
  target: string | ((events: AuditEvent[]) => string);
  before: unknown;
  after: unknown;
}

interface Step {
  mutation: string;
  /** Sub of the caller: the expected actorId. */
  actor: keyof Omit<Cast, 'tenant'>;
  query: string;
  vars: () => Record<string, unknown>;
  /** Sent as X-Request-Id, to check that a caller's trace id is the one recorded. */
  requestId?: string;
  /** Reads the response to remember ids for later steps. */
  remember?: (data: Record<string, unknown>) => void;
  /** Waits for what the step needs first (e.g. an execution to end). */
  before?: () => Promise<void>;
  events: () => ExpectedEvent[];
  /** Further checks on the events written. */
  also?: (events: AuditEvent[]) => void;
}

const SUBS: Record<keyof Omit<Cast, 'tenant'>, string> = {
  requester: 'rita',
  approver1: 'abe',
  approver2: 'ada',
  approver3: 'ali',
  manager: 'max',
  admin: 'root',
  viewer: 'vic',
};

const change = (key: string) => () => ids[key] as string;
const changeEvent = (action: string, key: string, before: unknown, after: unknown): ExpectedEvent => ({
  action,
  targetType: 'ChangeRequest',
  target: change(key)(),
  before,
  after,
});
const approvalEvent = (
  approverId: string,
  decision: 'APPROVED' | 'REJECTED' = 'APPROVED',
  key = 'main',
  extra: Record<string, unknown> = {},
): ExpectedEvent => ({
  action: 'approval.created',
  targetType: 'Approval',
  // The approval's own id, as recorded in its snapshot.
  target: (events) => String(events.find((e) => e.action === 'approval.created')?.after?.id),
  before: null,
  after: expect.objectContaining({ approverId, decision, changeId: ids[key], ...extra }),
});

const steps: Step[] = [
  {
    mutation: 'createChangeRequest',
    actor: 'requester',
    query: CREATE,
    vars: () => ({ input: changeInput({ title: TITLE }) }),
    remember: (d) => {
      ids.main = (d.createChangeRequest as Change).id;
    },
    events: () => [
      changeEvent(
        'change.created',
        'main',
        null,
        expect.objectContaining({
          id: ids.main,
          title: TITLE,
          status: 'DRAFT',
          version: 1,
          requesterId: 'rita',
        }),
      ),
    ],
  },
  {
    mutation: 'updateChangeRequest',
    actor: 'requester',
    query: UPDATE,
    vars: () => ({ id: ids.main, input: { title: `${TITLE} to 16.2` } }),
    events: () => [changeEvent('change.updated', 'main', { title: TITLE }, { title: `${TITLE} to 16.2` })],
  },
  {
    mutation: 'submitChange',
    actor: 'requester',
    query: SUBMIT,
    vars: () => ({ id: ids.main }),
    events: () => [
      changeEvent(
        'change.submitted',
        'main',
        expect.objectContaining({ status: 'DRAFT', riskScore: null, submittedAt: null }),
        expect.objectContaining({
          status: 'PENDING_APPROVAL',
          riskScore: expect.any(Number),
          riskLevel: 'MEDIUM',
        }),
      ),
    ],
  },
  {
    mutation: 'assessRisk',
    // Another person's change: re-assessing it takes a change manager.
    actor: 'manager',
    query: ASSESS,
    vars: () => ({ id: ids.main }),
    // Nothing about the change moved: the event records an empty diff, not a missing one.
    events: () => [changeEvent('change.risk_assessed', 'main', {}, {})],
  },
  {
    mutation: 'approveChange',
    actor: 'approver1',
    query: APPROVE,
    vars: () => ({ id: ids.main, comment: 'Fine by me' }),
    events: () => [approvalEvent('abe'), changeEvent('change.approval_recorded', 'main', {}, {})],
  },
  {
    mutation: 'approveChange',
    actor: 'approver2',
    query: APPROVE,
    vars: () => ({ id: ids.main, comment: 'Second vote' }),
    events: () => [
      approvalEvent('ada'),
      changeEvent(
        'change.approval_recorded',
        'main',
        { status: 'PENDING_APPROVAL', approvedAt: null },
        { status: 'APPROVED', approvedAt: expect.any(String) },
      ),
    ],
  },
  {
    mutation: 'rejectChange',
    actor: 'approver3',
    query: REJECT,
    vars: () => ({ id: ids.pending, reason: 'Clashes with the quarter-end close' }),
    // The reason is kept as the vote's comment.
    events: () => [
      approvalEvent('ali', 'REJECTED', 'pending', { comment: 'Clashes with the quarter-end close' }),
      changeEvent(
        'change.rejection_recorded',
        'pending',
        { status: 'PENDING_APPROVAL' },
        { status: 'REJECTED' },
      ),
    ],
  },
  {
    mutation: 'scheduleChange',
    actor: 'manager',
    query: SCHEDULE,
    vars: () => ({ id: ids.main, start: inDays(3), end: inDays(3, 12) }),
    events: () => [
      changeEvent(
        'change.scheduled',
        'main',
        { status: 'APPROVED', plannedStart: null, plannedEnd: null },
        { status: 'SCHEDULED', plannedStart: inDays(3), plannedEnd: inDays(3, 12) },
      ),
    ],
  },
  {
    mutation: 'startImplementation',
    actor: 'manager',
    query: START,
    vars: () => ({ id: ids.main }),
    events: () => [
      changeEvent(
        'change.implementation_started',
        'main',
        { status: 'SCHEDULED', implementedAt: null },
        { status: 'IMPLEMENTING', implementedAt: expect.any(String) },
      ),
    ],
  },
  {
    mutation: 'completeChange',
    actor: 'manager',
    query: COMPLETE,
    vars: () => ({ id: ids.main }),
    events: () => [
      changeEvent(
        'change.completed',
        'main',
        { status: 'IMPLEMENTING', completedAt: null },
        { status: 'COMPLETED', completedAt: expect.any(String) },
      ),
    ],
  },
  {
    mutation: 'failChange',
    actor: 'manager',
    query: FAIL,
    vars: () => ({ id: ids.implementing, reason: 'Replica did not come back' }),
    events: () => [
      changeEvent(
        'change.failed',
        'implementing',
        { status: 'IMPLEMENTING', failureReason: null },
        { status: 'FAILED', failureReason: 'Replica did not come back' },
      ),
    ],
  },
  {
    mutation: 'rollBackChange',
    actor: 'manager',
    query: ROLL_BACK,
    vars: () => ({ id: ids.implementing, reason: 'Backout plan ran' }),
    // The rollback notes go to the trail; the change keeps what went wrong.
    events: () => [
      {
        action: 'rollback.notes',
        targetType: 'ChangeRequest',
        target: ids.implementing as string,
        before: null,
        after: { notes: 'Backout plan ran' },
      },
      changeEvent('change.rolled_back', 'implementing', { status: 'FAILED' }, { status: 'ROLLED_BACK' }),
    ],
  },
  {
    mutation: 'cancelChange',
    actor: 'requester',
    query: CANCEL,
    vars: () => ({ id: ids.draft, reason: 'No longer needed' }),
    events: () => [
      changeEvent(
        'change.cancelled',
        'draft',
        { status: 'DRAFT', failureReason: null },
        { status: 'CANCELLED', failureReason: 'No longer needed' },
      ),
    ],
  },
  {
    mutation: 'emergencyOverride',
    actor: 'admin',
    query: OVERRIDE,
    vars: () => ({ id: ids.emergency, justification: 'Card payments are failing for every customer.' }),
    events: () => [
      changeEvent(
        'change.emergency_override',
        'emergency',
        expect.objectContaining({ status: 'DRAFT', emergencyJustification: null, reviewDueAt: null }),
        expect.objectContaining({
          status: 'APPROVED',
          emergencyJustification: 'Card payments are failing for every customer.',
          reviewDueAt: expect.any(String),
        }),
      ),
    ],
  },
  {
    mutation: 'completeEmergencyReview',
    actor: 'manager',
    query: REVIEW,
    vars: () => ({ id: ids.emergency, notes: 'Root cause found; fix was correct.' }),
    events: () => [
      {
        action: 'review.notes',
        targetType: 'ChangeRequest',
        target: ids.emergency as string,
        before: null,
        after: { notes: 'Root cause found; fix was correct.' },
      },
      changeEvent(
        'change.emergency_reviewed',
        'emergency',
        { reviewedAt: null },
        { reviewedAt: expect.any(String) },
      ),
    ],
  },
  {
    mutation: 'createFreezeWindow',
    actor: 'manager',
    query: FREEZE,
    vars: () => ({ name: 'Black Friday', startsAt: inDays(40, 0), endsAt: inDays(42, 0) }),
    remember: (d) => {
      ids.freeze = (d.createFreezeWindow as { id: string }).id;
    },
    events: () => [
      {
        action: 'freeze_window.created',
        targetType: 'FreezeWindow',
        target: ids.freeze as string,
        before: null,
        after: expect.objectContaining({ id: ids.freeze, name: 'Black Friday', createdBy: 'max' }),
      },
    ],
  },
  {
    mutation: 'deleteFreezeWindow',
    actor: 'manager',
    query: DELETE_FREEZE,
    vars: () => ({ id: ids.freeze }),
    events: () => [
      {
        action: 'freeze_window.deleted',
        targetType: 'FreezeWindow',
        target: ids.freeze as string,
        before: expect.objectContaining({ id: ids.freeze, name: 'Black Friday' }),
        after: null,
      },
    ],
  },
  {
    mutation: 'createApiKey',
    actor: 'admin',
    query: `mutation($name: String!, $roles: [Role!]!) {
      createApiKey(name: $name, roles: $roles) { apiKey { id } secret } }`,
    vars: () => ({ name: 'Deploy bot', roles: ['requester'] }),
    remember: (d) => {
      const created = d.createApiKey as { apiKey: { id: string }; secret: string };
      ids.apiKey = created.apiKey.id;
      ids.apiKeySecret = created.secret;
    },
    events: () => [
      {
        action: 'api_key.created',
        targetType: 'ApiKey',
        target: ids.apiKey as string,
        before: null,
        after: expect.objectContaining({
          id: ids.apiKey,
          name: 'Deploy bot',
          roles: ['requester'],
          createdBy: 'root',
          revokedAt: null,
        }),
      },
    ],
    // The trail records the key's metadata, never the key itself.
    also: (events) => expect(JSON.stringify(events)).not.toContain(ids.apiKeySecret),
  },
  {
    mutation: 'revokeApiKey',
    actor: 'admin',
    query: 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }',
    vars: () => ({ id: ids.apiKey }),
    events: () => [
      {
        action: 'api_key.revoked',
        targetType: 'ApiKey',
        target: ids.apiKey as string,
        before: expect.objectContaining({ id: ids.apiKey, revokedAt: null }),
        after: expect.objectContaining({ id: ids.apiKey, revokedAt: expect.any(String) }),
      },
    ],
  },
  {
    mutation: 'setWorkflowSecret',
    actor: 'admin',
    query: `mutation($value: String!) {
      setWorkflowSecret(name: "DEPLOY_TOKEN", value: $value, allowedHosts: ["api.example.com"]) { name keyId } }`,
    vars: () => ({ value: 'audit-trail-secret-value-7c1e' }),
    remember: (d) => {
      ids.secretKeyId = (d.setWorkflowSecret as { keyId: string }).keyId;
    },
    events: () => [
      {
        action: 'workflow_secret.created',
        targetType: 'WorkflowSecret',
        target: 'DEPLOY_TOKEN',
        before: null,
        after: {
          name: 'DEPLOY_TOKEN',
          allowedHosts: ['api.example.com'],
          keyId: ids.secretKeyId,
          updatedAt: expect.any(String),
          updatedBy: 'root',
        },
      },
    ],
    // The trail names the secret and its hosts, never its value.
    also: (events) => expect(JSON.stringify(events)).not.toContain('audit-trail-secret-value-7c1e'),
  },
  {
    mutation: 'deleteWorkflowSecret',
    actor: 'admin',
    query: 'mutation { deleteWorkflowSecret(name: "DEPLOY_TOKEN") { name } }',
    vars: () => ({}),
    events: () => [
      {
        action: 'workflow_secret.deleted',
        targetType: 'WorkflowSecret',
        target: 'DEPLOY_TOKEN',
        before: expect.objectContaining({ name: 'DEPLOY_TOKEN', keyId: ids.secretKeyId }),
        after: null,
      },
    ],
  },
  {
    mutation: 'createDeploymentIntegration',
    actor: 'admin',
    query: `mutation($t: ID!) { createDeploymentIntegration(name: "Shop pipeline", kind: GITHUB,
      environments: [{ environment: "production", templateId: $t }]) { secret integration { id } } }`,
    vars: () => ({ t: ids.deployTemplate }),
    remember: (d) => {
      const created = d.createDeploymentIntegration as { secret: string; integration: { id: string } };
      ids.integration = created.integration.id;
      ids.integrationSecret = created.secret;
    },
    events: () => [
      {
        action: 'deployment_integration.created',
        targetType: 'DeploymentIntegration',
        target: ids.integration as string,
        before: null,
        after: expect.objectContaining({
          name: 'Shop pipeline',
          kind: 'GITHUB',
          environments: [{ environment: 'production', templateId: ids.deployTemplate }],
          status: 'ACTIVE',
          secretVersion: 1,
          updatedBy: 'root',
        }),
      },
    ],
    // The trail records the integration, never its signing secret.
    also: (events) => expect(JSON.stringify(events)).not.toContain(ids.integrationSecret),
  },
  {
    mutation: 'rotateDeploymentIntegrationSecret',
    actor: 'admin',
    query: 'mutation($id: ID!) { rotateDeploymentIntegrationSecret(id: $id) { secret } }',
    vars: () => ({ id: ids.integration }),
    remember: (d) => {
      ids.integrationSecret = (d.rotateDeploymentIntegrationSecret as { secret: string }).secret;
    },
    events: () => [
      {
        action: 'deployment_integration.secret_rotated',
        targetType: 'DeploymentIntegration',
        target: ids.integration as string,
        before: expect.objectContaining({ secretVersion: 1 }),
        after: expect.objectContaining({ secretVersion: 2 }),
      },
    ],
    also: (events) => expect(JSON.stringify(events)).not.toContain(ids.integrationSecret),
  },
  {
    mutation: 'updateDeploymentIntegration',
    actor: 'admin',
    query: 'mutation($id: ID!) { updateDeploymentIntegration(id: $id, name: "Shop on GitHub") { id } }',
    vars: () => ({ id: ids.integration }),
    events: () => [
      {
        action: 'deployment_integration.updated',
        targetType: 'DeploymentIntegration',
        target: ids.integration as string,
        before: expect.objectContaining({ name: 'Shop pipeline' }),
        after: expect.objectContaining({ name: 'Shop on GitHub' }),
      },
    ],
  },
  {
    mutation: 'disableDeploymentIntegration',
    actor: 'admin',
    query: 'mutation($id: ID!) { disableDeploymentIntegration(id: $id) { id status } }',
    vars: () => ({ id: ids.integration }),
    events: () => [
      {
        action: 'deployment_integration.disabled',
        targetType: 'DeploymentIntegration',
        target: ids.integration as string,
        before: expect.objectContaining({ status: 'ACTIVE', disabledAt: null }),
        after: expect.objectContaining({ status: 'DISABLED', disabledAt: expect.any(String) }),
      },
    ],
  },
  {
    mutation: 'createWebhookEndpoint',
    actor: 'admin',
    query: `mutation($url: String!) { createWebhookEndpoint(url: $url, events: ["change.created"]) {
      secret endpoint { id } } }`,
    vars: () => ({ url: `${inject('upstreamUrl')}/capture/${crypto.randomUUID()}/ok` }),
    remember: (d) => {
      const created = d.createWebhookEndpoint as { secret: string; endpoint: { id: string } };
      ids.endpoint = created.endpoint.id;
      ids.endpointSecret = created.secret;
    },
    events: () => [
      {
        action: 'webhook_endpoint.created',
        targetType: 'WebhookEndpoint',
        target: ids.endpoint as string,
        before: null,
        after: expect.objectContaining({ events: ['change.created'], enabled: true, secretVersion: 1 }),
      },
    ],
    // The trail records the endpoint, never its signing secret.
    also: (events) => expect(JSON.stringify(events)).not.toContain(String(ids.endpointSecret).slice(6)),
  },
  {
    mutation: 'rotateWebhookEndpointSecret',
    actor: 'admin',
    query: 'mutation($id: ID!) { rotateWebhookEndpointSecret(id: $id) { secret } }',
    vars: () => ({ id: ids.endpoint }),
    remember: (d) => {
      ids.endpointSecret = (d.rotateWebhookEndpointSecret as { secret: string }).secret;
    },
    events: () => [
      {
        action: 'webhook_endpoint.secret_rotated',
        targetType: 'WebhookEndpoint',
        target: ids.endpoint as string,
        before: { secretVersion: 1 },
        after: expect.objectContaining({ secretVersion: 2 }),
      },
    ],
    also: (events) => expect(JSON.stringify(events)).not.toContain(String(ids.endpointSecret).slice(6)),
  },
  {
    mutation: 'disableWebhookEndpoint',
    actor: 'admin',
    query: 'mutation($id: ID!) { disableWebhookEndpoint(id: $id) { enabled } }',
    vars: () => ({ id: ids.endpoint }),
    events: () => [
      {
        action: 'webhook_endpoint.disabled',
        targetType: 'WebhookEndpoint',
        target: ids.endpoint as string,
        before: expect.objectContaining({ enabled: true }),
        after: expect.objectContaining({ enabled: false }),
      },
    ],
  },
  {
    mutation: 'enableWebhookEndpoint',
    actor: 'admin',
    query: 'mutation($id: ID!) { enableWebhookEndpoint(id: $id) { enabled } }',
    vars: () => ({ id: ids.endpoint }),
    events: () => [
      {
        action: 'webhook_endpoint.enabled',
        targetType: 'WebhookEndpoint',
        target: ids.endpoint as string,
        before: expect.objectContaining({ enabled: false }),
        after: expect.objectContaining({ enabled: true }),
      },
    ],
  },
  {
    mutation: 'createWorkflow',
    actor: 'manager',
    query: `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id version } }`,
    vars: () => ({
      input: {
        name: 'Deploy payments',
        // A long delay: the execution below waits in it until it is cancelled (no outside call).
        steps: [{ id: 'deploy', type: 'delay', durationMs: 3_600_000 }],
      },
    }),
    remember: (d) => {
      ids.workflow = (d.createWorkflow as { id: string }).id;
    },
    events: () => [
      {
        action: 'workflow.created',
        targetType: 'Workflow',
        target: ids.workflow as string,
        before: null,
        after: expect.objectContaining({
          id: ids.workflow,
          name: 'Deploy payments',
          status: 'ACTIVE',
          version: 1,
          createdBy: 'max',
          triggers: [{ type: 'manual' }],
        }),
      },
    ],
  },
  {
    mutation: 'updateWorkflow',
    actor: 'manager',
    query: `mutation($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { id version } }`,
    vars: () => ({ id: ids.workflow, input: { description: 'Ships a release' } }),
    events: () => [
      {
        action: 'workflow.updated',
        targetType: 'Workflow',
        target: ids.workflow as string,
        before: { version: 1, description: null },
        after: { version: 2, description: 'Ships a release' },
      },
    ],
  },
  {
    mutation: 'deactivateWorkflow',
    actor: 'manager',
    query: 'mutation($id: ID!) { deactivateWorkflow(id: $id) { id status } }',
    vars: () => ({ id: ids.workflow }),
    events: () => [
      {
        action: 'workflow.deactivated',
        targetType: 'Workflow',
        target: ids.workflow as string,
        before: { status: 'ACTIVE' },
        after: { status: 'INACTIVE' },
      },
    ],
  },
  {
    mutation: 'activateWorkflow',
    actor: 'admin',
    query: 'mutation($id: ID!) { activateWorkflow(id: $id) { id status } }',
    vars: () => ({ id: ids.workflow }),
    events: () => [
      {
        action: 'workflow.activated',
        targetType: 'Workflow',
        target: ids.workflow as string,
        before: { status: 'INACTIVE' },
        after: { status: 'ACTIVE' },
      },
    ],
  },
  {
    mutation: 'executeWorkflow',
    actor: 'manager',
    query: 'mutation($id: ID!) { executeWorkflow(workflowId: $id, inputs: { release: "v1" }) { id status } }',
    vars: () => ({ id: ids.workflow }),
    remember: (d) => {
      ids.execution = (d.executeWorkflow as { id: string }).id;
    },
    events: () => [
      {
        action: 'execution.created',
        targetType: 'WorkflowExecution',
        target: ids.execution as string,
        before: null,
        after: {
          workflowId: ids.workflow,
          workflowVersion: 2,
          trigger: 'MANUAL',
          triggerRef: null,
          changeId: null,
          causedBy: 'max',
        },
      },
    ],
  },
  {
    mutation: 'cancelExecution',
    actor: 'manager',
    query: 'mutation($id: ID!) { cancelExecution(id: $id) { id cancelRequestedAt } }',
    vars: () => ({ id: ids.execution }),
    events: () => [
      {
        action: 'execution.cancel_requested',
        targetType: 'WorkflowExecution',
        target: ids.execution as string,
        before: { status: expect.stringMatching(/^(PENDING|RUNNING)$/) },
        after: { cancelRequestedAt: expect.any(String) },
      },
    ],
  },
  {
    mutation: 'deleteWorkflow',
    actor: 'manager',
    query: 'mutation($id: ID!) { deleteWorkflow(id: $id) { id } }',
    vars: () => ({ id: ids.workflow }),
    // Refused while the cancelled execution is still live (WORKFLOW-007): wait for it to end.
    before: async () => {
      for (let i = 0; i < 200; i++) {
        const d = await gqlOk<{ execution: { status: string } }>(
          'query($id: ID!) { execution(id: $id) { status } }',
          { id: ids.execution },
          c.manager,
        );
        if (d.execution.status === 'CANCELLED') return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('the execution did not end');
    },
    events: () => [
      {
        action: 'workflow.deleted',
        targetType: 'Workflow',
        target: ids.workflow as string,
        before: expect.objectContaining({ id: ids.workflow, version: 2, status: 'ACTIVE' }),
        after: null,
      },
    ],
  },
  {
    mutation: 'createStandardChangeTemplate',
    actor: 'manager',
    query: `mutation($input: CreateStandardChangeTemplateInput!) {
      createStandardChangeTemplate(input: $input) { id version } }`,
    vars: () => ({
      input: {
        name: 'Certificate rotation',
        titlePattern: 'Rotate TLS cert for {{service}}',
        titleVariables: ['service'],
        description: 'Routine rotation before expiry.',
        affectedServices: ['edge'],
        implementationPlan: 'Issue, deploy, reload.',
        backoutPlan: 'Restore the previous bundle.',
        testPlan: 'Check the served expiry date.',
        riskLevel: 'LOW',
      },
    }),
    remember: (d) => {
      ids.template = (d.createStandardChangeTemplate as { id: string }).id;
    },
    events: () => [
      {
        action: 'standard_change_template.created',
        targetType: 'StandardChangeTemplate',
        target: ids.template as string,
        before: null,
        after: expect.objectContaining({
          id: ids.template,
          titlePattern: 'Rotate TLS cert for {{service}}',
          status: 'ACTIVE',
          version: 1,
          createdBy: 'max',
        }),
      },
    ],
  },
  {
    mutation: 'updateStandardChangeTemplate',
    actor: 'manager',
    query: `mutation($id: ID!, $input: UpdateStandardChangeTemplateInput!) {
      updateStandardChangeTemplate(id: $id, input: $input, expectedVersion: 1) { id version } }`,
    vars: () => ({ id: ids.template, input: { affectedServices: ['edge', 'cdn'] } }),
    events: () => [
      {
        action: 'standard_change_template.updated',
        targetType: 'StandardChangeTemplate',
        target: ids.template as string,
        before: { version: 1, affectedServices: ['edge'] },
        after: { version: 2, affectedServices: ['edge', 'cdn'] },
      },
    ],
  },
  {
    mutation: 'createChangeFromTemplate',
    actor: 'requester',
    query: `mutation($id: ID!, $input: CreateChangeFromTemplateInput!) {
      createChangeFromTemplate(templateId: $id, input: $input) { id } }`,
    vars: () => ({
      id: ids.template,
      input: {
        titleVariables: [{ name: 'service', value: 'checkout' }],
        plannedStart: inDays(12, 2),
        plannedEnd: inDays(12, 3),
      },
    }),
    remember: (d) => {
      ids.fromTemplate = (d.createChangeFromTemplate as { id: string }).id;
    },
    events: () => [
      {
        action: 'change.created',
        targetType: 'ChangeRequest',
        target: ids.fromTemplate as string,
        before: null,
        after: expect.objectContaining({
          title: 'Rotate TLS cert for checkout',
          type: 'STANDARD',
          affectedServices: ['edge', 'cdn'],
          templateId: ids.template,
          templateVersion: 2,
          requesterId: 'rita',
        }),
      },
    ],
  },
  {
    // The change raised from the template above was announced to the endpoint: redeliver it.
    mutation: 'redeliverWebhook',
    actor: 'admin',
    query: 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }',
    before: async () => {
      const query = 'query($e: ID!) { webhookDeliveries(endpointId: $e, first: 5) { nodes { id } } }';
      for (let i = 0; i < 100 && !ids.delivery; i++) {
        const d = await gqlOk<{ webhookDeliveries: { nodes: { id: string }[] } }>(
          query,
          { e: ids.endpoint },
          c.admin,
        );
        ids.delivery = d.webhookDeliveries.nodes[0]?.id ?? '';
        if (!ids.delivery) await new Promise((r) => setTimeout(r, 50));
      }
    },
    vars: () => ({ id: ids.delivery }),
    remember: (d) => {
      ids.redelivery = (d.redeliverWebhook as { id: string }).id;
    },
    events: () => [
      {
        action: 'webhook_delivery.redelivered',
        targetType: 'WebhookDelivery',
        target: ids.redelivery as string,
        before: null,
        after: expect.objectContaining({
          redeliveryOf: ids.delivery,
          endpointId: ids.endpoint,
          eventType: 'change.created',
        }),
      },
    ],
  },
  {
    mutation: 'retireStandardChangeTemplate',
    actor: 'admin',
    query: 'mutation($id: ID!) { retireStandardChangeTemplate(id: $id) { id status } }',
    vars: () => ({ id: ids.template }),
    events: () => [
      {
        action: 'standard_change_template.retired',
        targetType: 'StandardChangeTemplate',
        target: ids.template as string,
        before: { version: 2, status: 'ACTIVE', retiredAt: null },
        after: { version: 3, status: 'RETIRED', retiredAt: expect.any(String) },
      },
    ],
  },
  {
    mutation: 'tagService',
    actor: 'manager',
    query: TAG,
    vars: () => ({ name: 'payments-db', tags: ['PCI', 'tier-1'] }),
    requestId: 'client-trace-0001',
    events: () => [
      {
        action: 'service.tagged',
        targetType: 'Service',
        target: 'payments-db',
        before: null,
        after: { name: 'payments-db', tags: ['pci', 'tier-1'] },
      },
    ],
  },
  {
    mutation: 'setEgressPolicy',
    actor: 'admin',
    query: 'mutation($hosts: [String!]!) { setEgressPolicy(allowedHosts: $hosts) { allowedHosts } }',
    vars: () => ({ hosts: ['api.example.com', '*.Deploy.example.net'] }),
    events: () => [
      {
        action: 'egress_policy.updated',
        targetType: 'EgressPolicy',
        target: c.tenant,
        before: { allowedHosts: [] },
        after: { allowedHosts: ['api.example.com', '*.deploy.example.net'] },
      },
    ],
  },
  {
    mutation: 'createAuditDigest',
    actor: 'admin',
    query: 'mutation { createAuditDigest { created digest { toSeq } } }',
    vars: () => ({}),
    // Who asked for evidence is recorded, and the digest covers the request itself.
    events: () => [
      {
        action: 'audit_digest.requested',
        targetType: 'AuditDigest',
        target: c.tenant,
        before: null,
        after: null,
      },
    ],
  },
  {
    mutation: 'exportTenant',
    actor: 'admin',
    query: 'mutation { exportTenant { id status } }',
    vars: () => ({}),
    remember: (d) => {
      ids.tenantExport = (d.exportTenant as { id: string }).id;
    },
    // Who took a copy of the tenant's data, and which export it is.
    events: () => [
      {
        action: 'tenant_export.requested',
        targetType: 'TenantExport',
        target: () => ids.tenantExport as string,
        before: null,
        after: null,
      },
    ],
  },
  {
    mutation: 'setRetentionPolicy',
    actor: 'admin',
    query: 'mutation { setRetentionPolicy(stepOutputDays: 30) { stepOutputDays } }',
    vars: () => ({}),
    events: () => [
      {
        action: 'retention_policy.updated',
        targetType: 'RetentionPolicy',
        target: c.tenant,
        before: expect.objectContaining({ stepOutputDays: 90, legalHold: false }),
        after: expect.objectContaining({ stepOutputDays: 30, legalHold: false }),
      },
    ],
  },
  {
    // Last: the requester's name and email go (free text stays: the policy's default).
    mutation: 'eraseUserData',
    actor: 'admin',
    query: 'mutation { eraseUserData(userId: "rita") { userId redactedEvents } }',
    vars: () => ({}),
    events: () => [
      {
        action: 'user.erased',
        targetType: 'User',
        target: 'rita',
        before: null,
        after: expect.objectContaining({
          userId: 'rita',
          redactedEvents: 0,
          freeText: false,
          v1: [],
          v2: [],
        }),
      },
    ],
  },
];

describe('every mutation appends an audit event', () => {
  let lastSeq = 0;

  beforeAll(async () => {
    c = await cast('audit-trail');
    const implementing = await approvedChange(c, { affectedServices: ['ledger'] });
    await gqlOk(SCHEDULE, { id: implementing.id, start: inDays(2), end: inDays(2, 12) }, c.manager);
    await gqlOk(START, { id: implementing.id }, c.manager);
    ids.implementing = implementing.id;
    ids.draft = (await createChange(c.requester, { title: 'Tidy the DNS zone' })).id;
    ids.pending = (
      await submit(c.requester, (await createChange(c.requester, { title: 'Move the cron host' })).id)
    ).id;
    ids.emergency = (await createChange(c.requester, { type: 'EMERGENCY', title: 'Fix card payments' })).id;
    // The template deployment integrations map environments to (its title is one a deployment fills in).
    ids.deployTemplate = (
      await gqlOk<{ createStandardChangeTemplate: { id: string } }>(
        `mutation($input: CreateStandardChangeTemplateInput!) { createStandardChangeTemplate(input: $input) { id } }`,
        {
          input: {
            name: 'Application deployment',
            titlePattern: 'Deploy {{ref}} to {{environment}}',
            titleVariables: ['ref', 'environment'],
            description: 'A deployment from the pipeline.',
            affectedServices: ['shop'],
            implementationPlan: 'The pipeline deploys.',
            backoutPlan: 'The pipeline redeploys the previous build.',
            testPlan: 'Smoke tests.',
            riskLevel: 'LOW',
          },
        },
        c.manager,
      )
    ).createStandardChangeTemplate.id;
    lastSeq = await storedCount(c.tenant);
  }, 30_000);

  it('has a step for every mutation of the schema', () => {
    const names = Object.keys(schema.getMutationType()?.getFields() ?? {}).sort();
    expect([...new Set(steps.map((s) => s.mutation))].sort()).toEqual(names);
  });

  it.each(steps.map((s, i) => [`${i + 1}. ${s.mutation} by ${SUBS[s.actor]}`, s] as const))(
    '%s',
    async (_label, step) => {
      await step.before?.();
      const r = await gql<Record<string, unknown>>(step.query, step.vars(), {
        token: c[step.actor],
        headers: step.requestId ? { 'x-request-id': step.requestId } : {},
      });
      expect(r.errors).toBeUndefined();
      if (r.data) step.remember?.(r.data);
      const requestId = r.headers.get('x-request-id') as string;
      if (step.requestId) expect(requestId).toBe(step.requestId);

      const { nodes } = await page(c.admin, { first: 20 });
      const mine = nodes.filter((e) => e.requestId === requestId).sort((x, y) => x.seq - y.seq);
      const expected = step.events();
      expect(mine.map((e) => e.action)).toEqual(expected.map((e) => e.action));
      // Appended at the head of the chain, in one block: nothing else in between. The only other
      // writer is the engine running the execution started below (its own events, its own requestId).
      const first = mine[0]?.seq ?? lastSeq + 1;
      expect(mine.map((e) => e.seq)).toEqual(expected.map((_, i) => first + i));
      const others = nodes.filter((e) => e.seq > lastSeq && e.requestId !== requestId);
      expect(others.every((e) => e.actorId === 'workflow-engine' && e.source === 'system')).toBe(true);
      expect(nodes[0]?.seq).toBe(lastSeq + expected.length + others.length);
      lastSeq = nodes[0]?.seq ?? lastSeq;

      for (const [i, want] of expected.entries()) {
        const e = mine[i] as AuditEvent;
        expect(e).toMatchObject({
          actorId: SUBS[step.actor],
          actorType: 'user',
          source: 'graphql',
          toolName: null,
          requestId,
          targetType: want.targetType,
          targetId: typeof want.target === 'function' ? want.target(mine) : want.target,
        });
        expect(e.targetId).toBeTruthy();
        expect(e.before).toEqual(want.before);
        expect(e.after).toEqual(want.after);
        expect(Math.abs(Date.parse(e.createdAt) - Date.now())).toBeLessThan(60_000);
        expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
      }
      step.also?.(mine);
    },
  );

  it('links every event to the one before it', async () => {
    const { nodes } = await page(c.admin, { first: 200 });
    expect(nodes).toHaveLength(lastSeq);
    const ascending = [...nodes].reverse();
    expect(ascending[0]?.prevHash).toBe('0'.repeat(64));
    for (let i = 1; i < ascending.length; i++) {
      expect(ascending[i]?.seq).toBe(i + 1);
      expect(ascending[i]?.prevHash).toBe(ascending[i - 1]?.hash);
    }
  });

  it('auditLog(targetId) shows a change’s history newest first, page by page', async () => {
    const history = [
      'change.completed',
      'change.implementation_started',
      'change.scheduled',
      'change.approval_recorded',
      'change.approval_recorded',
      'change.risk_assessed',
      'change.submitted',
      'change.updated',
      'change.created',
    ];
    const whole = await page(c.viewer, { targetId: ids.main, first: 50 });
    expect(whole.nodes.map((e) => e.action)).toEqual(history);
    expect(whole.pageInfo.hasNextPage).toBe(false);

    const seen: AuditEvent[] = [];
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const p = await page(c.viewer, { targetId: ids.main, first: 2, after });
      pages += 1;
      expect(p.nodes.length).toBeLessThanOrEqual(2);
      expect(p.nodes.every((e) => e.targetId === ids.main)).toBe(true);
      seen.push(...p.nodes);
      if (!p.pageInfo.hasNextPage) break;
      expect(p.pageInfo.endCursor).toBeTruthy();
      after = p.pageInfo.endCursor;
    }
    expect(pages).toBe(Math.ceil(history.length / 2));
    expect(seen.map((e) => e.seq)).toEqual(whole.nodes.map((e) => e.seq));
    const seqs = seen.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => y - x));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('auditLog without a target pages through the whole tenant trail, newest first', async () => {
    const seqs: number[] = [];
    let after: string | null = null;
    for (;;) {
      const p = await page(c.viewer, { first: 7, after });
      seqs.push(...p.nodes.map((e) => e.seq));
      if (!p.pageInfo.hasNextPage) break;
      after = p.pageInfo.endCursor;
    }
    expect(seqs).toEqual(Array.from({ length: lastSeq }, (_, i) => lastSeq - i));
  });

  it('verifyAuditChain is valid after the whole series and checked every event', async () => {
    expect(await verify(c.manager)).toEqual({
      valid: true,
      checked: await storedCount(c.tenant),
      brokenAtSeq: null,
      reason: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Tampering with the stored trail is detected
// ---------------------------------------------------------------------------------------------

/** A tenant with a short history: 5 events (create, update, submit, create, tag). */
async function tenantWithHistory(tenant: string) {
  const t = await cast(tenant);
  const first = await createChange(t.requester);
  await gqlOk(UPDATE, { id: first.id, input: { title: 'Upgrade the payments database now' } }, t.requester);
  await submit(t.requester, first.id);
  await createChange(t.requester, { title: 'Second change' });
  await gqlOk(TAG, { name: 'payments-db', tags: ['pci'] }, t.manager);
  expect(await storedCount(tenant)).toBe(5);
  expect((await verify(t.manager)).valid).toBe(true);
  return t;
}

const tamperings: [string, string, number, RegExp][] = [
  [
    'rewriting the after snapshot of seq 2',
    `UPDATE audit_events SET after_json = '{"title":"forged"}'`,
    2,
    /modified/,
  ],
  ['rewriting the actor of seq 2', "UPDATE audit_events SET actor_id = 'mallory'", 2, /modified/],
  ['rewriting the before snapshot of seq 2', 'UPDATE audit_events SET before_json = NULL', 2, /modified/],
  [
    'rewriting the request id of seq 2',
    "UPDATE audit_events SET request_id = 'forged-request'",
    2,
    /modified/,
  ],
  [
    'rewriting the timestamp of seq 2',
    "UPDATE audit_events SET created_at = '2020-01-01T00:00:00.000Z'",
    2,
    /modified/,
  ],
  ['relinking seq 2 to another hash', `UPDATE audit_events SET prev_hash = '${'f'.repeat(64)}'`, 2, /link/],
  ['deleting seq 2', 'DELETE FROM audit_events', 3, /missing|order/],
  ['deleting seq 1', 'DELETE FROM audit_events', 2, /missing|order/],
];

describe('tampering with the stored trail', () => {
  it.each(tamperings)('detects %s', async (label, sql, brokenAt, reason) => {
    const tenant = `audit-tamper-${tamperings.findIndex((t) => t[0] === label)}`;
    const t = await tenantWithHistory(tenant);
    const seq = label.endsWith('seq 1') ? 1 : 2;
    const res = await env.DB.prepare(`${sql} WHERE tenant_id = ?1 AND seq = ?2`).bind(tenant, seq).run();
    expect(res.meta.changes).toBe(1);

    const result = await verify(t.manager);
    expect(result).toMatchObject({ valid: false, brokenAtSeq: brokenAt });
    expect(result.reason).toMatch(reason);
    // Everything before the tampered event still verifies.
    expect(result.checked).toBe(seq - 1);

    // Writing on top of a broken chain does not repair it.
    await createChange(t.requester, { title: 'Written after the tampering' });
    const again = await verify(t.manager);
    expect(again).toMatchObject({ valid: false, brokenAtSeq: brokenAt });
  });

  it('does not affect other tenants: their chains stay valid', async () => {
    const t = await tenantWithHistory('audit-tamper-neighbour');
    await env.DB.prepare(`UPDATE audit_events SET after_json = '{}' WHERE tenant_id = ?1 AND seq = 2`)
      .bind('audit-tamper-0')
      .run();
    expect((await verify(t.manager)).valid).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// A mutation that fails writes nothing
// ---------------------------------------------------------------------------------------------

describe('a mutation that fails writes no audit event', () => {
  const TENANT = 'audit-failures';
  let f: Cast;
  let draft: Change;
  let normalApproved: Change;
  let ownPending: Change;
  let stranger: string;

  beforeAll(async () => {
    f = await cast(TENANT);
    draft = await createChange(f.requester);
    normalApproved = await approvedChange(f, { affectedServices: ['ledger'] });
    // The change manager files a change of their own (a manager may request changes).
    ownPending = await submit(f.manager, (await createChange(f.manager, { affectedServices: ['crm'] })).id);
    stranger = await token({ sub: 'sam', tenant: TENANT, roles: ['requester'] });
  }, 30_000);

  const failures: [string, () => [string, Record<string, unknown>, string], string][] = [
    [
      'start a DRAFT (illegal transition)',
      () => [START, { id: draft.id }, f.manager],
      'CHANGE_INVALID_TRANSITION',
    ],
    [
      'complete a DRAFT (illegal transition)',
      () => [COMPLETE, { id: draft.id }, f.manager],
      'CHANGE_INVALID_TRANSITION',
    ],
    [
      'roll back an APPROVED change (illegal transition)',
      () => [ROLL_BACK, { id: normalApproved.id }, f.manager],
      'CHANGE_INVALID_TRANSITION',
    ],
    ['vote on a DRAFT', () => [APPROVE, { id: draft.id }, f.approver1], 'APPROVAL_NOT_PENDING'],
    ['approve one’s own change', () => [APPROVE, { id: ownPending.id }, f.manager], 'APPROVAL_SELF_APPROVAL'],
    [
      'reject a DRAFT',
      () => [REJECT, { id: draft.id, reason: 'Not ready' }, f.approver1],
      'APPROVAL_NOT_PENDING',
    ],
    [
      'reject one’s own change',
      () => [REJECT, { id: ownPending.id, reason: 'Mine' }, f.manager],
      'APPROVAL_SELF_APPROVAL',
    ],
    [
      'reject without a reason',
      () => [REJECT, { id: ownPending.id, reason: ' ' }, f.approver1],
      'VALIDATION_FAILED',
    ],
    [
      'submit with a stale expectedVersion',
      () => [SUBMIT_V, { id: draft.id, expectedVersion: 99 }, f.requester],
      'CHANGE_VERSION_CONFLICT',
    ],
    [
      'edit someone else’s change',
      () => [UPDATE, { id: draft.id, input: { title: 'Not my change' } }, stranger],
      'FORBIDDEN',
    ],
    [
      'override a NORMAL change',
      () => [OVERRIDE, { id: normalApproved.id, justification: 'This is not an emergency at all.' }, f.admin],
      'EMERGENCY_NOT_ALLOWED',
    ],
    [
      'schedule without the role',
      () => [SCHEDULE, { id: normalApproved.id, start: inDays(2), end: inDays(2, 12) }, f.requester],
      'FORBIDDEN',
    ],
    [
      'schedule in the past',
      () => [SCHEDULE, { id: normalApproved.id, start: inDays(-2), end: inDays(-2, 12) }, f.manager],
      'SCHEDULE_INVALID_WINDOW',
    ],
    [
      'create with an oversize title',
      () => [CREATE, { input: changeInput({ title: 'x'.repeat(201) }) }, f.requester],
      'VALIDATION_FAILED',
    ],
    [
      'delete a freeze window that does not exist',
      () => [DELETE_FREEZE, { id: 'frz-nope' }, f.manager],
      'FREEZE_WINDOW_NOT_FOUND',
    ],
    [
      'create a freeze window that ends before it starts',
      () => [FREEZE, { name: 'Backwards', startsAt: inDays(5), endsAt: inDays(4) }, f.manager],
      'SCHEDULE_INVALID_WINDOW',
    ],
    [
      'create a workflow with a malformed step',
      () => [
        WORKFLOW,
        { input: { name: 'Broken', steps: [{ id: 'w', type: 'delay', durationMs: 0 }] } },
        f.manager,
      ],
      'VALIDATION_FAILED',
    ],
    [
      'deactivate a workflow that does not exist',
      () => ['mutation($id: ID!) { deactivateWorkflow(id: $id) { id } }', { id: 'wf_nope' }, f.manager],
      'WORKFLOW-001',
    ],
    [
      'act on a change that does not exist',
      () => [CANCEL, { id: 'CHG-20260101-NOPE00' }, f.admin],
      'CHANGE_NOT_FOUND',
    ],
  ];

  it.each(failures)('%s', async (_label, build, code) => {
    const [query, vars, tok] = build();
    const before = await storedCount(TENANT);
    const snapshot = await Promise.all(
      [draft, normalApproved, ownPending].map((x) => gqlOk<{ change: Change }>(GET, { id: x.id }, f.admin)),
    );
    const r = await gql(query, vars, { token: tok });
    expect(codes(r)).toEqual([code]);
    expect(await storedCount(TENANT)).toBe(before);
    const after = await Promise.all(
      [draft, normalApproved, ownPending].map((x) => gqlOk<{ change: Change }>(GET, { id: x.id }, f.admin)),
    );
    expect(after).toEqual(snapshot);
  });

  it('the chain is still valid and gapless after all the failures', async () => {
    expect(await verify(f.manager)).toMatchObject({ valid: true, checked: await storedCount(TENANT) });
  });
});
