import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { gqlOk } from '../helpers/graphql';
import { createWorkflow, freshCast } from './helpers';

/**
 * The executions list pages by a row-value cursor (`(created_at, id) < (?, ?)`, an index bound):
 * every execution once, newest first, ties on created_at broken by id, across pages, and no other
 * tenant's rows however their times compare.
 */
const PAGE = `query($after: String) {
  executions(first: 2, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } }`;

async function insert(tenantId: string, workflowId: string, id: string, createdAt: string) {
  await env.DB.prepare(
    `INSERT INTO workflow_executions (id, tenant_id, workflow_id, workflow_version, status, trigger, inputs,
       created_by, created_at, updated_at)
     VALUES (?1, ?2, ?4, 1, 'SUCCEEDED', 'MANUAL', '{}', 'mia', ?3, ?3)`,
  )
    .bind(id, tenantId, createdAt, workflowId)
    .run();
}

describe('executions pagination', () => {
  it('lists each execution once across pages, ties on created_at ordered by id', async () => {
    const c = await freshCast();
    const other = await freshCast();
    const steps = [{ id: 'wait', type: 'delay', durationMs: 1 }];
    const mine = await createWorkflow(c.manager, steps);
    const theirs = await createWorkflow(other.manager, steps);
    const tie = '2026-03-01T10:00:00.000Z';
    const rows: [string, string][] = [
      ['exe_a1', '2026-03-01T09:00:00.000Z'],
      ['exe_t1', tie],
      ['exe_t3', tie],
      ['exe_t2', tie],
      ['exe_b1', '2026-03-01T11:00:00.000Z'],
      ['exe_c1', '2026-03-01T12:00:00.000Z'],
      ['exe_d1', '2026-02-01T00:00:00.000Z'],
    ];
    for (const [id, at] of rows) await insert(c.tenant, mine, `${id}_${c.tenant}`, at);
    // Another tenant's rows at the same times, between ours by id.
    for (const [id, at] of rows) await insert(other.tenant, theirs, `${id}_${c.tenant}-0`, at);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const r: {
        executions: { nodes: { id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
      } = await gqlOk(PAGE, { after }, c.viewer);
      seen.push(...r.executions.nodes.map((n) => n.id.replace(`_${c.tenant}`, '')));
      if (!r.executions.pageInfo.hasNextPage) break;
      after = r.executions.pageInfo.endCursor;
    }
    expect(seen).toEqual(['exe_c1', 'exe_b1', 'exe_t3', 'exe_t2', 'exe_t1', 'exe_a1', 'exe_d1']);
  });
});
