import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { gunzip } from '../../src/domain/tenantExport';
import { schema } from '../../src/schema';
import {
  CREATE_INTEGRATION,
  createIntegration,
  DISABLE as DISABLE_INTEGRATION,
  githubDeployment,
  LIST as INTEGRATIONS,
  type Integration,
  ROTATE as ROTATE_INTEGRATION,
  sendGitHub,
  UPDATE as UPDATE_INTEGRATION,
} from '../deployments/helpers';
import { token } from '../helpers/auth';
import {
  APPROVE,
  approvedChange,
  CANCEL,
  type Change,
  COMPLETE,
  cast,
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
import {
  DELETE_SECRET,
  LIST_SECRETS,
  listSecrets,
  SET_SECRET,
  setSecret,
  type WorkflowSecret,
} from '../helpers/secrets';

/**
 * Tenant A builds up changes in every state, a freeze window and a PCI-tagged service. Tenant B,
 * with an admin token (so no role check hides anything), then tries every query and every
 * mutation of the schema against A's ids. B must see nothing of A and change nothing of A.
 */

type Cast = Awaited<ReturnType<typeof cast>>;
let A: Cast;
let B: Cast;

/** A's changes, each in the state in which the mutation aimed at it would be legal for A. */
interface AChanges {
  draft: Change;
  pending: Change;
  approved: Change;
  approvedForFreeze: Change;
  scheduled: Change;
  implementing: Change;
  failed: Change;
  emergency: Change;
  overridden: Change;
  pciGap: Change;
}
let a: AChanges;
let aFreeze: { id: string; name: string };
let aKey: { id: string; secret: string };
/** A's workflow secret, as A's admin lists it; its value must never reach B. */
let aSecret: WorkflowSecret;
const A_SECRET_VALUE = 'tenant-a-upstream-token-91b2';
/** A's workflows: one ACTIVE, one INACTIVE (so that activating it would be legal for A). */
let aWorkflows: { active: Workflow; inactive: Workflow };
/** A's execution of its active workflow (a 1 s delay). */
let aExecution: { id: string };
let aIds: string[];
/** Every target id in A's audit trail (changes, approvals, freeze window, service). */
let aTargets: string[];
let bChange: Change;
/** A's standard change template (its runbook is A's active workflow). */
let aTemplate: { id: string; version: number };
/** A's deployment integration, and a deployment it reported (blocked: it raises no change of A). */
let aIntegration: Integration;
let aDeploymentId: string;
/** A's outgoing webhook endpoint (on the loopback receiver), and a delivery it was sent. */
let aEndpoint: { id: string; secret: string };
let aDeliveryId: string;
/** The receiver key of B's own endpoint, which must never hear of A's writes. */
const bEndpointKey = crypto.randomUUID();
/** X-Request-Id of every request B sent, to prove none of them reached A's audit trail. */
const bRequestIds = new Set<string>();

const FREEZE = `mutation($name: String!, $startsAt: DateTime!, $endsAt: DateTime!, $reason: String) {
  createFreezeWindow(name: $name, startsAt: $startsAt, endsAt: $endsAt, reason: $reason) { id name startsAt endsAt } }`;
const DELETE_FREEZE = 'mutation($id: ID!) { deleteFreezeWindow(id: $id) { id } }';
const TAG =
  'mutation($name: String!, $tags: [String!]!) { tagService(name: $name, tags: $tags) { name tags } }';
const CREATE_KEY = `mutation($name: String!, $roles: [Role!]!) {
  createApiKey(name: $name, roles: $roles) { apiKey { id name revokedAt } secret } }`;
const REVOKE_KEY = 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';
const WEBHOOK_ENDPOINTS = '{ webhookEndpoints { id url enabled secretVersion } }';
const WEBHOOK_DELIVERIES =
  'query($e: ID!) { webhookDeliveries(endpointId: $e, first: 20) { nodes { id status attempts } } }';
const KEYS = '{ apiKeys { id name revokedAt } }';
interface Workflow {
  id: string;
  name: string;
  status: string;
  version: number;
  steps: unknown[];
}
const WORKFLOW_FIELDS = 'id name status version steps';
const CREATE_WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ${WORKFLOW_FIELDS} } }`;
const WORKFLOW = `query($id: ID!) { workflow(id: $id) { ${WORKFLOW_FIELDS} versions { version } } }`;
const WORKFLOWS = `query($filter: WorkflowFilter) { workflows(filter: $filter, first: 100) { nodes { id name } } }`;
const workflowInput = (
  name: string,
  steps: unknown[] = [{ id: 'wait', type: 'delay', durationMs: 1000 }],
) => ({
  name,
  steps,
});
const EXECUTION = `query($id: ID!) { execution(id: $id) { id cancelRequestedAt } }`;
const WAIT_FOR_EXECUTION = `query($id: ID!) { waitForExecution(id: $id, timeoutSeconds: 5) { id status } }`;
const EXECUTION_STEP = `query($id: ID!) { executionStep(id: $id, stepId: "wait") { stepId output } }`;
const TEMPLATE_FIELDS = 'id name titlePattern status version runbookWorkflowId';
const CREATE_TEMPLATE = `mutation($input: CreateStandardChangeTemplateInput!) {
  createStandardChangeTemplate(input: $input) { ${TEMPLATE_FIELDS} } }`;
const TEMPLATE = `query($id: ID!) { standardChangeTemplate(id: $id) { ${TEMPLATE_FIELDS} } }`;
const TEMPLATES = `{ standardChangeTemplates(includeRetired: true) { ${TEMPLATE_FIELDS} } }`;
const templateInput = (name: string, runbookWorkflowId?: string) => ({
  name,
  titlePattern: 'Rotate TLS cert for {{service}}',
  titleVariables: ['service'],
  description: 'Routine certificate rotation.',
  affectedServices: ['edge'],
  implementationPlan: 'Run the rotation runbook.',
  backoutPlan: 'Restore the previous bundle.',
  testPlan: 'Check the expiry date served.',
  riskLevel: 'LOW',
  ...(runbookWorkflowId ? { runbookWorkflowId } : {}),
});
const EXECUTIONS = `query($filter: ExecutionFilter) { executions(filter: $filter, first: 100) { nodes { id } } }`;
const FREEZES = `query($from: DateTime, $to: DateTime) { freezeWindows(from: $from, to: $to) { id name } }`;
const SERVICES = '{ services { name tags } }';
const EGRESS = '{ egressPolicy { allowedHosts restricted updatedBy } }';
const SET_EGRESS = 'mutation($hosts: [String!]!) { setEgressPolicy(allowedHosts: $hosts) { allowedHosts } }';
const RETENTION = '{ retentionPolicy { stepOutputDays legalHold updatedBy } }';
const SAVE_HTTP = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`;
const httpWorkflow = (name: string, url: string) => ({
  input: { name, steps: [{ id: 'call', type: 'http-request', url }] },
});
const AUDIT = `query($targetId: ID, $first: Int, $after: String) {
  auditLog(targetId: $targetId, first: $first, after: $after) {
    nodes { seq action targetType targetId actorId requestId hash } pageInfo { hasNextPage endCursor } } }`;
