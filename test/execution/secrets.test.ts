import { env, introspectWorkflowInstance } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { currentKeyId, type SecretKeys, sealSecret } from '../../src/secrets/envelope';
import { gql, gqlOk } from '../helpers/graphql';
import { DELETE_SECRET, listSecrets, scanD1, setSecret, valueForms } from '../helpers/secrets';
import { signedDeliveryHeaders } from '../helpers/signedDelivery';
import {
  codes,
  createWorkflow,
  type Execution,
  execute,
  freshCast,
  type StepRun,
  upstream,
  waitFor,
} from './helpers';

/**
 * Workflow secrets in runs, tried as an attacker would: another tenant's name, a host the secret
 * is not for (saved, rendered, or narrowed after saving), a row copied in the database, a key
 * rotation. After a run, no trace of a value may be left in D1 or in the Workflows instance.
 */

const HOST = new URL(upstream('/')).hostname;
const PORT = new URL(upstream('/')).port;
const secretValue = () => `sv-${crypto.randomUUID()}`;
const key = () => crypto.randomUUID();

async function calls(k: string): Promise<number> {
  return ((await (await fetch(upstream(`/count/${k}`))).json()) as { calls: number }).calls;
}

/** An http step that puts the secret into the URL, a header and the body of a call to the upstream. */
const everywhere = (name: string, k: string, url = upstream(`/keyed/${k}/echo`)) => ({
  id: 'call',
  type: 'http-request',
  method: 'POST',
  url: `${url}?token={{ secrets.${name} }}`,
  headers: { Authorization: `Bearer {{ secrets.${name} }}`, 'Content-Type': 'application/json' },
  body: `{"token": "{{ secrets.${name} }}"}`,
  retry: { maxAttempts: 1 },
});

async function run(tok: string, workflowId: string, inputs: unknown = {}): Promise<Execution> {
  return waitFor(tok, (await execute(tok, workflowId, inputs)).id);
}

const echoed = (e: Execution) =>
  (
    (e.steps[0] as StepRun).output as {
      body: { path: string; headers: Record<string, string>; body: string };
    }
  ).body;

/**
 * Replaces the steps of a saved version (what the engine runs), as a row written before the
 * save-time checks existed would hold them.
 */
async function overwriteSteps(tenantId: string, workflowId: string, steps: unknown[]) {
  await env.DB.prepare('UPDATE workflow_versions SET steps = ?3 WHERE tenant_id = ?1 AND workflow_id = ?2')
    .bind(tenantId, workflowId, JSON.stringify(steps))
    .run();
}

describe('a run that uses a secret', () => {
  it('sends it in the URL, a header and the body, and leaves no trace of it in D1 or the Workflows instance', async () => {
    const c = await freshCast();
    const value = secretValue();
    await setSecret(c.admin, 'UPSTREAM_TOKEN', value, [HOST]);
    const k = key();
    const id = await createWorkflow(c.manager, [everywhere('UPSTREAM_TOKEN', k)]);
    const e = await run(c.manager, id);
    expect(e.status).toBe('SUCCEEDED');
    expect(await calls(k)).toBe(1);
    // The upstream echoes what it received; redaction matches the exact value, so this shows the
    // real value went out in all three places, and only its name was kept.
    const got = echoed(e);
    expect(got.path).toBe(`/keyed/${k}/echo?token=[REDACTED:UPSTREAM_TOKEN]`);
    expect(got.headers.authorization).toBe('Bearer [REDACTED:UPSTREAM_TOKEN]');
    expect(got.body).toBe('{"token": "[REDACTED:UPSTREAM_TOKEN]"}');

    const forms = await valueForms(value);
    const { hits, tables } = await scanD1(env.DB, forms);
    expect(tables).toEqual(
      expect.arrayContaining(['workflow_secrets', 'workflow_executions', 'audit_events', 'idempotency_keys']),
    );
    expect(hits).toEqual([]);

    const instance = await introspectWorkflowInstance(env.EXECUTOR, e.id);
    try {
      await instance.waitForStatus('complete');
      const stored = [
        await instance.waitForStepResult({ name: 'begin' }),
        await instance.waitForStepResult({ name: '0:call#1' }),
        await instance.waitForStepResult({ name: 'finish' }),
        await instance.getOutput(),
      ];
      expect(JSON.stringify(stored[1])).toContain('[REDACTED:UPSTREAM_TOKEN]');
      for (const form of forms) expect(JSON.stringify(stored)).not.toContain(form);
    } finally {
      await instance.dispose();
    }
  });
});

