import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { signWebhook } from '../../src/engine/webhookSignature';
import { cast, gql, gqlOk } from '../helpers/changes';
import { createTemplate } from '../helpers/templates';

/** Deployment integrations and deliveries to /hooks/deployments, as a pipeline sends them. */

let counter = 0;
export async function freshCast() {
  counter += 1;
  return cast(`dep-${Date.now().toString(36)}-${counter}`);
}
export type Cast = Awaited<ReturnType<typeof freshCast>>;

export const INTEGRATION_FIELDS =
  'id name kind status secretVersion hookPath environments { environment templateId } createdBy disabledAt';

export const CREATE_INTEGRATION = `mutation($name: String!, $kind: DeploymentIntegrationKind!, $environments: [DeploymentEnvironmentInput!]!) {
  createDeploymentIntegration(name: $name, kind: $kind, environments: $environments) {
    secret integration { ${INTEGRATION_FIELDS} } } }`;
export const ROTATE = `mutation($id: ID!) { rotateDeploymentIntegrationSecret(id: $id) { secret integration { ${INTEGRATION_FIELDS} } } }`;
export const UPDATE = `mutation($id: ID!, $name: String, $environments: [DeploymentEnvironmentInput!]) {
  updateDeploymentIntegration(id: $id, name: $name, environments: $environments) { ${INTEGRATION_FIELDS} } }`;
export const DISABLE = `mutation($id: ID!) { disableDeploymentIntegration(id: $id) { ${INTEGRATION_FIELDS} } }`;
export const LIST = `query { deploymentIntegrations { ${INTEGRATION_FIELDS} } }`;
export const DEPLOYMENTS = `query($changeId: ID, $first: Int, $after: String) {
  deployments(changeId: $changeId, first: $first, after: $after) {
    nodes { id integrationId externalId environment commit ref url status changeId changeCreated blockedCode blockedReason }
    pageInfo { hasNextPage endCursor } } }`;

export interface Integration {
  id: string;
  secret: string;
  templateId: string;
}

/** A LOW-risk template whose title a deployment fills in. */
export const deployTemplate = (tok: string, overrides: Record<string, unknown> = {}) =>
  createTemplate(tok, {
    name: 'Application deployment',
    titlePattern: 'Deploy {{ref}} to {{environment}}',
    titleVariables: ['ref', 'environment'],
    ...overrides,
  });

export async function createIntegration(
  c: Cast,
  kind: 'GITHUB' | 'GENERIC',
  opts: { templateId?: string; environment?: string } = {},
): Promise<Integration> {
  const templateId = opts.templateId ?? (await deployTemplate(c.manager)).id;
  const data = await gqlOk<{ createDeploymentIntegration: { secret: string; integration: { id: string } } }>(
    CREATE_INTEGRATION,
    {
      name: `${kind.toLowerCase()} pipeline`,
      kind,
      environments: [{ environment: opts.environment ?? 'production', templateId }],
    },
    c.admin,
  );
  return {
    id: data.createDeploymentIntegration.integration.id,
    secret: data.createDeploymentIntegration.secret,
    templateId,
  };
}

const encoder = new TextEncoder();

/** GitHub's X-Hub-Signature-256, computed as GitHub documents it (not with our code). */
export async function githubSignature(
  secret: string,
  body: string | Uint8Array<ArrayBuffer>,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    encoder.encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const bytes = typeof body === 'string' ? encoder.encode(body) : body;
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, bytes));
  return `sha256=${[...mac].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

export interface HookAnswer {
  status: number;
  body: {
    allowed?: boolean;
    deploymentId?: string;
    changeId?: string | null;
    status?: string | null;
    code?: string;
    reason?: string;
    ok?: boolean;
    ignored?: boolean;
    error?: { code: string; message: string };
  };
}

export async function post(
  integrationId: string,
  body: string | Uint8Array<ArrayBuffer>,
  headers: Record<string, string>,
): Promise<HookAnswer> {
  const res = await exports.default.fetch(`http://cf.test/hooks/deployments/${integrationId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

