import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { insertExecutionStatement } from '../../src/db/executions';
import type { ExecutionRecord } from '../../src/domain/types';
import worker from '../../src/runtime/worker/index';
import { createWorkflow, execute, freshCast, getExecution, waitFor } from './helpers';

/** Fires the every-minute cron, as Cloudflare (or `npm start` under wrangler dev) does. */
async function tick() {
  const ctx = createExecutionContext();
  await worker.scheduled(
    createScheduledController({ scheduledTime: Date.now(), cron: '* * * * *' }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
}

/** An execution row as a lost hand-over or a lost instance leaves it: not touched for 10 minutes. */
async function strandedExecution(tenantId: string, workflowId: string, status: 'PENDING' | 'RUNNING') {
  const old = new Date(Date.now() - 10 * 60_000).toISOString();
  const e: ExecutionRecord = {
    id: `exe_stranded_${crypto.randomUUID()}`,
    tenantId,
    workflowId,
    workflowVersion: 1,
    status,
    trigger: 'MANUAL',
    triggerRef: null,
    changeId: null,
    inputs: {},
    outputs: null,
    error: null,
    currentStep: null,
    wakeAt: null,
    cancelRequestedAt: null,
    cancelRequestedBy: null,
    causedBy: null,
    createdBy: 'max',
    createdAt: old,
    startedAt: status === 'RUNNING' ? old : null,
    endedAt: null,
    updatedAt: old,
  };
  await insertExecutionStatement(env.DB, e).run();
  return e.id;
}

describe('the execution watchdog (every minute)', () => {
  it('hands a PENDING execution whose hand-over was lost to the engine again', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [{ id: 'x', type: 'transform', spec: { value: 'ran' } }]);
    const id = await strandedExecution(c.tenant, wf, 'PENDING');
    await tick();
    const done = await waitFor(c.manager, id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.outputs).toEqual({ x: 'ran' });
  });

  it('fails a RUNNING execution the engine has no instance for with EXECUTION-009', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
    const id = await strandedExecution(c.tenant, wf, 'RUNNING');
    await tick();
    const e = await getExecution(c.manager, id);
    expect(e.status).toBe('FAILED');
    expect(e.error).toMatchObject({ code: 'EXECUTION-009', class: 'ENGINE' });
  });

  it('leaves executions that are moving alone', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }]);
    const started = await execute(c.manager, wf);
    await waitFor(c.manager, started.id, (e) => e.steps[0]?.status === 'WAITING');
    await tick();
    const e = await getExecution(c.manager, started.id);
    expect(e.status).toBe('RUNNING');
    expect(e.steps[0]?.status).toBe('WAITING');
  });
});
