import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import McpPlugin from '../../src/schema/plugins/mcp';
import SecretResultPlugin from '../../src/schema/plugins/secretResult';
import { commitWithAudit } from '../../src/usecases/commit';
import { authed, type RequestContext } from '../../src/usecases/context';
import { cast } from '../helpers/changes';

/**
 * An answer that holds a secret is never kept for an idempotent replay: neither the API key of
 * createApiKey nor, through MCP, the answer of any tool whose mutation is declared `returnsSecret`.
 */
const CREATE_KEY = `mutation($name: String!) {
  createApiKey(name: $name, roles: [viewer]) { apiKey { id prefix } secret }
}`;

async function post(tok: string, body: unknown, key: string) {
  const res = await exports.default.fetch('http://cf.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}`, 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Every stored idempotency row of the tenant, as text (request hash, response, everything). */
const storedRows = async (tenant: string) =>
  JSON.stringify(
    (await env.DB.prepare('SELECT * FROM idempotency_keys WHERE tenant_id = ?1').bind(tenant).all()).results,
  );

describe('createApiKey under an Idempotency-Key', () => {
  it('answers the secret once, stores none of it, and refuses the retry with 409 and the key id', async () => {
    const c = await cast('idem-secret');
    const body = { query: CREATE_KEY, variables: { name: 'ci-pipeline' } };
    const first = await post(c.admin, body, 'mint-1');
    expect(first.status).toBe(200);
    const created = JSON.parse(first.text).data.createApiKey as { apiKey: { id: string }; secret: string };
    expect(created.secret).toMatch(/^cf_/);

    // What D1 holds for the key: the claim and a marker naming the created key, no secret.
    const rows = await storedRows('idem-secret');
    expect(rows).toContain('mint-1');
    expect(rows).toContain(created.apiKey.id);
    expect(rows).not.toContain(created.secret);
    expect(rows).not.toContain(created.secret.slice(3));
    expect(rows).not.toContain('"secret"');

    const retry = await post(c.admin, body, 'mint-1');
    expect(retry.status).toBe(409);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(retry.text).not.toContain(created.secret);
    const error = JSON.parse(retry.text).errors[0];
    expect(error.extensions).toMatchObject({
      code: 'IDEMPOTENCY_SECRET_NOT_REPLAYABLE',
      id: created.apiKey.id,
      field: 'createApiKey',
    });
    expect(error.message).toContain(created.apiKey.id);
    // The work was not done twice: one key exists.
    const keys = await env.DB.prepare('SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ?1')
      .bind('idem-secret')
      .first<{ n: number }>();
    expect(keys?.n).toBe(1);
  });

  it('still refuses a different request under the same key with 422', async () => {
    const c = await cast('idem-secret-2');
    await post(c.admin, { query: CREATE_KEY, variables: { name: 'first-key' } }, 'mint-2');
    const other = await post(c.admin, { query: CREATE_KEY, variables: { name: 'other-key' } }, 'mint-2');
    expect(other.status).toBe(422);
    expect(JSON.parse(other.text).errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('documents the rule on the field itself', () => {
    const field = schema.getMutationType()?.getFields().createApiKey;
    expect(field?.extensions.returnsSecret).toBe(true);
    expect(field?.description).toMatch(/IDEMPOTENCY_SECRET_NOT_REPLAYABLE/);
  });
});

describe('a tool whose mutation returns a secret, over MCP with idempotencyKey', () => {
  // A schema of its own: the rule is a declared property of a field, not a list of names, so any
  // later mutation that declares `returnsSecret` is covered, and MCP reaches it like /graphql.
  const tb = new SchemaBuilder<{ Context: RequestContext }>({
    plugins: [ScopeAuthPlugin, McpPlugin, SecretResultPlugin],
    scopeAuth: { authScopes: () => ({}) },
  });
  const Minted = tb.objectRef<{ id: string; secret: string }>('Minted').implement({
    fields: (t) => ({ id: t.exposeID('id'), secret: t.exposeString('secret') }),
  });
  tb.queryType({ fields: (t) => ({ ping: t.string({ resolve: () => 'pong' }) }) });
  tb.mutationType({
    fields: (t) => ({
      mintSecret: t.field({
        type: Minted,
        nullable: false,
        description: 'Mints a credential.',
        mcp: {
          name: 'mint_secret',
          toolset: 'admin',
          annotations: {
            destructiveHint: false,
            idempotentHint: false,
            openWorldHint: false,
            why: 'Adds one.',
          },
        },
        returnsSecret: { createdId: (minted) => minted.id },
        resolve: async (_r, _a, ctx) => {
          const id = `mint_${crypto.randomUUID()}`;
          await commitWithAudit(authed(ctx), async () => ({
            statements: [],
            audit: [{ action: 'test.minted', targetType: 'Test', targetId: id, before: null, after: { id } }],
            result: undefined,
          }));
          return { id, secret: `s3cret-${crypto.randomUUID()}` };
        },
      }),
    }),
  });
  const app = createApp(tb.toSchema());

  const call = (tok: string, id: number) =>
    app.fetch(
      // A tool of a test schema belongs to no toolset: it is offered on /mcp/all.
      new Request('http://cf.test/mcp/all', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${tok}`,
          'mcp-protocol-version': '2025-06-18',
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id,
          method: 'tools/call',
          params: { name: 'mint_secret', arguments: { idempotencyKey: 'mcp-mint-1' } },
        }),
      }),
      env,
    );

  it('stores no secret and answers the retry with IDEMPOTENCY_SECRET_NOT_REPLAYABLE and the id', async () => {
    const c = await cast('idem-secret-mcp');
    const first = (await (await call(c.admin, 1)).json()) as {
      result: { isError?: boolean; structuredContent: { id: string; secret: string } };
    };
    expect(first.result.isError).toBeFalsy();
    const { id, secret } = first.result.structuredContent;
    const rows = await storedRows('idem-secret-mcp');
    expect(rows).toContain(id);
    expect(rows).not.toContain(secret);

    const retry = (await (await call(c.admin, 2)).json()) as {
      result: { isError: boolean; content: { text: string }[] };
    };
    expect(retry.result.isError).toBe(true);
    expect(retry.result.content[0]?.text).not.toContain(secret);
    expect(JSON.parse(retry.result.content[0]?.text ?? '{}').error).toMatchObject({
      code: 'IDEMPOTENCY_SECRET_NOT_REPLAYABLE',
      id,
    });
  });
});