const DIGESTS = '{ auditDigests(first: 100) { nodes { fromSeq toSeq headHash digestHash } } }';
type DigestList = {
  auditDigests: { nodes: { fromSeq: number; toSeq: number; headHash: string; digestHash: string }[] };
};
const CREATE_DIGEST = 'mutation { createAuditDigest { created digest { toSeq headHash digestHash } } }';
const CHANGES = `query($filter: ChangeFilter, $first: Int) {
  changes(filter: $filter, first: $first) { nodes { id } totalCount pageInfo { hasNextPage } } }`;
const METRICS = `{ metrics { totalChanges activeChanges pendingApprovals meanTimeToApproveHours successRate
  emergencyRatio changesByStatus { status count } } }`;
const REPORT = `query($from: DateTime!, $to: DateTime!) { complianceReport(from: $from, to: $to) {
  changesReviewed score checks { id passed failures } findings { checkId changeId message } } }`;

/** Runs an operation as B's admin and remembers its request id. */
async function asB<T = Record<string, unknown>>(query: string, vars: Record<string, unknown> = {}) {
  const r = await gql<T>(query, vars, { token: B.admin });
  const rid = r.headers.get('x-request-id');
  if (rid) bRequestIds.add(rid);
  return r;
}

const readA = async (id: string) => (await gqlOk<{ change: Change }>(GET, { id }, A.admin)).change;

const codes = (r: GqlResult<unknown>) => r.errors?.map((e) => e.extensions?.code);

async function schedule(tok: string, id: string, days: number) {
  return gqlOk<{ scheduleChange: { change: Change } }>(
    SCHEDULE,
    { id, start: inDays(days), end: inDays(days, 12) },
    tok,
  );
}

