import { describe, expect, it } from 'vitest';
import { token } from '../helpers/auth';
import { gqlOk } from '../helpers/graphql';
import { rest } from '../helpers/rest';

/**
 * The workflow orchestrator's routes, with its documented shapes and codes: its clients send
 * `X-API-Key` and its JSON bodies, and get its rows, `{items, nextCursor}` and `{"error": {...}}`.
 */
type Err = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Workflow = {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  steps: { id: string; type: string; config: Record<string, unknown>; order: number }[];
  triggers: unknown[];
  status: string;
  createdAt: string;
  updatedAt: string;
};
type Execution = Record<string, unknown> & { id: string; status: string; workflowId: string };

async function apiKey(tenant: string, roles: string[]): Promise<string> {
  const admin = await token({ sub: `${tenant}-admin`, tenant, roles: ['admin'] });
  const data = await gqlOk<{ createApiKey: { secret: string } }>(
    'mutation($name: String!, $roles: [Role!]!) { createApiKey(name: $name, roles: $roles) { secret } }',
    { name: `orchestrator-${roles.join('-')}`, roles },
    admin,
  );
  return data.createApiKey.secret;
}

const STEPS = [
  { id: 'second', type: 'transform', config: { spec: { value: 2 } }, order: 2 },
  { id: 'first', type: 'delay', config: { durationMs: 60_000 }, order: 1 },
];

function legacy(key: string) {
  return <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    rest<T>(method, path, { body, headers: { 'x-api-key': key, ...headers } });
}

