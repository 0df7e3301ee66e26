import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { CREATE, cast, changeInput } from '../helpers/changes';
import { callTool, mcpClient } from '../helpers/mcp';

async function post(tok: string, body: unknown, key?: string) {
  const res = await exports.default.fetch('http://cf.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${tok}`,
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const countChanges = async (tenant: string) =>
  (
    await env.DB.prepare('SELECT COUNT(*) AS n FROM change_requests WHERE tenant_id = ?1')
      .bind(tenant)
      .first<{ n: number }>()
  )?.n;
const countAudit = async (tenant: string) =>
  (
    await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1')
      .bind(tenant)
      .first<{ n: number }>()
  )?.n;

describe('Idempotency-Key on GraphQL mutations', () => {
  it('replays the first response for a retry with the same key and body, without doing the work again', async () => {
    const c = await cast('idem-replay');
    const body = { query: CREATE, variables: { input: changeInput({ title: 'Retry-safe change' }) } };
    const first = await post(c.requester, body, 'create-1');
    expect(first.status).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const retry = await post(c.requester, body, 'create-1');
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.text).toBe(first.text);
    expect(await countChanges('idem-replay')).toBe(1);
    expect(await countAudit('idem-replay')).toBe(1);
    // The key was claimed by the request that did the work, in its batch.
    const row = await env.DB.prepare(
      'SELECT request_id FROM idempotency_keys WHERE tenant_id = ?1 AND key = ?2',
    )
      .bind('idem-replay', 'create-1')
      .first<{ request_id: string }>();
    expect(row?.request_id).toBe(first.headers.get('x-request-id'));
  });

  it('treats the same operation with reordered JSON as the same request', async () => {
    const c = await cast('idem-canonical');
    const input = changeInput();
    const reordered = Object.fromEntries(Object.entries(input).reverse());
    expect((await post(c.requester, { query: CREATE, variables: { input } }, 'k')).status).toBe(200);
    const retry = await post(c.requester, { variables: { input: reordered }, query: CREATE }, 'k');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses the same key with a different request, writing nothing', async () => {
    const c = await cast('idem-mismatch');
    await post(
      c.requester,
      { query: CREATE, variables: { input: changeInput({ title: 'First' }) } },
      'shared',
    );
    const other = await post(
      c.requester,
      { query: CREATE, variables: { input: changeInput({ title: 'Second' }) } },
      'shared',
    );
    expect(other.status).toBe(422);
    expect(JSON.parse(other.text).errors[0].extensions.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await countChanges('idem-mismatch')).toBe(1);
  });

  it('does the work again once the key has expired (24 h)', async () => {
    const c = await cast('idem-expiry');
    const body = { query: CREATE, variables: { input: changeInput() } };
    await post(c.requester, body, 'daily');
    await env.DB.prepare(
      "UPDATE idempotency_keys SET expires_at = '2000-01-01T00:00:00.000Z' WHERE tenant_id = ?1",
    )
      .bind('idem-expiry')
      .run();
    const again = await post(c.requester, body, 'daily');
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(await countChanges('idem-expiry')).toBe(2);
  });

  it('stores nothing for a mutation that failed before writing, so a corrected retry runs', async () => {
    const c = await cast('idem-failed');
    const bad = await post(
      c.requester,
      { query: CREATE, variables: { input: changeInput({ title: 'x' }) } },
      'fix-me',
    );
    expect(JSON.parse(bad.text).errors[0].extensions.code).toBe('VALIDATION_FAILED');
    const good = await post(c.requester, { query: CREATE, variables: { input: changeInput() } }, 'fix-me');
    expect(good.status).toBe(200);
    expect(JSON.parse(good.text).data.createChangeRequest.status).toBe('DRAFT');
  });

  it('ignores the key on queries', async () => {
    const c = await cast('idem-query');
    await post(c.viewer, { query: '{ me { id } }' }, 'q');
    const rows = await env.DB.prepare('SELECT COUNT(*) AS n FROM idempotency_keys WHERE tenant_id = ?1')
      .bind('idem-query')
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it('runs concurrent duplicates once: the rest replay or are told it is in progress', async () => {
    const c = await cast('idem-concurrent');
    const body = { query: CREATE, variables: { input: changeInput() } };
    const results = await Promise.all(Array.from({ length: 6 }, () => post(c.requester, body, 'burst')));
    expect(results.every((r) => r.status === 200 || r.status === 409)).toBe(true);
    for (const r of results.filter((x) => x.status === 409)) {
      expect(JSON.parse(r.text).errors[0].extensions.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    }
    expect(await countChanges('idem-concurrent')).toBe(1);
    const ids = new Set(
      results.filter((r) => r.status === 200).map((r) => JSON.parse(r.text).data.createChangeRequest.id),
    );
    expect(ids.size).toBe(1);
  });

  it('keeps keys per caller', async () => {
    const c = await cast('idem-per-caller');
    const body = { query: CREATE, variables: { input: changeInput() } };
    await post(c.requester, body, 'same');
    const byManager = await post(c.manager, body, 'same');
    expect(byManager.headers.get('idempotent-replayed')).toBeNull();
    expect(await countChanges('idem-per-caller')).toBe(2);
  });

  it.each([['x'.repeat(256)], ['naïve-key'], ['has space']])('refuses a malformed key %#', async (key) => {
    const c = await cast('idem-bad-key');
    const res = await post(c.requester, { query: CREATE, variables: { input: changeInput() } }, key);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text).errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(await countChanges('idem-bad-key')).toBe(0);
  });
});

describe('idempotencyKey on MCP mutation tools', () => {
  it('is offered by mutation tools only, and replays the first result', async () => {
    const c = await cast('idem-mcp');
    const client = await mcpClient(c.requester);
    const { tools } = await client.listTools();
    const create = tools.find((t) => t.name === 'create_change_request');
    expect(create?.inputSchema.properties).toHaveProperty('idempotencyKey');
    expect(tools.find((t) => t.name === 'get_change_status')?.inputSchema.properties).not.toHaveProperty(
      'idempotencyKey',
    );

    const args = { input: changeInput({ title: 'Agent retry' }), idempotencyKey: 'agent-attempt-1' };
    const first = await callTool(client, 'create_change_request', args);
    const retry = await callTool(client, 'create_change_request', args);
    expect(retry.structuredContent).toEqual(first.structuredContent);
    expect(await countChanges('idem-mcp')).toBe(1);

    const mismatch = await callTool(client, 'create_change_request', {
      ...args,
      input: changeInput({ title: 'Other' }),
    });
    expect(mismatch.isError).toBe(true);
    expect(JSON.stringify(mismatch.content)).toContain('IDEMPOTENCY_KEY_REUSED');
  });
});
