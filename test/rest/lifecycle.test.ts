import { describe, expect, it } from 'vitest';
import { cast, changeInput, GET, gqlOk, inDays } from '../helpers/changes';
import { rest } from '../helpers/rest';

/**
 * A change's whole life over REST, as an integration drives it: the same answers as GraphQL,
 * each write in the audit trail with source `rest`, idempotent retries, tenants kept apart.
 */
type Change = { id: string; status: string; version: number };

describe('a change over /api/v1', () => {
  it('goes DRAFT → COMPLETED, each step audited with source rest, and reads as over GraphQL', async () => {
    const c = await cast('rest-lifecycle');
    const created = await rest<Change>('POST', '/api/v1/changes', {
      token: c.requester,
      body: { input: changeInput() },
    });
    expect(created.status).toBe(200);
    expect(created.body.status).toBe('DRAFT');
    const id = created.body.id;
    const step = async (tok: string, action: string, body: Record<string, unknown> = {}) => {
      const r = await rest<Record<string, unknown>>('POST', `/api/v1/changes/${id}/${action}`, {
        token: tok,
        body,
      });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body;
    };
    expect((await step(c.requester, 'submit')).status).toBe('PENDING_APPROVAL');
    await step(c.approver1, 'approve', { comment: 'fine' });
    const approved = (await step(c.approver2, 'approve')) as { change: Change };
    expect(approved.change.status).toBe('APPROVED');
    const scheduled = (await step(c.manager, 'schedule', {
      plannedStart: inDays(3),
      plannedEnd: inDays(3, 12),
    })) as {
      change: Change;
    };
    expect(scheduled.change.status).toBe('SCHEDULED');
    expect((await step(c.manager, 'start-implementation')).status).toBe('IMPLEMENTING');
    const done = await step(c.manager, 'complete');
    expect(done.status).toBe('COMPLETED');

    const overRest = await rest<Record<string, unknown>>('GET', `/api/v1/changes/${id}`, { token: c.viewer });
    const overGraphql = (await gqlOk<{ change: Record<string, unknown> }>(GET, { id }, c.viewer)).change;
    for (const [key, value] of Object.entries(overGraphql)) {
      if (typeof value !== 'object' || value === null) expect(overRest.body[key], key).toEqual(value);
    }

    const audit = await rest<{ nodes: { action: string; source: string; actorId: string }[] }>(
      'GET',
      `/api/v1/audit-events?targetId=${id}&first=50`,
      { token: c.admin },
    );
    expect(audit.status).toBe(200);
    const actions = audit.body.nodes.map((e) => e.action).reverse();
    expect(actions).toEqual(
      expect.arrayContaining(['change.created', 'change.submitted', 'change.scheduled', 'change.completed']),
    );
    expect(new Set(audit.body.nodes.map((e) => e.source))).toEqual(new Set(['rest']));
  });

  it('lists with filters and a cursor', async () => {
    const c = await cast('rest-list');
    for (const title of ['One change', 'Two change', 'Three change']) {
      await rest('POST', '/api/v1/changes', { token: c.requester, body: { input: changeInput({ title }) } });
    }
    const first = await rest<{ nodes: Change[]; pageInfo: { hasNextPage: boolean; endCursor: string } }>(
      'GET',
      '/api/v1/changes?first=2&filter[status]=DRAFT',
      { token: c.viewer },
    );
    expect(first.status).toBe(200);
    expect(first.body.nodes).toHaveLength(2);
    expect(first.body.pageInfo.hasNextPage).toBe(true);
    const next = await rest<{ nodes: Change[] }>(
      'GET',
      `/api/v1/changes?first=2&after=${encodeURIComponent(first.body.pageInfo.endCursor)}`,
      { token: c.viewer },
    );
    expect(next.body.nodes).toHaveLength(1);
    const none = await rest<{ nodes: Change[] }>('GET', '/api/v1/changes?filter[status]=COMPLETED', {
      token: c.viewer,
    });
    expect(none.body.nodes, JSON.stringify(none.body)).toEqual([]);
    const bad = await rest<{ code: string }>('GET', '/api/v1/changes?filter[status]=NOPE', {
      token: c.viewer,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('replays a write under the same Idempotency-Key and refuses the key for another body', async () => {
    const c = await cast('rest-idempotency');
    const send = (title: string) =>
      rest<Change & { code?: string }>('POST', '/api/v1/changes', {
        token: c.requester,
        body: { input: changeInput({ title }) },
        headers: { 'idempotency-key': 'rest-create-1' },
      });
    const first = await send('Idempotent change');
    const again = await send('Idempotent change');
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const other = await send('Another change');
    expect(other.contentType).toMatch(/^application\/problem\+json/);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const list = await rest<{ nodes: Change[] }>('GET', '/api/v1/changes', { token: c.requester });
    expect(list.body.nodes).toHaveLength(1);
  });

  it("keeps tenants apart: another tenant's change is not found, nor acted on", async () => {
    const a = await cast('rest-tenant-a');
    const b = await cast('rest-tenant-b');
    const created = await rest<Change>('POST', '/api/v1/changes', {
      token: a.requester,
      body: { input: changeInput() },
    });
    const read = await rest<{ code: string; status: number }>('GET', `/api/v1/changes/${created.body.id}`, {
      token: b.admin,
    });
    expect(read.status).toBe(404);
    expect(read.body.code).toBe('CHANGE_NOT_FOUND');
    const act = await rest<{ code: string }>('POST', `/api/v1/changes/${created.body.id}/cancel`, {
      token: b.admin,
      body: {},
    });
    expect(act.body.code).toBe('CHANGE_NOT_FOUND');
    const still = await rest<Change>('GET', `/api/v1/changes/${created.body.id}`, { token: a.requester });
    expect(still.body.status).toBe('DRAFT');
  });

  it('refuses hostile input with a code, never a 500', async () => {
    const c = await cast('rest-hostile');
    const cases: [string, string, unknown, string][] = [
      ['POST', '/api/v1/changes', '{"input":', 'BAD_REQUEST'],
      ['POST', '/api/v1/changes', { input: 'not an object' }, 'BAD_REQUEST'],
      ['POST', '/api/v1/changes', { input: { title: 1 } }, 'VALIDATION_FAILED'],
      [
        'POST',
        '/api/v1/changes',
        { input: changeInput({ title: 'x'.repeat(200_000) }) },
        'PAYLOAD_TOO_LARGE',
      ],
      ['GET', '/api/v1/changes?first=100000', undefined, 'QUERY_LIMIT_EXCEEDED'],
      ['GET', '/api/v1/changes/%zz', undefined, 'BAD_REQUEST'],
      ['GET', '/api/v1/changes/nope', undefined, 'CHANGE_NOT_FOUND'],
      ['POST', '/api/v1/changes/x/submit?expectedVersion=abc', {}, 'BAD_REQUEST'],
    ];
    for (const [method, path, body, code] of cases) {
      const r = await rest<{ code: string }>(method, path, { token: c.requester, body });
      expect(r.contentType, `${method} ${path}`).toMatch(/^application\/problem\+json/);
      expect(r.body.code, `${method} ${path}: ${JSON.stringify(r.body)}`).toBe(code);
    }
  });
});
