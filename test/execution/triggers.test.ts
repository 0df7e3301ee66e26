import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../src/engine/webhookSignature';
import worker from '../../src/runtime/worker/index';
import { DELETE_SECRET, setSecret } from '../helpers/secrets';
import { codes, createWorkflow, execute, freshCast, gql, gqlOk, waitFor } from './helpers';

const SECRET = 'test-webhook-signing-secret';

async function deliver(
  workflowId: string,
  body: string,
  opts: { timestamp?: number; secret?: string; signature?: string | null; method?: string } = {},
) {
  const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
  const signature =
    opts.signature === undefined ? await signWebhook(opts.secret ?? SECRET, timestamp, body) : opts.signature;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-changeflow-timestamp': String(timestamp),
  };
  if (signature !== null) headers['x-changeflow-signature'] = signature;
  const res = await exports.default.fetch(`http://cf.test/hooks/workflows/${workflowId}`, {
    method: opts.method ?? 'POST',
    headers,
    body: opts.method === 'GET' ? undefined : body,
  });
  return {
    status: res.status,
    body: (await res.json()) as { executionId?: string; error?: { code: string; message: string } },
  };
}

async function hookedWorkflow(secretName = 'HOOK_SECRET') {
  const c = await freshCast();
  // A signing secret is never sent anywhere: it needs no allowed hosts.
  await setSecret(c.admin, secretName, SECRET);
  const id = await createWorkflow(
    c.manager,
    [{ id: 'echo', type: 'transform', spec: { pick: { release: 'inputs.body.release' } } }],
    { triggers: [{ type: 'webhook', secret: secretName }] },
  );
  return { c, id };
}