async function allAuditEvents(tok: string) {
  const nodes: {
    seq: number;
    action: string;
    targetType: string;
    targetId: string;
    requestId: string;
    hash: string;
  }[] = [];
  let after: string | null = null;
  for (;;) {
    const page: {
      auditLog: { nodes: typeof nodes; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await gqlOk(AUDIT, { first: 200, after }, tok);
    nodes.push(...page.auditLog.nodes);
    if (!page.auditLog.pageInfo.hasNextPage) return nodes;
    after = page.auditLog.pageInfo.endCursor;
  }
}

beforeAll(async () => {
  A = await cast('iso-tenant-a');
  B = await cast('iso-tenant-b');

  // Endpoints first, so that A's changes below are announced to A's endpoint (and never to B's).
  const endpoint = await gqlOk<{ createWebhookEndpoint: { secret: string; endpoint: { id: string } } }>(
    `mutation($url: String!) { createWebhookEndpoint(url: $url, events: ["change.created"]) { secret endpoint { id } } }`,
    { url: `${inject('upstreamUrl')}/capture/${crypto.randomUUID()}/ok` },
    A.admin,
  );
  aEndpoint = {
    id: endpoint.createWebhookEndpoint.endpoint.id,
    secret: endpoint.createWebhookEndpoint.secret,
  };
  // B's endpoint on the same receiver, made before any egress policy narrows either tenant.
  const b = await gql(
    `mutation($url: String!) { createWebhookEndpoint(url: $url, events: ["change.created"]) { endpoint { id } } }`,
    { url: `${inject('upstreamUrl')}/capture/${bEndpointKey}/ok` },
    { token: B.admin },
  );
  expect(b.errors).toBeUndefined();
  const draft = await createChange(A.requester, { title: 'A: rotate payments keys' });
  const pending = await submit(A.requester, (await createChange(A.requester)).id);
  const approved = await approvedChange(A);
  const approvedForFreeze = await approvedChange(A, { affectedServices: ['a-ledger'] });
  const scheduled = (await schedule(A.manager, (await approvedChange(A)).id, 2)).scheduleChange.change;
  const toImplement = (await schedule(A.manager, (await approvedChange(A)).id, 3)).scheduleChange.change;
  const implementing = (
    await gqlOk<{ startImplementation: Change }>(START, { id: toImplement.id }, A.manager)
  ).startImplementation;
  const toFail = (await schedule(A.manager, (await approvedChange(A)).id, 4)).scheduleChange.change;
  await gqlOk(START, { id: toFail.id }, A.manager);
  const failed = (
    await gqlOk<{ failChange: Change }>(FAIL, { id: toFail.id, reason: 'Replica lag' }, A.manager)
  ).failChange;
  const emergency = await createChange(A.requester, { type: 'EMERGENCY', title: 'A: patch the TLS library' });
  const toOverride = await createChange(A.requester, { type: 'EMERGENCY', title: 'A: block the exploit' });
  const overridden = (
    await gqlOk<{ emergencyOverride: Change }>(
      OVERRIDE,
      { id: toOverride.id, justification: 'Active exploitation seen in the access logs.' },
      A.admin,
    )
  ).emergencyOverride;
  await gqlOk(TAG, { name: 'payments-db', tags: ['pci'] }, A.manager);
  const pciGap = await submit(
    A.requester,
    (await createChange(A.requester, { title: 'A: PCI change, no plans', backoutPlan: null, testPlan: null }))
      .id,
  );
  await gqlOk(SET_EGRESS, { hosts: ['a-only.example.com'] }, A.admin);
  aFreeze = (
    await gqlOk<{ createFreezeWindow: { id: string; name: string } }>(
      FREEZE,
      { name: 'A quarter-end freeze', startsAt: inDays(60), endsAt: inDays(61), reason: 'Quarter end' },
      A.manager,
    )
  ).createFreezeWindow;
  const key = (
    await gqlOk<{ createApiKey: { apiKey: { id: string }; secret: string } }>(
      CREATE_KEY,
      { name: 'A reporting integration', roles: ['viewer'] },
      A.admin,
    )
  ).createApiKey;
  aKey = { id: key.apiKey.id, secret: key.secret };
  aSecret = await setSecret(A.admin, 'UPSTREAM_TOKEN', A_SECRET_VALUE, ['api.a.example']);
  const newWorkflow = async (name: string) =>
    (await gqlOk<{ createWorkflow: Workflow }>(CREATE_WORKFLOW, { input: workflowInput(name) }, A.manager))
      .createWorkflow;
  const inactive = await newWorkflow('A: retired runbook');
  await gqlOk('mutation($id: ID!) { deactivateWorkflow(id: $id) { id } }', { id: inactive.id }, A.manager);
  aWorkflows = {
    active: await newWorkflow('A: deploy payments'),
    inactive: { ...inactive, status: 'INACTIVE' },
  };
  aExecution = (
    await gqlOk<{ executeWorkflow: { id: string } }>(
      'mutation($w: ID!) { executeWorkflow(workflowId: $w, inputs: { secret: "A only" }) { id } }',
      { w: aWorkflows.active.id },
      A.manager,
    )
  ).executeWorkflow;
  aTemplate = (
    await gqlOk<{ createStandardChangeTemplate: { id: string; version: number } }>(
      CREATE_TEMPLATE,
      { input: templateInput('A: TLS rotation', aWorkflows.active.id) },
      A.manager,
    )
  ).createStandardChangeTemplate;
  aIntegration = await createIntegration(A, 'GITHUB');
  const reported = await sendGitHub(aIntegration, 'deployment', githubDeployment({ environment: 'a-only' }));
  aDeploymentId = reported.body.deploymentId as string;
  for (let i = 0; i < 100 && !aDeliveryId; i++) {
    const d = await gqlOk<{ webhookDeliveries: { nodes: { id: string }[] } }>(
      WEBHOOK_DELIVERIES,
      { e: aEndpoint.id },
      A.admin,
    );
    aDeliveryId = d.webhookDeliveries.nodes[0]?.id ?? '';
    if (!aDeliveryId) await new Promise((r) => setTimeout(r, 50));
  }
  expect(aDeliveryId).toBeTruthy();
  a = {
    draft,
    pending,
    approved,
    approvedForFreeze,
    scheduled,
    implementing,
    failed,
    emergency,
    overridden,
    pciGap,
  };
  aIds = Object.values(a).map((c) => c.id);
  aTargets = [...new Set((await allAuditEvents(A.admin)).map((e) => e.targetId))];

  bChange = await createChange(B.requester, {
    title: 'B: resize the log volume',
    description: 'Grow the log volume of tenant B.',
    affectedServices: ['b-logs'],
  });
}, 60_000);

describe('tenant A’s setup', () => {
  it('has A’s changes in the states the cross-tenant attempts need', () => {
    expect(Object.fromEntries(Object.entries(a).map(([k, c]) => [k, c.status]))).toEqual({
      draft: 'DRAFT',
      pending: 'PENDING_APPROVAL',
      approved: 'APPROVED',
      approvedForFreeze: 'APPROVED',
      scheduled: 'SCHEDULED',
      implementing: 'IMPLEMENTING',
      failed: 'FAILED',
      emergency: 'DRAFT',
      overridden: 'APPROVED',
      pciGap: 'PENDING_APPROVAL',
    });
    expect(aTargets).toEqual(
      expect.arrayContaining([...aIds, aFreeze.id, aKey.id, 'payments-db', aWorkflows.active.id]),
    );
    expect(aTargets.some((t) => t.startsWith('apr'))).toBe(true);
  });
});

/** What B does with each query, asserting it sees none of A's data. */
const QUERIES: Record<string, () => Promise<void>> = {
  async change() {
    for (const id of aIds) {
      const r = await asB(GET, { id });
      expect(r.status).toBe(404);
      expect(r.data ?? null).toBeNull();
      expect(codes(r)).toEqual(['CHANGE_NOT_FOUND']);
      // No oracle: A's existing id reads exactly like an id that never existed.
      const missing = id.replace(/.{6}$/, 'ZZZZZZ');
      const none = await asB(GET, { id: missing });
      expect(r.errors?.[0]?.message.replace(id, '<id>')).toBe(
        none.errors?.[0]?.message.replace(missing, '<id>'),
      );
    }
  },
  async changeReview() {
    const REVIEW =
      'query($id: ID!) { changeReview(id: $id) { change { id } conflicts { changeId } freezeWindows { id } } }';
    for (const id of aIds) {
      const r = await asB(REVIEW, { id });
      expect(r.data ?? null).toBeNull();
      expect(codes(r)).toEqual(['CHANGE_NOT_FOUND']);
    }
    // That B's review never shows A's scheduled changes or freeze windows over the same window:
    // test/mcp/apps.test.ts (it writes data of its own, which the cases here must not see).
  },
  async changes() {
    const filters: Record<string, unknown>[] = [
      {},
      { service: 'payments-db' },
      { search: 'payments' },
      { requesterId: 'rita' },
      { status: ['DRAFT', 'PENDING_APPROVAL', 'APPROVED', 'SCHEDULED', 'IMPLEMENTING', 'FAILED'] },
      { type: ['EMERGENCY', 'NORMAL'] },
    ];
    for (const filter of filters) {
      const r = await asB<{ changes: { nodes: { id: string }[]; totalCount: number } }>(CHANGES, {
        filter,
        first: 100,
      });
      expect(r.errors).toBeUndefined();
      const ids = r.data?.changes.nodes.map((n) => n.id) ?? [];
      expect(ids.filter((id) => aIds.includes(id))).toEqual([]);
      expect(r.data?.changes.totalCount).toBe(ids.length);
    }
    const all = await asB<{ changes: { nodes: { id: string }[] } }>(CHANGES, { first: 100 });
    expect(all.data?.changes.nodes.map((n) => n.id)).toEqual([bChange.id]);
  },
  async auditLog() {
    const r = await asB<{ auditLog: { nodes: { targetId: string; requestId: string }[] } }>(AUDIT, {
      first: 200,
    });
    expect(r.errors).toBeUndefined();
    const targets = r.data?.auditLog.nodes.map((n) => n.targetId) ?? [];
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter((t) => aTargets.includes(t))).toEqual([]);
    for (const targetId of aTargets) {
      const one = await asB<{ auditLog: { nodes: unknown[]; pageInfo: { hasNextPage: boolean } } }>(AUDIT, {
        targetId,
      });
      expect(one.errors).toBeUndefined();
      expect(one.data?.auditLog).toEqual({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } });
    }
  },
  async freezeWindows() {
    for (const vars of [{}, { from: inDays(59), to: inDays(62) }, { from: inDays(60, 12) }]) {
      const r = await asB<{ freezeWindows: unknown[] }>(FREEZES, vars);
      expect(r.errors).toBeUndefined();
      expect(r.data?.freezeWindows).toEqual([]);
    }
  },
  async services() {
    const r = await asB<{ services: { name: string; tags: string[] }[] }>(SERVICES);
    expect(r.errors).toBeUndefined();
    expect(r.data?.services).toEqual([{ name: 'b-logs', tags: [] }]);
  },
  async metrics() {
    const r = await asB<{
      metrics: {
        totalChanges: number;
        changesByStatus: { status: string; count: number }[];
      } & Record<string, unknown>;
    }>(METRICS);
    expect(r.errors).toBeUndefined();
    expect(r.data?.metrics).toMatchObject({
      totalChanges: 1,
      activeChanges: 1,
      pendingApprovals: 0,
      meanTimeToApproveHours: null,
      successRate: null,
      emergencyRatio: 0,
    });
    const nonZero = r.data?.metrics.changesByStatus.filter((s) => s.count > 0);
    expect(nonZero).toEqual([{ status: 'DRAFT', count: 1 }]);
  },
  async liveMetrics() {
    const r = await asB<{ liveMetrics: { kpis: { totalChanges: number; activeChanges: number } } }>(
      '{ liveMetrics { kpis { totalChanges activeChanges } system { requestsPerMinute } } }',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.liveMetrics.kpis).toEqual({ totalChanges: 1, activeChanges: 1 });
  },
  async complianceReport() {
    const period = { from: inDays(-1), to: inDays(1) };
    // Control: A's own report reviews A's changes and finds the PCI gap.
    const own = await gqlOk<{
      complianceReport: { changesReviewed: number; findings: { changeId: string }[] };
    }>(REPORT, period, A.manager);
    expect(own.complianceReport.changesReviewed).toBe(aIds.length);
    expect(own.complianceReport.findings.map((f) => f.changeId)).toContain(a.pciGap.id);

    const r = await asB<{
      complianceReport: { changesReviewed: number; score: number; findings: { changeId: string | null }[] };
    }>(REPORT, period);
    expect(r.errors).toBeUndefined();
    expect(r.data?.complianceReport).toMatchObject({ changesReviewed: 1, score: 100, findings: [] });
  },
  async auditDigests() {
    // A has a digest; B's list never shows it (B's own digests cover B's chain only).
    const own = (
      await gqlOk<{ createAuditDigest: { digest: { digestHash: string } } }>(CREATE_DIGEST, {}, A.admin)
    ).createAuditDigest.digest;
    const r = await asB<DigestList>(DIGESTS);
    expect(r.errors).toBeUndefined();
    const bHashes = new Set((await allAuditEvents(B.admin)).map((e) => e.hash));
    for (const d of r.data?.auditDigests.nodes ?? []) {
      expect(d.digestHash).not.toBe(own.digestHash);
      expect(bHashes.has(d.headHash)).toBe(true);
    }
  },
  async auditVerificationRuns() {
    // A run of A's in progress (as a FULL run longer than a page leaves it): B's list never has it.
    const at = new Date().toISOString();
    await env.DB.prepare(
      `INSERT INTO audit_verifications (tenant_id, id, mode, anchor, from_seq, to_seq, next_seq, prev_hash,
         checked, status, started_by, started_at, updated_at, background)
       VALUES (?1, ?2, 'FULL', 'GENESIS', 1, 5000, 1001, ?3, 1000, 'RUNNING', 'a-admin', ?4, ?4, 1)`,
    )
      .bind(A.tenant, crypto.randomUUID(), '0'.repeat(64), at)
      .run();
    const r = await asB<{ auditVerificationRuns: { id: string; startedBy: string }[] }>(
      '{ auditVerificationRuns { id startedBy } }',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data?.auditVerificationRuns).toEqual([]);
  },
  async verifyAuditChain() {
    const events = await allAuditEvents(B.admin);
    const r = await asB<{ verifyAuditChain: { valid: boolean; checked: number } }>(
      '{ verifyAuditChain { valid checked brokenAtSeq } }',
    );
    expect(r.data?.verifyAuditChain).toEqual({ valid: true, checked: events.length, brokenAtSeq: null });
  },
  async workflowSecrets() {
    const r = await asB<{ workflowSecrets: WorkflowSecret[] }>(LIST_SECRETS);
    expect(r.errors).toBeUndefined();
    expect(r.data?.workflowSecrets.map((s) => s.name)).not.toContain('UPSTREAM_TOKEN');
    expect(JSON.stringify(r)).not.toContain(A_SECRET_VALUE);
  },
  async webhookEndpoints() {
    const r = await asB<{ webhookEndpoints: { id: string }[] }>(WEBHOOK_ENDPOINTS);
    expect(r.errors).toBeUndefined();
    expect(r.data?.webhookEndpoints.map((e) => e.id)).not.toContain(aEndpoint.id);
    expect(JSON.stringify(r)).not.toContain(aEndpoint.secret.slice(6));
  },
  async webhookDeliveries() {
    const r = await asB(WEBHOOK_DELIVERIES, { e: aEndpoint.id });
    expect(codes(r)).toEqual(['WEBHOOK_ENDPOINT_NOT_FOUND']);
    expect(JSON.stringify(r)).not.toContain(aDeliveryId);
  },
  async deploymentIntegrations() {
    const r = await asB<{ deploymentIntegrations: { id: string }[] }>(INTEGRATIONS);
    expect(r.errors).toBeUndefined();
    expect(r.data?.deploymentIntegrations.map((i) => i.id)).not.toContain(aIntegration.id);
    expect(JSON.stringify(r)).not.toContain(aIntegration.secret);
  },
  async deployments() {
    const query = `query($i: ID) { deployments(integrationId: $i, first: 100) { nodes { id } } }`;
    const own = await gqlOk<{ deployments: { nodes: { id: string }[] } }>(
      query,
      { i: aIntegration.id },
      A.viewer,
    );
    expect(own.deployments.nodes.map((d) => d.id)).toEqual([aDeploymentId]);
    for (const vars of [{ i: aIntegration.id }, {}]) {
      const r = await asB<{ deployments: { nodes: { id: string }[] } }>(query, vars);
      expect(r.errors).toBeUndefined();
      expect(r.data?.deployments.nodes.map((d) => d.id)).not.toContain(aDeploymentId);
    }
  },
  async apiKeys() {
    const r = await asB<{ apiKeys: { id: string }[] }>(KEYS);
    expect(r.errors).toBeUndefined();
    expect(r.data?.apiKeys.map((k) => k.id)).not.toContain(aKey.id);
  },
  async workflow() {
    for (const w of Object.values(aWorkflows)) {
      const r = await asB(WORKFLOW, { id: w.id });
      expect(r.status).toBe(404);
      expect(r.data ?? null).toBeNull();
      expect(codes(r)).toEqual(['WORKFLOW-001']);
      expect(r.errors?.[0]?.message).not.toContain(w.name);
    }
  },
  async workflows() {
    for (const filter of [{}, { status: 'ACTIVE' }, { status: 'INACTIVE' }, { nameContains: 'A:' }]) {
      const r = await asB<{ workflows: { nodes: { id: string }[] } }>(WORKFLOWS, { filter });
      expect(r.errors).toBeUndefined();
      const ids = r.data?.workflows.nodes.map((n) => n.id) ?? [];
      expect(ids.filter((id) => id === aWorkflows.active.id || id === aWorkflows.inactive.id)).toEqual([]);
    }
  },
  async execution() {
    const r = await asB(EXECUTION, { id: aExecution.id });
    expect(r.status).toBe(404);
    expect(r.data ?? null).toBeNull();
    expect(codes(r)).toEqual(['EXECUTION-010']);
  },
  async waitForExecution() {
    // Refused at once, not after the wait: B learns nothing from the timing either.
    const started = Date.now();
    const r = await asB(WAIT_FOR_EXECUTION, { id: aExecution.id });
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(r.status).toBe(404);
    expect(r.data ?? null).toBeNull();
    expect(codes(r)).toEqual(['EXECUTION-010']);
  },
  async executionStep() {
    // Control: A reads its own execution's step (null until the engine has started it).
    const own = await gqlOk<{ executionStep: { stepId: string } | null }>(
      EXECUTION_STEP,
      { id: aExecution.id },
      A.viewer,
    );
    expect([null, 'wait']).toContain(own.executionStep?.stepId ?? null);
    const r = await asB<{ executionStep: unknown }>(EXECUTION_STEP, { id: aExecution.id });
    expect(r.status).toBe(404);
    // A nullable field: null in data, and the error.
    expect(r.data?.executionStep ?? null).toBeNull();
    expect(codes(r)).toEqual(['EXECUTION-010']);
  },
  async executions() {
    for (const filter of [
      {},
      { workflowId: aWorkflows.active.id },
      { status: 'PENDING' },
      { status: 'RUNNING' },
    ]) {
      const r = await asB<{ executions: { nodes: { id: string }[] } }>(EXECUTIONS, { filter });
      expect(r.errors).toBeUndefined();
      expect(r.data?.executions.nodes.map((n) => n.id)).not.toContain(aExecution.id);
    }
  },
  async circuitBreakers() {
    const r = await asB<{ circuitBreakers: { host: string }[] }>('{ circuitBreakers { host state } }');
    expect(r.errors).toBeUndefined();
    expect(r.data?.circuitBreakers).toEqual([]);
  },
  async standardChangeTemplates() {
    const r = await asB<{ standardChangeTemplates: { id: string }[] }>(TEMPLATES);
    expect(r.errors).toBeUndefined();
    expect(r.data?.standardChangeTemplates.map((t) => t.id)).not.toContain(aTemplate.id);
  },
  async standardChangeTemplate() {
    const r = await asB(TEMPLATE, { id: aTemplate.id });
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['TEMPLATE_NOT_FOUND']);
  },
  async me() {
    const r = await asB<{ me: { tenantId: string } }>('{ me { tenantId } }');
    expect(r.data?.me.tenantId).toBe(B.tenant);
  },
  async egressPolicy() {
    const r = await asB<{ egressPolicy: unknown }>(EGRESS);
    expect(r.errors).toBeUndefined();
    expect(r.data?.egressPolicy).toEqual({ allowedHosts: [], restricted: false, updatedBy: null });
  },
  async retentionPolicy() {
    // A's policy is set before (setRetentionPolicy's case runs later): B still sees its defaults.
    await gqlOk('mutation { setRetentionPolicy(stepOutputDays: 5) { stepOutputDays } }', {}, A.admin);
    const r = await asB<{ retentionPolicy: unknown }>(RETENTION);
    expect(r.data?.retentionPolicy).toEqual({ stepOutputDays: 90, legalHold: false, updatedBy: null });
  },
};