describe('the orchestrator routes', () => {
  it('creates, reads, lists, updates and deletes a workflow in its shapes, audited with source rest', async () => {
    const call = legacy(await apiKey('orch-wf', ['change_manager']));
    const created = await call<Workflow>('POST', '/api/workflows', {
      name: 'Nightly sync',
      description: 'Syncs things',
      steps: STEPS,
      triggers: ['manual'],
      status: 'inactive',
      tenantId: 'orch-wf',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const w = created.body;
    expect(Object.keys(w).sort()).toEqual(
      [
        'createdAt',
        'description',
        'id',
        'name',
        'status',
        'steps',
        'tenantId',
        'triggers',
        'updatedAt',
      ].sort(),
    );
    expect(w).toMatchObject({
      tenantId: 'orch-wf',
      name: 'Nightly sync',
      status: 'inactive',
      triggers: ['manual'],
    });
    expect(w.steps.map((s) => [s.id, s.type, s.order])).toEqual([
      ['first', 'delay', 0],
      ['second', 'transform', 1],
    ]);
    expect(w.steps[0]?.config).toMatchObject({ durationMs: 60_000 });

    const got = await call<Workflow>('GET', `/api/workflows/${w.id}`);
    expect(got.body).toEqual(w);
    const put = await call<Workflow>('PUT', `/api/workflows/${w.id}`, {
      name: 'Nightly sync 2',
      status: 'active',
    });
    expect(put.status, JSON.stringify(put.body)).toBe(200);
    expect(put.body).toMatchObject({ name: 'Nightly sync 2', status: 'active' });

    await call('POST', '/api/workflows', { name: 'Other', steps: STEPS });
    const page1 = await call<{ items: Workflow[]; nextCursor: string | null }>(
      'GET',
      '/api/workflows?limit=1',
    );
    expect(page1.body.items).toHaveLength(1);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await call<{ items: Workflow[]; nextCursor: string | null }>(
      'GET',
      `/api/workflows?limit=1&cursor=${encodeURIComponent(page1.body.nextCursor as string)}`,
    );
    expect(page2.body.items).toHaveLength(1);
    expect(page2.body.nextCursor).toBeNull();
    expect(page2.body.items[0]?.id).not.toBe(page1.body.items[0]?.id);

    const deleted = await call<Workflow>('DELETE', `/api/workflows/${w.id}`);
    expect(deleted.body.id).toBe(w.id);
    const gone = await call<Err>('GET', `/api/workflows/${w.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('WORKFLOW-002');

    const admin = await token({ sub: 'auditor', tenant: 'orch-wf', roles: ['admin'] });
    const audit = await rest<{ nodes: { action: string; source: string }[] }>(
      'GET',
      `/api/v1/audit-events?targetId=${w.id}&first=20`,
      { token: admin },
    );
    expect(audit.body.nodes.length).toBeGreaterThanOrEqual(4);
    expect(new Set(audit.body.nodes.map((e) => e.source))).toEqual(new Set(['rest']));
  });

  it('answers its documented workflow error codes, with the status of the error behind them', async () => {
    const call = legacy(await apiKey('orch-wf-errors', ['change_manager']));
    const cases: [string, string, unknown, string, number][] = [
      ['POST', '/api/workflows', { description: 'no name, no steps' }, 'WORKFLOW-001', 400],
      ['POST', '/api/workflows', { name: 'Valid name', steps: 'nope' }, 'WORKFLOW-003', 400],
      [
        'POST',
        '/api/workflows',
        { name: 'Valid name', steps: [{ id: 'a', type: 'teleport', config: {} }] },
        'WORKFLOW-003',
        400,
      ],
      [
        'POST',
        '/api/workflows',
        { name: 'Valid name', steps: STEPS, triggers: ['webhook'] },
        'WORKFLOW-003',
        400,
      ],
      ['POST', '/api/workflows', { name: 'Valid name', steps: STEPS, status: 'paused' }, 'WORKFLOW-003', 400],
      ['POST', '/api/workflows', '{"name": ', 'WORKFLOW-003', 400],
      [
        'POST',
        '/api/workflows',
        { name: 'Valid name', steps: STEPS, tenantId: 'someone-else' },
        'WORKFLOW-003',
        403,
      ],
      ['GET', '/api/workflows/nope', undefined, 'WORKFLOW-002', 404],
      ['PUT', '/api/workflows/nope', { name: 'Renamed' }, 'WORKFLOW-002', 404],
      ['DELETE', '/api/workflows/nope', undefined, 'WORKFLOW-002', 404],
      ['GET', '/api/workflows?limit=0', undefined, 'WORKFLOW-003', 400],
    ];
    for (const [method, path, body, code, status] of cases) {
      const r = await call<Err>(method, path, body);
      const label = `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`;
      expect(r.status, label).toBe(status);
      expect(r.body.error.code, label).toBe(code);
      expect(r.body.error.message.length, label).toBeGreaterThan(0);
    }
  });

  it('runs, reads, lists and cancels executions in its shapes and codes', async () => {
    const call = legacy(await apiKey('orch-ex', ['change_manager']));
    const w = (await call<Workflow>('POST', '/api/workflows', { name: 'Slow', steps: STEPS })).body;
    const started = await call<Execution>('POST', '/api/executions', {
      workflowId: w.id,
      inputs: { env: 'prod' },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(Object.keys(started.body).sort()).toEqual(
      [
        'completedAt',
        'createdAt',
        'error',
        'id',
        'inputs',
        'outputs',
        'startedAt',
        'status',
        'trigger',
        'updatedAt',
        'workflowId',
      ].sort(),
    );
    expect(started.body).toMatchObject({
      workflowId: w.id,
      inputs: { env: 'prod' },
      trigger: 'manual',
      error: null,
    });
    expect(['pending', 'running']).toContain(started.body.status);
    const got = await call<Execution>('GET', `/api/executions/${started.body.id}`);
    expect(got.body.id).toBe(started.body.id);
    const list = await call<{ items: Execution[]; nextCursor: string | null }>(
      'GET',
      `/api/executions?workflowId=${w.id}`,
    );
    expect(list.body.items.map((e) => e.id)).toEqual([started.body.id]);
    expect(list.body.nextCursor).toBeNull();
    const cancelled = await call<Execution>('POST', `/api/executions/${started.body.id}/cancel`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body.id).toBe(started.body.id);

    const cases: [string, string, unknown, string, number][] = [
      ['POST', '/api/executions', {}, 'EXECUTION-003', 400],
      ['POST', '/api/executions', { workflowId: w.id, inputs: [1] }, 'EXECUTION-003', 400],
      ['POST', '/api/executions', { workflowId: 'nope' }, 'EXECUTION-001', 404],
      ['POST', '/api/executions', { workflowId: w.id, tenantId: 'other' }, 'EXECUTION-003', 403],
      ['GET', '/api/executions/nope', undefined, 'EXECUTION-002', 404],
      ['POST', '/api/executions/nope/cancel', undefined, 'EXECUTION-002', 404],
      ['GET', '/api/executions?status=sleeping', undefined, 'EXECUTION-003', 400],
    ];
    for (const [method, path, body, code, status] of cases) {
      const r = await call<Err>(method, path, body);
      const label = `${method} ${path}: ${JSON.stringify(r.body)}`;
      expect(r.status, label).toBe(status);
      expect(r.body.error.code, label).toBe(code);
    }
  });

  it("keeps roles and tenants: a viewer may not write, another tenant's workflow is not found", async () => {
    const owner = legacy(await apiKey('orch-owner', ['change_manager']));
    const w = (await owner<Workflow>('POST', '/api/workflows', { name: 'Mine', steps: STEPS })).body;
    const viewer = legacy(await apiKey('orch-owner', ['viewer']));
    const write = await viewer<Err>('POST', '/api/workflows', { name: 'Nope', steps: STEPS });
    expect(write.status).toBe(403);
    expect(write.body.error.code).toBe('FORBIDDEN');
    expect((await viewer<Err>('DELETE', `/api/workflows/${w.id}`)).body.error.code).toBe('FORBIDDEN');
    const stranger = legacy(await apiKey('orch-stranger', ['admin']));
    expect((await stranger<Err>('GET', `/api/workflows/${w.id}`)).body.error.code).toBe('WORKFLOW-002');
    expect((await stranger<Err>('POST', '/api/executions', { workflowId: w.id })).body.error.code).toBe(
      'EXECUTION-001',
    );
    expect((await owner<Workflow>('GET', `/api/workflows/${w.id}`)).status).toBe(200);
  });

  it('replays a create under the same Idempotency-Key', async () => {
    const call = legacy(await apiKey('orch-idem', ['change_manager']));
    const body = { name: 'Once', steps: STEPS };
    const first = await call<Workflow>('POST', '/api/workflows', body, { 'idempotency-key': 'orch-1' });
    const again = await call<Workflow>('POST', '/api/workflows', body, { 'idempotency-key': 'orch-1' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const other = await call<Err>(
      'POST',
      '/api/workflows',
      { ...body, name: 'Twice' },
      { 'idempotency-key': 'orch-1' },
    );
    expect(other.body.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await call<{ items: unknown[] }>('GET', '/api/workflows')).body.items).toHaveLength(1);
  });
});
