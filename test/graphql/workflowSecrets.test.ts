import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/domain/auditChain';
import { createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import { cast } from '../helpers/changes';
import { gql, gqlOk } from '../helpers/graphql';
import { callTool, mcpClient, toolError } from '../helpers/mcp';
import {
  DELETE_SECRET,
  LIST_SECRETS,
  listSecrets,
  SET_SECRET,
  scanD1,
  setSecret,
  trySetSecret,
  valueForms,
} from '../helpers/secrets';

/**
 * Workflow secrets through GraphQL and MCP, tried as an attacker would: another tenant, a lesser
 * role, a replayed request, a row copied in the database. The store's values never come back.
 */

const codes = (r: { errors?: { extensions?: { code?: string } }[] }) =>
  r.errors?.map((e) => e.extensions?.code);
const issues = (r: { errors?: { extensions?: Record<string, unknown> }[] }) =>
  (r.errors?.[0]?.extensions?.issues ?? []) as { field: string; message: string }[];
let n = 0;
const tenants = async (label: string) => {
  n += 1;
  const stamp = `${label}-${Date.now().toString(36)}-${n}`;
  return { a: await cast(`sec-a-${stamp}`), b: await cast(`sec-b-${stamp}`) };
};
const secretValue = () => `sv-${crypto.randomUUID()}`;

const httpStep = (name: string, url = 'https://api.example.com/v1/deploy') => ({
  id: 'call',
  type: 'http-request',
  url,
  headers: { Authorization: `Bearer {{ secrets.${name} }}` },
});
const CREATE_WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`;
const createWorkflow = (tok: string, steps: unknown[], triggers?: unknown[]) =>
  gql(
    CREATE_WORKFLOW,
    { input: { name: `wf ${crypto.randomUUID().slice(0, 8)}`, steps, triggers } },
    { token: tok },
  );

describe('setting, listing and deleting', () => {
  it('an admin sets a secret; change managers and admins list names and hosts, never a value', async () => {
    const { a } = await tenants('basic');
    const value = secretValue();
    const set = await setSecret(a.admin, 'DEPLOY_TOKEN', value, ['API.example.com', '*.deploy.example.com']);
    expect(set).toMatchObject({
      name: 'DEPLOY_TOKEN',
      allowedHosts: ['api.example.com', '*.deploy.example.com'],
      createdBy: 'root',
      updatedBy: 'root',
    });
    expect(set.keyId).toMatch(/^k_[0-9a-f]{16}$/);
    for (const who of [a.manager, a.admin]) {
      const list = await listSecrets(who);
      expect(list.map((s) => s.name)).toEqual(['DEPLOY_TOKEN']);
      expect(JSON.stringify(list)).not.toContain(value);
    }
    // There is no field to ask for the value with.
    const ask = await gql('{ workflowSecrets { name value } }', {}, { token: a.admin });
    expect(ask.status).toBe(400);
    expect(codes(ask)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(JSON.stringify(ask)).not.toContain(value);
  });

  it('rotates in place: a new value and hosts, the creation kept, the audit naming it (never the value)', async () => {
    const { a } = await tenants('rotate');
    const first = secretValue();
    const second = secretValue();
    const created = await setSecret(a.admin, 'ROTATING', first, ['api.example.com']);
    const admin2 = await token({
      sub: 'ops2',
      tenant: a.tenant,
      roles: ['admin'],
    });
    const rotated = await setSecret(admin2, 'ROTATING', second, ['api2.example.com']);
    expect(rotated).toMatchObject({
      createdAt: created.createdAt,
      createdBy: 'root',
      updatedBy: 'ops2',
      allowedHosts: ['api2.example.com'],
    });
    await gqlOk(DELETE_SECRET, { name: 'ROTATING' }, a.admin);
    expect(await listSecrets(a.admin)).toEqual([]);
    const { results } = await env.DB.prepare(
      `SELECT action, target_type, target_id, before_json, after_json FROM audit_events
       WHERE tenant_id = ?1 AND target_type = 'WorkflowSecret' ORDER BY seq`,
    )
      .bind(a.tenant)
      .all<{ action: string; target_id: string; before_json: string | null; after_json: string | null }>();
    expect(results.map((r) => [r.action, r.target_id])).toEqual([
      ['workflow_secret.created', 'ROTATING'],
      ['workflow_secret.rotated', 'ROTATING'],
      ['workflow_secret.deleted', 'ROTATING'],
    ]);
    expect(JSON.parse(results[1]?.after_json ?? '{}')).toMatchObject({ allowedHosts: ['api2.example.com'] });
    const { hits } = await scanD1(env.DB, [...(await valueForms(first)), ...(await valueForms(second))]);
    expect(hits).toEqual([]);
  });

  it.each([
    ['a lower-case name', { name: 'deploy_token' }, 'name'],
    ['an empty value', { value: '' }, 'value'],
    ['a value over 8192 characters', { value: 'x'.repeat(8193) }, 'value'],
    ['a host with a scheme', { hosts: ['https://api.example.com'] }, 'allowedHosts.0'],
    ['a host with a port', { hosts: ['api.example.com:443'] }, 'allowedHosts.0'],
    ['a host with a path', { hosts: ['ok.example.com', 'api.example.com/v1'] }, 'allowedHosts.1'],
    ['a wildcard on a top-level domain', { hosts: ['*.com'] }, 'allowedHosts.0'],
    ['a wildcard inside a name', { hosts: ['api.*.example.com'] }, 'allowedHosts.0'],
  ])(
    'refuses %s with VALIDATION_FAILED naming the field, never echoing the value',
    async (_l, over, field) => {
      const { a } = await tenants('invalid');
      const vars = { name: 'GOOD_NAME', value: 'do-not-echo-3f9a', hosts: ['api.example.com'], ...over };
      const r = await gql(SET_SECRET, vars, { token: a.admin });
      expect(codes(r)).toEqual(['VALIDATION_FAILED']);
      expect(issues(r).map((i) => i.field)).toEqual([field]);
      expect(JSON.stringify(r.errors)).not.toContain('do-not-echo-3f9a');
      expect(await listSecrets(a.admin)).toEqual([]);
    },
  );

  it('refuses requester, approver, viewer and change manager to set or delete, and viewer, requester and approver to list', async () => {
    const { a } = await tenants('roles');
    await setSecret(a.admin, 'KEPT', secretValue(), ['api.example.com']);
    for (const who of [a.requester, a.approver1, a.viewer, a.manager]) {
      const set = await trySetSecret(who, 'KEPT', 'overwritten-by-a-lesser-role');
      expect(codes(set)).toEqual(['FORBIDDEN']);
      expect(codes(await gql(DELETE_SECRET, { name: 'KEPT' }, { token: who }))).toEqual(['FORBIDDEN']);
    }
    for (const who of [a.requester, a.approver1, a.viewer]) {
      expect(codes(await gql(LIST_SECRETS, {}, { token: who }))).toEqual(['FORBIDDEN']);
    }
    const [kept] = await listSecrets(a.admin);
    expect(kept?.updatedBy).toBe('root');
    const { hits } = await scanD1(env.DB, ['overwritten-by-a-lesser-role']);
    expect(hits).toEqual([]);
  });

  it('answers WORKFLOW_SECRET_NOT_FOUND (404) for deleting a name the tenant never set', async () => {
    const { a } = await tenants('missing');
    const r = await gql(DELETE_SECRET, { name: 'NEVER_SET' }, { token: a.admin });
    expect(r.status).toBe(404);
    expect(codes(r)).toEqual(['WORKFLOW_SECRET_NOT_FOUND']);
  });
});

describe('another tenant', () => {
  it('cannot list, delete, overwrite or detect tenant A’s secrets by any name', async () => {
    const { a, b } = await tenants('isolation');
    const value = secretValue();
    const before = await setSecret(a.admin, 'UPSTREAM_TOKEN', value, ['api.example.com']);

    expect(await listSecrets(b.admin)).toEqual([]);
    expect(await listSecrets(b.manager)).toEqual([]);

    // Deleting A's name and a name nobody has look exactly alike.
    const delA = await gql(DELETE_SECRET, { name: 'UPSTREAM_TOKEN' }, { token: b.admin });
    const delNone = await gql(DELETE_SECRET, { name: 'NOBODY_HAS_IT' }, { token: b.admin });
    expect(codes(delA)).toEqual(['WORKFLOW_SECRET_NOT_FOUND']);
    expect(delA.errors?.[0]?.message.replace('UPSTREAM_TOKEN', 'X')).toBe(
      delNone.errors?.[0]?.message.replace('NOBODY_HAS_IT', 'X'),
    );
    expect({ ...delA.errors?.[0]?.extensions, name: 'X' }).toEqual({
      ...delNone.errors?.[0]?.extensions,
      name: 'X',
    });

    // Naming A's secret in a workflow of B is refused exactly like naming one that exists nowhere.
    const useA = await createWorkflow(b.manager, [httpStep('UPSTREAM_TOKEN')]);
    const useNone = await createWorkflow(b.manager, [httpStep('NOBODY_HAS_IT')]);
    expect(codes(useA)).toEqual(['VALIDATION_FAILED']);
    expect(issues(useA)).toEqual([
      {
        field: 'steps.0.headers.Authorization',
        message: 'secret UPSTREAM_TOKEN is not set in this tenant; an admin sets it with setWorkflowSecret',
      },
    ]);
    expect(JSON.stringify(useA.errors).replaceAll('UPSTREAM_TOKEN', 'X')).toBe(
      JSON.stringify(useNone.errors).replaceAll('NOBODY_HAS_IT', 'X'),
    );
    const hookA = await createWorkflow(
      b.manager,
      [{ id: 'x', type: 'transform', spec: { value: 1 } }],
      [{ type: 'webhook', secret: 'UPSTREAM_TOKEN' }],
    );
    expect(issues(hookA)).toEqual([
      { field: 'triggers.0.secret', message: expect.stringMatching(/not set in this tenant/) },
    ]);

    // B setting the same name makes B's own secret; A's row is untouched.
    const rowBefore = await env.DB.prepare(
      'SELECT * FROM workflow_secrets WHERE tenant_id = ?1 AND name = ?2',
    )
      .bind(a.tenant, 'UPSTREAM_TOKEN')
      .first();
    const mine = await setSecret(b.admin, 'UPSTREAM_TOKEN', 'b-own-value', ['b.example.com']);
    expect(mine.allowedHosts).toEqual(['b.example.com']);
    expect(await listSecrets(a.admin)).toEqual([before]);
    const rowAfter = await env.DB.prepare('SELECT * FROM workflow_secrets WHERE tenant_id = ?1 AND name = ?2')
      .bind(a.tenant, 'UPSTREAM_TOKEN')
      .first();
    expect(rowAfter).toEqual(rowBefore);
    // B deleting its own leaves A's.
    await gqlOk(DELETE_SECRET, { name: 'UPSTREAM_TOKEN' }, b.admin);
    expect(await listSecrets(a.admin)).toEqual([before]);
  });

  it('sees only its own secrets through MCP, where setting and deleting are not tools at all', async () => {
    const { a, b } = await tenants('mcp');
    const value = secretValue();
    await setSecret(a.admin, 'A_ONLY', value, ['api.example.com']);
    await setSecret(b.admin, 'B_ONLY', secretValue(), ['b.example.com']);
    const admin = await mcpClient(b.admin);
    const viewer = await mcpClient(b.viewer);
    try {
      const { tools } = await admin.listTools();
      const secretTools = tools.filter((t) => /secret/i.test(t.name)).map((t) => t.name);
      expect(secretTools).toEqual(['list_workflow_secrets']);
      const listed = await callTool(admin, 'list_workflow_secrets');
      expect(listed.isError).toBeFalsy();
      const text = JSON.stringify(listed);
      expect(text).toContain('B_ONLY');
      expect(text).not.toContain('A_ONLY');
      expect(text).not.toContain(value);
      const denied = await callTool(viewer, 'list_workflow_secrets');
      expect(toolError(denied).code).toBe('FORBIDDEN');
      // Asking for a tool that would set one: there is none.
      const attempt = await admin
        .callTool({
          name: 'set_workflow_secret',
          arguments: { name: 'A_ONLY', value: 'x', allowedHosts: [] },
        })
        .catch((e: Error) => ({ isError: true, thrown: e.message }));
      expect(attempt.isError).toBe(true);
    } finally {
      await Promise.all([admin.close(), viewer.close()]);
    }
    expect((await listSecrets(a.admin)).map((s) => s.name)).toEqual(['A_ONLY']);
  });
});

describe('Idempotency-Key on setWorkflowSecret', () => {
  async function post(tok: string, body: unknown, key: string) {
    const res = await exports.default.fetch('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}`, 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), text: await res.text() };
  }
  const sha256 = async (text: string) =>
    [...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');

  it('replays without the value, and stores neither the value nor a plain hash of a body holding it', async () => {
    const { a } = await tenants('idem');
    const value = secretValue();
    const inline = secretValue();
    const byVariables = {
      query: SET_SECRET,
      variables: { name: 'IDEM_TOKEN', value, hosts: ['api.example.com'] },
    };
    const byLiteral = {
      query: `mutation { s: setWorkflowSecret(name: "IDEM_INLINE", value: "${inline}", allowedHosts: []) { name keyId } }`,
    };
    const first = await post(a.admin, byVariables, 'set-1');
    expect(first.status).toBe(200);
    const replay = await post(a.admin, byVariables, 'set-1');
    expect(replay.replayed).toBe('true');
    expect(replay.text).toBe(first.text);
    expect(replay.text).not.toContain(value);
    const literal = await post(a.admin, byLiteral, 'set-2');
    expect(literal.status).toBe(200);
    expect((await post(a.admin, byLiteral, 'set-2')).replayed).toBe('true');

    // The same key with another value is another request, and is refused as such.
    const other = await post(
      a.admin,
      { ...byVariables, variables: { ...byVariables.variables, value: secretValue() } },
      'set-1',
    );
    expect(other.status).toBe(422);
    expect(JSON.parse(other.text).errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const { results } = await env.DB.prepare(
      'SELECT request_hash, response FROM idempotency_keys WHERE tenant_id = ?1',
    )
      .bind(a.tenant)
      .all<{ request_hash: string; response: string }>();
    expect(results).toHaveLength(2);
    const plainHashes = [await sha256(canonicalJson(byVariables)), await sha256(canonicalJson(byLiteral))];
    for (const row of results) {
      expect(plainHashes).not.toContain(row.request_hash);
      expect(row.response).not.toContain(value);
      expect(row.response).not.toContain(inline);
    }
    const { hits, tables } = await scanD1(env.DB, [
      ...(await valueForms(value)),
      ...(await valueForms(inline)),
    ]);
    expect(tables).toEqual(expect.arrayContaining(['idempotency_keys', 'audit_events', 'workflow_secrets']));
    expect(hits).toEqual([]);
  });
});

describe('a deployment without SECRETS_KEY', () => {
  it('refuses to save a secret with SECRETS_NOT_CONFIGURED (503) and stores nothing', async () => {
    const { a } = await tenants('nokey');
    const app = createApp(schema);
    const res = await app.fetch(
      new Request('http://cf.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${a.admin}` },
        body: JSON.stringify({ query: SET_SECRET, variables: { name: 'NO_KEY', value: 'v', hosts: [] } }),
      }),
      { ...env, SECRETS_KEY: '', SECRETS_KEY_PREVIOUS: '' },
    );
    expect(res.status).toBe(503);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]?.extensions.code).toBe('SECRETS_NOT_CONFIGURED');
    expect(await listSecrets(a.admin)).toEqual([]);
  });
});