/** A mutation aimed at one of A's changes: B must get CHANGE_NOT_FOUND and A's change must not move. */
interface ChangeCase {
  target: keyof AChanges;
  query: string;
  vars: (id: string) => Record<string, unknown>;
}
/** A mutation that takes no id of A's: asserted by hand. */
type CustomCase = () => Promise<void>;

/** B aims a workflow mutation at each of A's workflows: WORKFLOW-001, and A's workflow does not move. */
async function workflowUntouched(query: string, vars: (id: string) => Record<string, unknown>) {
  for (const w of Object.values(aWorkflows)) {
    const before = await gqlOk<{ workflow: Workflow }>(WORKFLOW, { id: w.id }, A.viewer);
    const r = await asB(query, vars(w.id));
    expect(r.status).toBe(404);
    expect(r.data ?? null).toBeNull();
    expect(codes(r)).toEqual(['WORKFLOW-001']);
    expect(await gqlOk(WORKFLOW, { id: w.id }, A.viewer)).toEqual(before);
  }
}

/** B aims a template mutation at A's template: TEMPLATE_NOT_FOUND, and A's template does not move. */
async function templateUntouched(query: string, vars: Record<string, unknown>) {
  const before = await gqlOk(TEMPLATE, { id: aTemplate.id }, A.viewer);
  const r = await asB(query, vars);
  expect(r.status).toBe(404);
  expect(r.data ?? null).toBeNull();
  expect(codes(r)).toEqual(['TEMPLATE_NOT_FOUND']);
  expect(await gqlOk(TEMPLATE, { id: aTemplate.id }, A.viewer)).toEqual(before);
}

