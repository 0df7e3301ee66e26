import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/http/app';
import { schema } from '../../src/schema';
import { token } from '../helpers/auth';
import { countingD1 } from '../helpers/countingD1';

const TENANT = 'stmt-count';
const app = createApp(schema);
const counter = countingD1(env.DB);
const bindings = { ...env, DB: counter.db };

async function post(query: string, variables: Record<string, unknown>, tok: string) {
  const res = await app.fetch(
    new Request('http://cf.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tok}` },
      body: JSON.stringify({ query, variables }),
    }),
    bindings,
  );
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

/** 100 changes by 10 requesters, each with two votes, written straight to D1. */
async function seed() {
  const now = new Date().toISOString();
  const stmts: D1PreparedStatement[] = [];
  for (let i = 0; i < 100; i++) {
    const id = `CHG-20260101-${String(i).padStart(6, '0')}`;
    const created = new Date(Date.parse(now) - i * 60_000).toISOString();
    stmts.push(
      env.DB.prepare(
        `INSERT INTO change_requests (id, tenant_id, title, description, type, impact, urgency, priority, status,
           requester_id, affected_services, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'd', 'NORMAL', 'LOW', 'LOW', 'P4', 'PENDING_APPROVAL', ?4, '["api"]', 1, ?5, ?5)`,
      ).bind(id, TENANT, `Change ${i}`, `user-${i % 10}`, created),
    );
    for (const approver of ['abe', 'ada']) {
      stmts.push(
        env.DB.prepare(
          `INSERT INTO approvals (id, tenant_id, change_id, approver_id, approver_roles, decision, created_at)
           VALUES (?1, ?2, ?3, ?4, '["approver"]', 'APPROVED', ?5)`,
        ).bind(`apr-${i}-${approver}`, TENANT, id, approver, created),
      );
    }
  }
  for (let u = 0; u < 10; u++) {
    stmts.push(
      env.DB.prepare(
        'INSERT INTO users (tenant_id, id, display_name, created_at) VALUES (?1, ?2, ?3, ?4)',
      ).bind(TENANT, `user-${u}`, `User ${u}`, now),
    );
  }
  await env.DB.batch(stmts);
}

describe('SQL statements per operation', () => {
  let viewer: string;
  beforeAll(async () => {
    await seed();
    viewer = await token({ sub: 'vic', tenant: TENANT, roles: ['viewer'] });
  });

  it('lists 100 changes with their approvals and requester in at most 3 statements', async () => {
    counter.reset();
    const body = await post(
      `query { changes(first: 100) { nodes { id title requester { id displayName }
         approvals { decision comment createdAt } } pageInfo { hasNextPage } } }`,
      {},
      viewer,
    );
    expect(body.errors).toBeUndefined();
    const { nodes } = (
      body.data as { changes: { nodes: { approvals: unknown[]; requester: { displayName: string } }[] } }
    ).changes;
    expect(nodes).toHaveLength(100);
    expect(nodes.every((n) => n.approvals.length === 2 && n.requester.displayName.startsWith('User'))).toBe(
      true,
    );
    expect(counter.statements.length).toBeLessThanOrEqual(3);
    expect(counter.statements).toHaveLength(3);
  });

  it('reads one change with approvals and requester in 3 statements', async () => {
    counter.reset();
    const body = await post(
      `query($id: ID!) { change(id: $id) { id requester { id } approvals { decision } } }`,
      { id: 'CHG-20260101-000007' },
      viewer,
    );
    expect(body.errors).toBeUndefined();
    expect(counter.statements).toHaveLength(3);
  });

  it('computes the KPIs with one statement over the counts kept on write', async () => {
    counter.reset();
    const body = await post(
      '{ metrics { activeChanges pendingApprovals changesByStatus { status count } } }',
      {},
      viewer,
    );
    expect(body.errors).toBeUndefined();
    expect(counter.statements).toHaveLength(1);
    expect(counter.statements[0]).toContain('FROM change_kpi_counts');
  });
});