describe('signed webhook trigger', () => {
  it('starts the workflow for a good signature, with the body as inputs', async () => {
    const { c, id } = await hookedWorkflow();
    const r = await deliver(id, JSON.stringify({ release: 'v42' }));
    expect(r.status).toBe(202);
    const done = await waitFor(c.manager, r.body.executionId!);
    expect(done).toMatchObject({ status: 'SUCCEEDED', trigger: 'WEBHOOK', createdBy: 'webhook' });
    expect(done.outputs?.echo).toEqual({ release: 'v42' });
  });

  it('refuses a bad signature (WORKFLOW-010), a wrong secret, and a tampered body', async () => {
    const { id } = await hookedWorkflow();
    const body = JSON.stringify({ release: 'v1' });
    expect((await deliver(id, body, { signature: `sha256=${'0'.repeat(64)}` })).body.error?.code).toBe(
      'WORKFLOW-010',
    );
    const wrong = await deliver(id, body, { secret: 'another-secret' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error?.code).toBe('WORKFLOW-010');
    const ts = Math.floor(Date.now() / 1000);
    const sig = await signWebhook(SECRET, ts, body);
    const tampered = await deliver(id, JSON.stringify({ release: 'v2' }), { timestamp: ts, signature: sig });
    expect(tampered.body.error?.code).toBe('WORKFLOW-010');
  });

  it('refuses a replayed delivery (WORKFLOW-012) and starts nothing for it', async () => {
    const { c, id } = await hookedWorkflow();
    const body = JSON.stringify({ release: 'v7' });
    const ts = Math.floor(Date.now() / 1000);
    const sig = await signWebhook(SECRET, ts, body);
    expect((await deliver(id, body, { timestamp: ts, signature: sig })).status).toBe(202);
    const replay = await deliver(id, body, { timestamp: ts, signature: sig });
    expect(replay.status).toBe(409);
    expect(replay.body.error?.code).toBe('WORKFLOW-012');
    const list = await gqlOk<{ executions: { nodes: unknown[] } }>(
      `query($w: ID) { executions(filter: { workflowId: $w }) { nodes { id } } }`,
      { w: id },
      c.viewer,
    );
    expect(list.executions.nodes).toHaveLength(1);
  });

  it('refuses a stale or future timestamp (WORKFLOW-011), even when correctly signed', async () => {
    const { id } = await hookedWorkflow();
    const body = '{}';
    const old = await deliver(id, body, { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(old.status).toBe(401);
    expect(old.body.error?.code).toBe('WORKFLOW-011');
    const future = await deliver(id, body, { timestamp: Math.floor(Date.now() / 1000) + 600 });
    expect(future.body.error?.code).toBe('WORKFLOW-011');
  });

  it('names what is missing or malformed (WORKFLOW-009), and refuses a non-JSON body', async () => {
    const { id } = await hookedWorkflow();
    const missing = await deliver(id, '{}', { signature: null });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.code).toBe('WORKFLOW-009');
    expect((await deliver(id, '{}', { signature: 'md5=abc' })).body.error?.code).toBe('WORKFLOW-009');
    const notJson = await deliver(id, 'release=v1');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error?.code).toBe('VALIDATION_FAILED');
  });

  it('answers 404 alike for unknown workflows and workflows without a webhook trigger, 405 for GET', async () => {
    const c = await freshCast();
    const plain = await createWorkflow(c.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
    expect((await deliver('wf_unknown', '{}')).body.error?.code).toBe('WORKFLOW-008');
    const none = await deliver(plain, '{}');
    expect(none.status).toBe(404);
    expect(none.body.error?.code).toBe('WORKFLOW-008');
    expect((await deliver(plain, '{}', { method: 'GET' })).status).toBe(405);
  });

  it('answers 400 BAD_REQUEST, not 500, for a webhook path that is not valid percent-encoding', async () => {
    for (const id of ['%', '%zz', '%E0%A4%A']) {
      const res = await exports.default.fetch(`http://cf.test/hooks/workflows/${id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
    }
  });

  it('says so when the named secret is no longer set (WORKFLOW-013)', async () => {
    const { c, id } = await hookedWorkflow('GONE_SECRET');
    await gqlOk(DELETE_SECRET, { name: 'GONE_SECRET' }, c.admin);
    const r = await deliver(id, '{}');
    expect(r.status).toBe(503);
    expect(r.body.error?.code).toBe('WORKFLOW-013');
  });
});

describe('cron trigger', () => {
  it('shows when the schedule next starts the workflow, and null without one or when INACTIVE', async () => {
    const c = await freshCast();
    const NEXT = 'query($id: ID!) { workflow(id: $id) { nextRunAt } }';
    const id = await createWorkflow(c.manager, [{ id: 'tick', type: 'transform', spec: { value: 1 } }], {
      triggers: [
        { type: 'cron', expression: '30 4 * * *' },
        { type: 'cron', expression: '*/15 * * * *' },
      ],
    });
    const before = Date.now();
    const { workflow } = await gqlOk<{ workflow: { nextRunAt: string } }>(NEXT, { id }, c.viewer);
    const next = new Date(workflow.nextRunAt);
    // The earliest of the two: the next quarter hour, strictly after now.
    expect(next.getUTCMinutes() % 15).toBe(0);
    expect(next.getTime()).toBeGreaterThan(before - 60_000);
    expect(next.getTime() - before).toBeLessThanOrEqual(15 * 60_000);
    const manual = await createWorkflow(c.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
    expect(
      (await gqlOk<{ workflow: { nextRunAt: null } }>(NEXT, { id: manual }, c.viewer)).workflow.nextRunAt,
    ).toBeNull();
    await gqlOk('mutation($id: ID!) { deactivateWorkflow(id: $id) { id } }', { id }, c.manager);
    expect(
      (await gqlOk<{ workflow: { nextRunAt: null } }>(NEXT, { id }, c.viewer)).workflow.nextRunAt,
    ).toBeNull();
  });

  it('starts a workflow whose schedule matches the minute, once per minute', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'tick', type: 'transform', spec: { value: 'tock' } }], {
      triggers: [{ type: 'cron', expression: '*/5 * * * *' }],
    });
    const LIST = `query($w: ID) { executions(filter: { workflowId: $w }) { nodes { id trigger triggerRef status } } }`;
    // What the Workers cron runtime does every minute: call the Worker's scheduled handler.
    const at = async (iso: string) => {
      const ctx = createExecutionContext();
      await worker.scheduled(
        createScheduledController({ scheduledTime: new Date(iso), cron: '* * * * *' }),
        env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
    };
    await at('2026-11-29T10:05:00Z');
    await at('2026-11-29T10:05:00Z'); // a second event for the same minute
    await at('2026-11-29T10:07:00Z'); // not on the schedule
    const runs = await gqlOk<{
      executions: { nodes: { id: string; trigger: string; triggerRef: string }[] };
    }>(LIST, { w: id }, c.viewer);
    expect(runs.executions.nodes).toEqual([
      expect.objectContaining({ trigger: 'CRON', triggerRef: '2026-11-29T10:05' }),
    ]);
    const done = await waitFor(c.manager, runs.executions.nodes[0]!.id);
    expect(done.outputs?.tick).toBe('tock');
  });
});

describe('definitions and executions', () => {
  it('rejects malformed steps naming the field', async () => {
    const c = await freshCast();
    const r = await gql(
      `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`,
      {
        input: {
          name: 'broken',
          steps: [
            { id: 'call', type: 'http-request', url: 'ftp://example.com', retry: { maxAttempts: 0 } },
            { id: 'wait', type: 'delay' },
          ],
        },
      },
      { token: c.manager },
    );
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    const fields = ((r.errors?.[0]?.extensions?.issues ?? []) as { field: string }[]).map((i) => i.field);
    expect(fields).toEqual(
      expect.arrayContaining(['steps.0.url', 'steps.0.retry.maxAttempts', 'steps.1.durationMs']),
    );
  });

  it('refuses to run an INACTIVE workflow (WORKFLOW-006) and to delete one with live executions (WORKFLOW-007)', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }]);
    const running = await execute(c.manager, id);
    const del = await gql(
      `mutation($id: ID!) { deleteWorkflow(id: $id) { id } }`,
      { id },
      { token: c.manager },
    );
    expect(codes(del)).toEqual(['WORKFLOW-007']);
    await gqlOk(`mutation($id: ID!) { cancelExecution(id: $id) { id } }`, { id: running.id }, c.manager);
    await waitFor(c.manager, running.id);
    await gqlOk(`mutation($id: ID!) { deactivateWorkflow(id: $id) { id } }`, { id }, c.manager);
    const r = await gql(
      `mutation($w: ID!) { executeWorkflow(workflowId: $w) { id } }`,
      { w: id },
      { token: c.manager },
    );
    expect(codes(r)).toEqual(['WORKFLOW-006']);
    await gqlOk(`mutation($id: ID!) { deleteWorkflow(id: $id) { id } }`, { id }, c.manager);
  });

  it('the database itself refuses deleting a workflow with live executions, and executions of a missing workflow', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }]);
    const running = await execute(c.manager, id);
    // What a delete racing the resolver's check would reach: the trigger of migration 0006.
    await expect(env.DB.prepare('DELETE FROM workflows WHERE id = ?1').bind(id).run()).rejects.toThrow(
      /WORKFLOW_HAS_LIVE_EXECUTIONS/,
    );
    await expect(
      env.DB.prepare(
        `INSERT INTO workflow_executions (id, tenant_id, workflow_id, workflow_version, status, trigger, inputs,
           created_by, created_at, updated_at) VALUES ('exe_orphan', ?1, 'wf_gone', 1, 'PENDING', 'MANUAL', '{}', 'x', 'now', 'now')`,
      )
        .bind(c.tenant)
        .run(),
    ).rejects.toThrow(/WORKFLOW_NOT_FOUND/);
    await gqlOk(`mutation($id: ID!) { cancelExecution(id: $id) { id } }`, { id: running.id }, c.manager);
  });

  it('refuses inputs over 64 KiB, naming the field', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
    const r = await gql(
      `mutation($w: ID!, $i: JSON) { executeWorkflow(workflowId: $w, inputs: $i) { id } }`,
      { w: id, i: { blob: 'x'.repeat(70_000) } },
      { token: c.manager },
    );
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(r.errors?.[0]?.message).toContain('inputs');
  });

  it('keeps workflows and executions to their tenant', async () => {
    const a = await freshCast();
    const b = await freshCast();
    const id = await createWorkflow(a.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
    const run = await waitFor(a.manager, (await execute(a.manager, id)).id);
    const notMine = await gql(
      `query($id: ID!) { execution(id: $id) { id } }`,
      { id: run.id },
      { token: b.admin },
    );
    expect(codes(notMine)).toEqual(['EXECUTION-010']);
    const startOther = await gql(
      `mutation($w: ID!) { executeWorkflow(workflowId: $w) { id } }`,
      { w: id },
      { token: b.manager },
    );
    expect(codes(startOther)).toEqual(['WORKFLOW-001']);
    const cancelOther = await gql(
      `mutation($id: ID!) { cancelExecution(id: $id) { id } }`,
      { id: run.id },
      { token: b.manager },
    );
    expect(codes(cancelOther)).toEqual(['EXECUTION-010']);
    const list = await gqlOk<{ executions: { nodes: unknown[] } }>(
      `{ executions { nodes { id } } }`,
      {},
      b.admin,
    );
    expect(list.executions.nodes).toEqual([]);
  });

  it('a requester may read executions but not start them', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
    const r = await gql(
      `mutation($w: ID!) { executeWorkflow(workflowId: $w) { id } }`,
      { w: id },
      { token: c.requester },
    );
    expect(codes(r)).toEqual(['FORBIDDEN']);
  });
});