/** B aims an endpoint mutation at A's endpoint: not found, and A's endpoint does not move. */
async function endpointUntouched(field: string) {
  const before = await gqlOk(WEBHOOK_ENDPOINTS, {}, A.admin);
  const r = await asB(`mutation($id: ID!) { ${field} }`, { id: aEndpoint.id });
  expect(r.status).toBe(404);
  expect(codes(r)).toEqual(['WEBHOOK_ENDPOINT_NOT_FOUND']);
  expect(await gqlOk(WEBHOOK_ENDPOINTS, {}, A.admin)).toEqual(before);
}

/** B aims an integration mutation at A's integration: not found, and A's integration does not move. */
async function integrationUntouched(query: string, vars: Record<string, unknown>) {
  const before = await gqlOk(INTEGRATIONS, {}, A.admin);
  const r = await asB(query, vars);
  expect(r.status).toBe(404);
  expect(codes(r)).toEqual(['DEPLOYMENT_INTEGRATION_NOT_FOUND']);
  expect(await gqlOk(INTEGRATIONS, {}, A.admin)).toEqual(before);
  // A's secret still signs A's deliveries.
  expect((await sendGitHub(aIntegration, 'ping', { zen: 'still A' })).status).toBe(200);
}

const MUTATIONS: Record<string, ChangeCase | CustomCase> = {
  createDeploymentIntegration: async () => {
    // B cannot map its environments onto A's template: it does not exist in B.
    const r = await asB(CREATE_INTEGRATION, {
      name: 'B pipeline',
      kind: 'GITHUB',
      environments: [{ environment: 'production', templateId: aIntegration.templateId }],
    });
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(r.errors?.[0]?.message).toContain('does not exist');
  },
  createWebhookEndpoint: async () => {
    // B's own endpoint (made in the set-up, before A's changes) hears B's writes, never A's.
    const heard = await fetch(`${inject('upstreamUrl')}/captured/${bEndpointKey}`);
    const bodies = ((await heard.json()) as { requests: { body: string }[] }).requests.map((r) => r.body);
    for (const id of aIds) for (const body of bodies) expect(body).not.toContain(id);
    expect(JSON.stringify(bodies)).not.toContain(A.tenant);
    const listed = await asB<{ webhookEndpoints: { id: string }[] }>(WEBHOOK_ENDPOINTS);
    expect(listed.data?.webhookEndpoints).toHaveLength(1);
    expect(listed.data?.webhookEndpoints.map((e) => e.id)).not.toContain(aEndpoint.id);
  },
  rotateWebhookEndpointSecret: () => endpointUntouched('rotateWebhookEndpointSecret(id: $id) { secret }'),
  disableWebhookEndpoint: () => endpointUntouched('disableWebhookEndpoint(id: $id) { enabled }'),
  enableWebhookEndpoint: () => endpointUntouched('enableWebhookEndpoint(id: $id) { enabled }'),
  redeliverWebhook: async () => {
    const before = await gqlOk(WEBHOOK_DELIVERIES, { e: aEndpoint.id }, A.admin);
    const r = await asB('mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', {
      id: aDeliveryId,
    });
    expect(codes(r)).toEqual(['WEBHOOK_DELIVERY_NOT_FOUND']);
    expect(await gqlOk(WEBHOOK_DELIVERIES, { e: aEndpoint.id }, A.admin)).toEqual(before);
  },
  rotateDeploymentIntegrationSecret: () => integrationUntouched(ROTATE_INTEGRATION, { id: aIntegration.id }),
  updateDeploymentIntegration: () =>
    integrationUntouched(UPDATE_INTEGRATION, { id: aIntegration.id, name: 'renamed by B' }),
  disableDeploymentIntegration: () => integrationUntouched(DISABLE_INTEGRATION, { id: aIntegration.id }),
  updateStandardChangeTemplate: () =>
    templateUntouched(
      `mutation($id: ID!, $input: UpdateStandardChangeTemplateInput!) {
        updateStandardChangeTemplate(id: $id, input: $input) { id } }`,
      { id: aTemplate.id, input: { riskLevel: 'LOW', affectedServices: ['b-logs'] } },
    ),
  retireStandardChangeTemplate: () =>
    templateUntouched('mutation($id: ID!) { retireStandardChangeTemplate(id: $id) { id } }', {
      id: aTemplate.id,
    }),
  createChangeFromTemplate: () =>
    templateUntouched(
      `mutation($id: ID!, $input: CreateChangeFromTemplateInput!) {
        createChangeFromTemplate(templateId: $id, input: $input) { id } }`,
      {
        id: aTemplate.id,
        input: {
          titleVariables: [{ name: 'service', value: 'b' }],
          plannedStart: inDays(9),
          plannedEnd: inDays(9, 12),
        },
      },
    ),
  async createStandardChangeTemplate() {
    // B cannot carry A's workflow as a runbook: it does not exist in B.
    const r = await asB(CREATE_TEMPLATE, {
      input: templateInput('B: steal A runbook', aWorkflows.active.id),
    });
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(r.errors?.[0]?.message).toContain('does not exist');
    const own = await gqlOk<{ standardChangeTemplates: { id: string }[] }>(TEMPLATES, {}, A.viewer);
    // A's own: the TLS rotation, and its deployment integration's template.
    expect(own.standardChangeTemplates.map((t) => t.id).sort()).toEqual(
      [aTemplate.id, aIntegration.templateId].sort(),
    );
  },
  executeWorkflow: () =>
    workflowUntouched('mutation($id: ID!) { executeWorkflow(workflowId: $id) { id } }', (id) => ({ id })),
  async cancelExecution() {
    const before = await gqlOk<{ execution: unknown }>(EXECUTION, { id: aExecution.id }, A.viewer);
    const r = await asB('mutation($id: ID!) { cancelExecution(id: $id) { id } }', { id: aExecution.id });
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['EXECUTION-010']);
    const after = await gqlOk<{ execution: { cancelRequestedAt: string | null } }>(
      EXECUTION,
      { id: aExecution.id },
      A.viewer,
    );
    expect(after.execution.cancelRequestedAt).toBeNull();
    expect((before.execution as { id: string }).id).toBe(aExecution.id);
  },
  updateWorkflow: () =>
    workflowUntouched(
      `mutation($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { id } }`,
      (id) => ({ id, input: { name: 'Hijacked by B', steps: [{ id: 'x', type: 'delay', durationMs: 1 }] } }),
    ),
  activateWorkflow: () =>
    workflowUntouched('mutation($id: ID!) { activateWorkflow(id: $id) { id } }', (id) => ({ id })),
  deactivateWorkflow: () =>
    workflowUntouched('mutation($id: ID!) { deactivateWorkflow(id: $id) { id } }', (id) => ({ id })),
  deleteWorkflow: () =>
    workflowUntouched('mutation($id: ID!) { deleteWorkflow(id: $id) { id } }', (id) => ({ id })),
  async createWorkflow() {
    // Names are unique per tenant: B may use the name of A's ACTIVE workflow.
    const r = await asB<{ createWorkflow: Workflow }>(CREATE_WORKFLOW, {
      input: workflowInput(aWorkflows.active.name),
    });
    expect(r.errors).toBeUndefined();
    const bId = r.data?.createWorkflow.id as string;
    const own = await gqlOk<{ workflows: { nodes: { id: string }[] } }>(WORKFLOWS, {}, A.viewer);
    expect(own.workflows.nodes.map((n) => n.id).sort()).toEqual(
      [aWorkflows.active.id, aWorkflows.inactive.id].sort(),
    );
    expect(codes(await gql(WORKFLOW, { id: bId }, { token: A.admin }))).toEqual(['WORKFLOW-001']);
    // An approval gate on A's change reads to B like a change that does not exist.
    const gate = await asB(CREATE_WORKFLOW, {
      input: workflowInput('B: gate on A', [{ id: 'gate', type: 'approval-gate', changeId: a.pending.id }]),
    });
    expect(codes(gate)).toEqual(['WORKFLOW-002']);
    expect(gate.errors?.[0]?.message).not.toContain(a.pending.title);
  },
  updateChangeRequest: {
    target: 'draft',
    query: `mutation($id: ID!, $input: UpdateChangeRequestInput!) {
      updateChangeRequest(id: $id, input: $input) { id title } }`,
    vars: (id) => ({ id, input: { title: 'Hijacked by tenant B', affectedServices: ['b-logs'] } }),
  },
  submitChange: { target: 'draft', query: SUBMIT, vars: (id) => ({ id }) },
  assessRisk: {
    target: 'pending',
    query: 'mutation($id: ID!) { assessRisk(id: $id) { score } }',
    vars: (id) => ({ id }),
  },
  approveChange: { target: 'pending', query: APPROVE, vars: (id) => ({ id, comment: 'Tenant B agrees' }) },
  rejectChange: { target: 'pending', query: REJECT, vars: (id) => ({ id, reason: 'Tenant B objects' }) },
  scheduleChange: {
    target: 'approved',
    query: SCHEDULE,
    vars: (id) => ({ id, start: inDays(5), end: inDays(5, 12) }),
  },
  startImplementation: { target: 'scheduled', query: START, vars: (id) => ({ id }) },
  completeChange: { target: 'implementing', query: COMPLETE, vars: (id) => ({ id }) },
  failChange: { target: 'implementing', query: FAIL, vars: (id) => ({ id, reason: 'Tenant B says so' }) },
  rollBackChange: { target: 'failed', query: ROLL_BACK, vars: (id) => ({ id, reason: 'Tenant B' }) },
  cancelChange: { target: 'approved', query: CANCEL, vars: (id) => ({ id, reason: 'Tenant B' }) },
  emergencyOverride: {
    target: 'emergency',
    query: OVERRIDE,
    vars: (id) => ({ id, justification: 'Tenant B wants this approved at once.' }),
  },
  completeEmergencyReview: {
    target: 'overridden',
    query: `mutation($id: ID!, $notes: String!) { completeEmergencyReview(id: $id, notes: $notes) { id } }`,
    vars: (id) => ({ id, notes: 'Reviewed by tenant B, all fine.' }),
  },
  async deleteFreezeWindow() {
    const r = await asB(DELETE_FREEZE, { id: aFreeze.id });
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['FREEZE_WINDOW_NOT_FOUND']);
    const own = await gqlOk<{ freezeWindows: { id: string }[] }>(FREEZES, {}, A.viewer);
    expect(own.freezeWindows.map((w) => w.id)).toEqual([aFreeze.id]);
  },
  async createFreezeWindow() {
    const r = await asB<{ createFreezeWindow: { id: string } }>(FREEZE, {
      name: 'B freeze over A’s dates',
      startsAt: inDays(6, 0),
      endsAt: inDays(8, 0),
    });
    expect(r.errors).toBeUndefined();
    const bWindow = r.data?.createFreezeWindow.id as string;
    const own = await gqlOk<{ freezeWindows: { id: string }[] }>(FREEZES, {}, A.viewer);
    expect(own.freezeWindows.map((w) => w.id)).toEqual([aFreeze.id]);
    // B's freeze does not bind A: A schedules a NORMAL change inside it.
    const scheduled = await schedule(A.manager, a.approvedForFreeze.id, 7);
    expect(scheduled.scheduleChange.change.status).toBe('SCHEDULED');
    // ...and A cannot delete B's window either.
    const del = await gql(DELETE_FREEZE, { id: bWindow }, { token: A.admin });
    expect(codes(del)).toEqual(['FREEZE_WINDOW_NOT_FOUND']);
  },
  async tagService() {
    const r = await asB<{ tagService: { name: string; tags: string[] } }>(TAG, {
      name: 'payments-db',
      tags: [],
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?.tagService).toEqual({ name: 'payments-db', tags: [] });
    const own = await gqlOk<{ services: { name: string; tags: string[] }[] }>(SERVICES, {}, A.viewer);
    expect(own.services).toContainEqual({ name: 'payments-db', tags: ['pci'] });
    expect(own.services.map((s) => s.name)).not.toContain('b-logs');
    // A's PCI finding still stands: B's untagging did not reach A's compliance scope.
    const report = await gqlOk<{ complianceReport: { findings: { checkId: string; changeId: string }[] } }>(
      REPORT,
      { from: inDays(-1), to: inDays(1) },
      A.manager,
    );
    expect(report.complianceReport.findings).toContainEqual(
      expect.objectContaining({ checkId: 'PCI-6.4', changeId: a.pciGap.id }),
    );
  },
  async setWorkflowSecret() {
    // B setting A's name makes B's own secret: A's row, hosts and key stay as they were.
    const r = await asB<{ setWorkflowSecret: WorkflowSecret }>(SET_SECRET, {
      name: 'UPSTREAM_TOKEN',
      value: 'b-value',
      hosts: ['api.b.example'],
    });
    expect(r.errors).toBeUndefined();
    expect(r.data?.setWorkflowSecret.allowedHosts).toEqual(['api.b.example']);
    expect(await listSecrets(A.admin)).toEqual([aSecret]);
  },
  async deleteWorkflowSecret() {
    // B deletes its own UPSTREAM_TOKEN, then finds no other: A's is out of reach.
    await setSecret(B.admin, 'UPSTREAM_TOKEN', 'b-value', ['api.b.example']);
    expect((await asB(DELETE_SECRET, { name: 'UPSTREAM_TOKEN' })).errors).toBeUndefined();
    const again = await asB(DELETE_SECRET, { name: 'UPSTREAM_TOKEN' });
    expect(again.status).toBe(404);
    expect(codes(again)).toEqual(['WORKFLOW_SECRET_NOT_FOUND']);
    expect(await listSecrets(A.admin)).toEqual([aSecret]);
  },
  async createAuditDigest() {
    // B's digest covers B's chain; A's digests are as they were.
    const before = (await gqlOk<DigestList>(DIGESTS, {}, A.admin)).auditDigests.nodes;
    const r = await asB<{
      createAuditDigest: { created: boolean; digest: { toSeq: number; headHash: string } };
    }>(CREATE_DIGEST);
    expect(r.errors).toBeUndefined();
    const bEvents = await allAuditEvents(B.admin);
    const head = bEvents.find((e) => e.seq === r.data?.createAuditDigest.digest.toSeq);
    expect(head?.hash).toBe(r.data?.createAuditDigest.digest.headHash);
    expect((await gqlOk<DigestList>(DIGESTS, {}, A.admin)).auditDigests.nodes).toEqual(before);
  },
  async exportTenant() {
    // B's export is of B: under B's prefix, and no row of it is A's.
    const r = await asB<{ exportTenant: { prefix: string; status: string } }>(
      'mutation { exportTenant { prefix status } }',
    );
    expect(r.data?.exportTenant).toMatchObject({ status: 'COMPLETE' });
    expect(r.data?.exportTenant.prefix.startsWith(`exports/${B.tenant}/`)).toBe(true);
    const objects = (await env.AUDIT_ARCHIVE.list({ prefix: r.data?.exportTenant.prefix })).objects;
    for (const o of objects.filter((x) => x.key.endsWith('.gz'))) {
      const body = (await env.AUDIT_ARCHIVE.get(o.key)) as R2ObjectBody;
      const text = await gunzip(new Uint8Array(await body.arrayBuffer()));
      expect(
        aIds.filter((id) => text.includes(id)),
        o.key,
      ).toEqual([]);
      expect(text).not.toContain(A.tenant);
    }
    expect((await env.AUDIT_ARCHIVE.list({ prefix: `exports/${A.tenant}/` })).objects).toEqual([]);
  },
  async setRetentionPolicy() {
    const before = (await gqlOk<{ retentionPolicy: unknown }>(RETENTION, {}, A.admin)).retentionPolicy;
    const r = await asB<{ setRetentionPolicy: { legalHold: boolean } }>(
      'mutation { setRetentionPolicy(stepOutputDays: 7) { legalHold } }',
    );
    expect(r.errors).toBeUndefined();
    expect((await gqlOk<{ retentionPolicy: unknown }>(RETENTION, {}, A.admin)).retentionPolicy).toEqual(
      before,
    );
  },
  async eraseUserData() {
    // A person only A knows: B's admin cannot name them, and their name stays in A.
    const person = await token({
      tenant: A.tenant,
      sub: 'only-in-a',
      roles: ['requester'],
      name: 'Only In A',
    });
    await createChange(person, { title: 'A change of a person only A knows' });
    const r = await asB('mutation { eraseUserData(userId: "only-in-a") { userId } }');
    expect(codes(r)).toEqual(['USER_NOT_FOUND']);
    const { results } = await env.DB.prepare(
      'SELECT display_name, erased_at FROM users WHERE tenant_id = ?1 AND id = ?2',
    )
      .bind(A.tenant, 'only-in-a')
      .all();
    expect(results).toEqual([{ display_name: 'Only In A', erased_at: null }]);
  },
  async setEgressPolicy() {
    // B's allow-list is B's: A's stays as it was, and each binds only its own workflows.
    const r = await asB<{ setEgressPolicy: { allowedHosts: string[] } }>(SET_EGRESS, {
      hosts: ['b-only.example.com'],
    });
    expect(r.data?.setEgressPolicy.allowedHosts).toEqual(['b-only.example.com']);
    const own = await gqlOk<{ egressPolicy: { allowedHosts: string[] } }>(EGRESS, {}, A.admin);
    expect(own.egressPolicy.allowedHosts).toEqual(['a-only.example.com']);
    expect(
      (await gql(SAVE_HTTP, httpWorkflow('A calls A', 'https://a-only.example.com/'), { token: A.manager }))
        .errors,
    ).toBeUndefined();
    expect(
      codes(
        await gql(SAVE_HTTP, httpWorkflow('A calls B', 'https://b-only.example.com/'), { token: A.manager }),
      ),
    ).toEqual(['EGRESS_DENIED']);
    expect(codes(await asB(SAVE_HTTP, httpWorkflow('B calls A', 'https://a-only.example.com/')))).toEqual([
      'EGRESS_DENIED',
    ]);
  },
  async revokeApiKey() {
    const r = await asB(REVOKE_KEY, { id: aKey.id });
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['API_KEY_NOT_FOUND']);
    const own = await gqlOk<{ apiKeys: { id: string; revokedAt: string | null }[] }>(KEYS, {}, A.admin);
    expect(own.apiKeys).toContainEqual(expect.objectContaining({ id: aKey.id, revokedAt: null }));
    // A's integration still gets in, as tenant A.
    const me = await gql<{ me: { tenantId: string } }>(
      '{ me { tenantId } }',
      {},
      { headers: { 'x-api-key': aKey.secret } },
    );
    expect(me.data?.me.tenantId).toBe(A.tenant);
  },
  async createApiKey() {
    const r = await asB<{ createApiKey: { apiKey: { id: string }; secret: string } }>(CREATE_KEY, {
      name: 'B integration',
      roles: ['admin'],
    });
    expect(r.errors).toBeUndefined();
    const bKey = r.data?.createApiKey as { apiKey: { id: string }; secret: string };
    const own = await gqlOk<{ apiKeys: { id: string }[] }>(KEYS, {}, A.admin);
    expect(own.apiKeys.map((k) => k.id)).not.toContain(bKey.apiKey.id);
    // B's admin key acts in tenant B only.
    const headers = { 'x-api-key': bKey.secret };
    const me = await gql<{ me: { tenantId: string } }>('{ me { tenantId } }', {}, { headers });
    expect(me.data?.me.tenantId).toBe(B.tenant);
    const read = await gql(GET, { id: a.draft.id }, { headers });
    expect(codes(read)).toEqual(['CHANGE_NOT_FOUND']);
    // ...and A cannot revoke it.
    const revoke = await gql(REVOKE_KEY, { id: bKey.apiKey.id }, { token: A.admin });
    expect(codes(revoke)).toEqual(['API_KEY_NOT_FOUND']);
  },
  async createChangeRequest() {
    const r = await asB<{ createChangeRequest: Change }>(
      `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id status } }`,
      {
        input: {
          title: 'B: touch a service named like A’s',
          description: 'Same service name as tenant A.',
          impact: 'HIGH',
          urgency: 'HIGH',
          affectedServices: ['payments-db'],
        },
      },
    );
    expect(r.errors).toBeUndefined();
    const id = r.data?.createChangeRequest.id as string;
    const list = await gqlOk<{ changes: { nodes: { id: string }[] } }>(CHANGES, { first: 100 }, A.viewer);
    expect(list.changes.nodes.map((n) => n.id)).not.toContain(id);
    const read = await gql(GET, { id }, { token: A.admin });
    expect(codes(read)).toEqual(['CHANGE_NOT_FOUND']);
    const metrics = await gqlOk<{ metrics: { totalChanges: number } }>(METRICS, {}, A.viewer);
    expect(metrics.metrics.totalChanges).toBe(aIds.length);
  },
};