export function githubDeployment(overrides: Record<string, unknown> = {}, payload: unknown = {}) {
  return {
    action: 'created',
    deployment: {
      id: 1_000_000 + Math.floor(Math.random() * 1_000_000),
      sha: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      ref: 'main',
      environment: 'production',
      payload,
      url: 'https://api.github.com/repos/acme/shop/deployments/1',
      ...overrides,
    },
    repository: { full_name: 'acme/shop' },
  };
}

export function githubStatus(deployment: ReturnType<typeof githubDeployment>, state: string) {
  return {
    action: 'created',
    deployment_status: {
      state,
      environment_url: 'https://shop.example.com',
      log_url: 'https://github.com/acme/shop/actions/runs/1',
    },
    deployment: deployment.deployment,
  };
}

/** Sends a GitHub event, signed with `secret` unless a signature (or null: none) is given. */
export async function sendGitHub(
  i: Pick<Integration, 'id' | 'secret'>,
  event: string,
  payload: unknown,
  opts: { delivery?: string; signature?: string | null; secret?: string; raw?: string } = {},
): Promise<HookAnswer & { delivery: string }> {
  const body = opts.raw ?? JSON.stringify(payload);
  const delivery = opts.delivery ?? crypto.randomUUID();
  const signature =
    opts.signature === undefined ? await githubSignature(opts.secret ?? i.secret, body) : opts.signature;
  const headers: Record<string, string> = { 'x-github-event': event, 'x-github-delivery': delivery };
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return { ...(await post(i.id, body, headers)), delivery };
}

export function genericBody(overrides: Record<string, unknown> = {}) {
  return {
    deploymentId: `build-${Math.random().toString(36).slice(2, 10)}`,
    environment: 'production',
    commit: '0123456789abcdef0123456789abcdef01234567',
    ref: 'refs/heads/main',
    url: 'https://ci.example.com/builds/42',
    status: 'started',
    ...overrides,
  };
}

export async function sendGeneric(
  i: Pick<Integration, 'id' | 'secret'>,
  payload: unknown,
  opts: { timestamp?: number; secret?: string; signature?: string | null; raw?: string } = {},
): Promise<HookAnswer> {
  const body = opts.raw ?? JSON.stringify(payload);
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature =
    opts.signature === undefined
      ? await signWebhook(opts.secret ?? i.secret, timestamp, body)
      : opts.signature;
  const headers: Record<string, string> = { 'x-changeflow-timestamp': String(timestamp) };
  if (signature !== null) headers['x-changeflow-signature'] = signature;
  return post(i.id, body, headers);
}

/** A change as stored (D1), read as the tenant's `tok` would see it by id. */
export async function getChange(_tok: string, id: string) {
  const row = await env.DB.prepare(
    `SELECT id, status, type, template_id AS templateId, requester_id AS requesterId, planned_start AS plannedStart,
            failure_reason AS failureReason FROM change_requests WHERE id = ?1`,
  )
    .bind(id)
    .first<{
      id: string;
      status: string;
      type: string;
      templateId: string | null;
      requesterId: string;
      plannedStart: string | null;
      failureReason: string | null;
    }>();
  if (!row) throw new Error(`no change ${id}`);
  return row;
}

/** The tenant's audit rows, straight from D1, oldest first. */
export async function auditRows(tenant: string) {
  const { results } = await env.DB.prepare(
    'SELECT seq, actor_id, actor_type, source, action, target_type, target_id, before_json, after_json FROM audit_events WHERE tenant_id = ?1 ORDER BY seq',
  )
    .bind(tenant)
    .all<{
      seq: number;
      actor_id: string;
      actor_type: string;
      source: string;
      action: string;
      target_type: string;
      target_id: string;
      before_json: string | null;
      after_json: string | null;
    }>();
  return results;
}

export { gql, gqlOk };