describe('another tenant', () => {
  it('never gets tenant A’s value: with its own secret of the same name it sends its own, without one it sends nothing', async () => {
    const a = await freshCast();
    const b = await freshCast();
    const valueA = secretValue();
    await setSecret(a.admin, 'UPSTREAM_TOKEN', valueA, [HOST]);
    await setSecret(b.admin, 'UPSTREAM_TOKEN', 'b-own-value', [HOST]);
    const k = key();
    const id = await createWorkflow(b.manager, [everywhere('UPSTREAM_TOKEN', k)]);
    const own = await run(b.manager, id);
    expect(own.status).toBe('SUCCEEDED');
    expect(echoed(own).headers.authorization).toBe('Bearer [REDACTED:UPSTREAM_TOKEN]');
    expect(JSON.stringify(own)).not.toContain(valueA);

    // B drops its secret; the saved workflow still names UPSTREAM_TOKEN, which A has.
    await gqlOk(DELETE_SECRET, { name: 'UPSTREAM_TOKEN' }, b.admin);
    const none = await run(b.manager, id);
    expect(none.status).toBe('FAILED');
    expect(none.error).toMatchObject({ code: 'EXECUTION-004', class: 'VALIDATION' });
    expect(none.error?.message).toContain('unknown secret UPSTREAM_TOKEN');
    expect(JSON.stringify(none)).not.toContain(valueA);
    expect(await calls(k)).toBe(1);
  });

  it('cannot sign webhooks for another tenant’s workflow, nor name its signing secret', async () => {
    const a = await freshCast();
    const b = await freshCast();
    const hookA = `a-hook-${crypto.randomUUID()}`;
    const hookB = `b-hook-${crypto.randomUUID()}`;
    await setSecret(a.admin, 'HOOK_SECRET', hookA);
    const transform = [{ id: 'x', type: 'transform', spec: { value: 1 } }];
    const triggers = [{ type: 'webhook', secret: 'HOOK_SECRET' }];
    const refused = await gql(
      `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`,
      { input: { name: 'steal a hook', steps: transform, triggers } },
      { token: b.manager },
    );
    expect(codes(refused)).toEqual(['VALIDATION_FAILED']);
    await setSecret(b.admin, 'HOOK_SECRET', hookB);
    const wfA = await createWorkflow(a.manager, transform, { triggers });
    const wfB = await createWorkflow(b.manager, transform, { triggers });
    const deliver = async (workflowId: string, secret: string) => {
      const body = JSON.stringify({ nonce: crypto.randomUUID() });
      const res = await exports.default.fetch(`http://cf.test/hooks/workflows/${workflowId}`, {
        method: 'POST',
        headers: await signedDeliveryHeaders(secret, body),
        body,
      });
      return { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
    };
    expect(await deliver(wfB, hookA)).toEqual({ status: 401, code: 'WORKFLOW-010' });
    expect(await deliver(wfA, hookB)).toEqual({ status: 401, code: 'WORKFLOW-010' });
    expect((await deliver(wfA, hookA)).status).toBe(202);
    expect((await deliver(wfB, hookB)).status).toBe(202);
  });
});

describe('hosts', () => {
  it.each([
    ['another host', 'localhost', upstream('/ok')],
    ['a longer name ending in the allowed one', 'api.example.com', 'https://evilapi.example.com/v1'],
    [
      'the allowed name as a prefix of another domain',
      'api.example.com',
      'https://api.example.com.attacker.example/v1',
    ],
    ['the wildcard’s own apex', '*.example.com', 'https://example.com/v1'],
    ['a template right after the host', 'api.example.com', 'https://api.example.com{{inputs.p}}/v1'],
    ['a template as the host', 'api.example.com', 'https://{{inputs.host}}/v1'],
  ])('refuses at save time a step that would send the secret to %s', async (_l, allowed, url) => {
    const c = await freshCast();
    await setSecret(c.admin, 'SCOPED', secretValue(), [allowed]);
    const r = await gql(
      `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`,
      {
        input: {
          name: 'exfiltrate',
          steps: [
            { id: 'call', type: 'http-request', url, headers: { 'X-Api-Key': '{{ secrets.SCOPED }}' } },
          ],
        },
      },
      { token: c.manager },
    );
    expect(r.status).toBe(400);
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    // A templated host is refused first by the egress rule (scheme, host and port literal); the
    // secret's host rule refuses the others, and would refuse those too.
    expect(r.errors?.[0]?.extensions?.issues).toEqual([
      {
        field: 'steps.0.url',
        message: expect.stringMatching(/secret SCOPED may only be sent|must be written literally/),
      },
    ]);
  });

  it('accepts exact hosts and subdomains of a wildcard', async () => {
    const c = await freshCast();
    await setSecret(c.admin, 'SCOPED', secretValue(), ['api.example.com', '*.deploy.example.com']);
    for (const url of [
      'https://API.example.com/v1',
      'https://eu.deploy.example.com/x',
      'https://a.b.deploy.example.com:8443/',
    ]) {
      await createWorkflow(c.manager, [
        { id: 'call', type: 'http-request', url, headers: { 'X-Api-Key': '{{ secrets.SCOPED }}' } },
      ]);
    }
  });

  it('checks again on every attempt: hosts narrowed after saving stop the request before it is sent', async () => {
    const c = await freshCast();
    const value = secretValue();
    await setSecret(c.admin, 'NARROWED', value, [HOST]);
    const k = key();
    const id = await createWorkflow(c.manager, [everywhere('NARROWED', k)]);
    await setSecret(c.admin, 'NARROWED', value, ['api.example.com']);
    const e = await run(c.manager, id);
    expect(e.status).toBe('FAILED');
    expect(e.error).toMatchObject({ code: 'EXECUTION-004', class: 'VALIDATION' });
    expect(e.error?.message).toContain(
      `secret NARROWED may only be sent to api.example.com, not to ${HOST}; the request was not sent`,
    );
    expect(await calls(k)).toBe(0);
  });

  it.each([
    ['a rendered host', `http://{{inputs.h}}:${PORT}`, { h: HOST }],
    ['a host-suffix injection', `http://${HOST}{{inputs.p}}:${PORT}`, { p: '.attacker.example' }],
  ])(
    'refuses at run time %s in a definition saved before the rule, sending nothing',
    async (_l, origin, inputs) => {
      const c = await freshCast();
      const value = secretValue();
      await setSecret(c.admin, 'LEGACY', value, [HOST]);
      const k = key();
      const id = await createWorkflow(c.manager, [
        everywhere('LEGACY', k, `http://${HOST}:${PORT}/keyed/${k}/echo`),
      ]);
      await overwriteSteps(c.tenant, id, [everywhere('LEGACY', k, `${origin}/keyed/${k}/echo`)]);
      const e = await run(c.manager, id, inputs);
      expect(e.status).toBe('FAILED');
      // The egress policy re-checks the stored URL template on every attempt and refuses first;
      // the secret's host rule stands behind it (see "checks again on every attempt" above).
      expect(e.error).toMatchObject({ code: 'EGRESS_DENIED' });
      expect(e.error?.message).toMatch(/must be written literally/);
      expect(e.steps[0]?.attemptLog[0]?.httpStatus).toBeNull();
      expect(await calls(k)).toBe(0);
      expect(JSON.stringify(e)).not.toContain(value);
    },
  );
});

describe('encryption at rest', () => {
  async function copyRow(from: { tenant: string; name: string }, to: { tenant: string; name: string }) {
    await env.DB.prepare(
      `INSERT INTO workflow_secrets
       SELECT ?3, ?4, allowed_hosts, key_id, wrapped_key, ciphertext, created_at, created_by, updated_at, updated_by
       FROM workflow_secrets WHERE tenant_id = ?1 AND name = ?2`,
    )
      .bind(from.tenant, from.name, to.tenant, to.name)
      .run();
  }

  it('a row copied to another tenant, or renamed, does not decrypt: the step fails and sends nothing', async () => {
    const a = await freshCast();
    const b = await freshCast();
    const value = secretValue();
    await setSecret(a.admin, 'COPIED', value, [HOST]);
    await copyRow({ tenant: a.tenant, name: 'COPIED' }, { tenant: b.tenant, name: 'COPIED' });
    await copyRow({ tenant: a.tenant, name: 'COPIED' }, { tenant: a.tenant, name: 'RENAMED' });
    for (const [who, name] of [
      [b, 'COPIED'],
      [a, 'RENAMED'],
    ] as const) {
      const k = key();
      const id = await createWorkflow(who.manager, [everywhere(name, k)]);
      const e = await run(who.manager, id);
      expect(e.status).toBe('FAILED');
      expect(e.error).toMatchObject({ code: 'EXECUTION-004' });
      expect(e.error?.message).toBe(`secret ${name} does not decrypt for this tenant and name; set it again`);
      expect(await calls(k)).toBe(0);
      expect(JSON.stringify(e)).not.toContain(value);
    }
    // The same copied row as a webhook signing secret is "not configured", not a way in.
    const hooked = await createWorkflow(b.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }], {
      triggers: [{ type: 'webhook', secret: 'COPIED' }],
    });
    const res = await exports.default.fetch(`http://cf.test/hooks/workflows/${hooked}`, {
      method: 'POST',
      headers: await signedDeliveryHeaders(value, '{}'),
      body: '{}',
    });
    expect(res.status).toBe(503);
    // The original still works for its own tenant.
    const k = key();
    const ok = await run(a.manager, await createWorkflow(a.manager, [everywhere('COPIED', k)]));
    expect(ok.status).toBe('SUCCEEDED');
  });

  it('rotation: a value sealed under SECRETS_KEY_PREVIOUS still runs; saving it again moves it to SECRETS_KEY', async () => {
    const c = await freshCast();
    const value = secretValue();
    const keys = loadConfig(env).secretKeys as SecretKeys;
    const previous: SecretKeys = { current: keys.previous as SecretKeys['current'], previous: null };
    // What the deployment wrote before SECRETS_KEY was rotated.
    const sealed = await sealSecret(previous, c.tenant, 'ROTATE_ME', value);
    const now = new Date().toISOString();
    await env.DB.prepare(
      `INSERT INTO workflow_secrets VALUES (?1, 'ROTATE_ME', ?2, ?3, ?4, ?5, ?6, 'root', ?6, 'root')`,
    )
      .bind(c.tenant, JSON.stringify([HOST]), sealed.keyId, sealed.wrappedKey, sealed.ciphertext, now)
      .run();
    const oldKeyId = await currentKeyId(previous);
    const newKeyId = await currentKeyId(keys);
    expect(oldKeyId).not.toBe(newKeyId);
    expect((await listSecrets(c.admin))[0]?.keyId).toBe(oldKeyId);

    const id = await createWorkflow(c.manager, [everywhere('ROTATE_ME', key())]);
    const before = await run(c.manager, id);
    expect(before.status).toBe('SUCCEEDED');
    expect(echoed(before).headers.authorization).toBe('Bearer [REDACTED:ROTATE_ME]');

    const resaved = await setSecret(c.admin, 'ROTATE_ME', value, [HOST]);
    expect(resaved.keyId).toBe(newKeyId);
    const row = await env.DB.prepare('SELECT key_id, ciphertext FROM workflow_secrets WHERE tenant_id = ?1')
      .bind(c.tenant)
      .first<{ key_id: string; ciphertext: string }>();
    expect(row?.key_id).toBe(newKeyId);
    expect(row?.ciphertext).not.toBe(sealed.ciphertext);
    const after = await run(c.manager, id);
    expect(after.status).toBe('SUCCEEDED');
    expect(echoed(after).headers.authorization).toBe('Bearer [REDACTED:ROTATE_ME]');
  });

  it('a value sealed under a key that is no longer configured fails the step with a clear message', async () => {
    const c = await freshCast();
    const retired: SecretKeys = {
      current: { raw: crypto.getRandomValues(new Uint8Array(32)) },
      previous: null,
    };
    const sealed = await sealSecret(retired, c.tenant, 'RETIRED', 'retired-value');
    const now = new Date().toISOString();
    await env.DB.prepare(
      `INSERT INTO workflow_secrets VALUES (?1, 'RETIRED', ?2, ?3, ?4, ?5, ?6, 'root', ?6, 'root')`,
    )
      .bind(c.tenant, JSON.stringify([HOST]), sealed.keyId, sealed.wrappedKey, sealed.ciphertext, now)
      .run();
    const k = key();
    const e = await run(c.manager, await createWorkflow(c.manager, [everywhere('RETIRED', k)]));
    expect(e.status).toBe('FAILED');
    expect(e.error?.message).toContain(`which is neither SECRETS_KEY nor SECRETS_KEY_PREVIOUS`);
    expect(await calls(k)).toBe(0);
  });
});