const queryNames = Object.keys(schema.getQueryType()?.getFields() ?? {});
const mutationNames = Object.keys(schema.getMutationType()?.getFields() ?? {});

describe('tenant B (admin) against tenant A', () => {
  it('has a cross-tenant case for every query and every mutation of the schema', () => {
    expect(Object.keys(QUERIES).sort()).toEqual([...queryNames].sort());
    expect(Object.keys(MUTATIONS).sort()).toEqual([...mutationNames].sort());
  });

  it.each(queryNames)('query %s shows B none of A’s data', async (name) => {
    const run = QUERIES[name];
    if (!run) throw new Error(`No cross-tenant case for query ${name}: add one to QUERIES`);
    await run();
  });

  it.each(mutationNames)('mutation %s cannot reach A’s data', async (name) => {
    const c = MUTATIONS[name];
    if (!c) throw new Error(`No cross-tenant case for mutation ${name}: add one to MUTATIONS`);
    if (typeof c === 'function') return c();
    const id = a[c.target].id;
    const before = await readA(id);
    const r = await asB(c.query, c.vars(id));
    expect(r.status).toBe(404);
    expect(r.data ?? null).toBeNull();
    expect(codes(r)).toEqual(['CHANGE_NOT_FOUND']);
    expect(r.errors?.[0]?.message).not.toContain(before.title);
    const after = await readA(id);
    expect(after).toEqual(before);
  });

  it('left no trace of B in A’s audit trail, and A’s chain is intact', async () => {
    expect(bRequestIds.size).toBeGreaterThan(mutationNames.length);
    const events = await allAuditEvents(A.admin);
    expect(events.filter((e) => bRequestIds.has(e.requestId))).toEqual([]);
    const stored = await env.DB.prepare(
      'SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1 AND request_id IN (SELECT value FROM json_each(?2))',
    )
      .bind(A.tenant, JSON.stringify([...bRequestIds]))
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);
    const chain = await gqlOk<{ verifyAuditChain: { valid: boolean } }>(
      '{ verifyAuditChain { valid } }',
      {},
      A.manager,
    );
    expect(chain.verifyAuditChain.valid).toBe(true);
  });

  it('left A’s approvals alone: the pending change still has no votes', async () => {
    const pending = await readA(a.pending.id);
    expect(pending.status).toBe('PENDING_APPROVAL');
    expect(pending.approvals).toEqual([]);
  });
});
