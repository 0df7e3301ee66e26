import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { type AuditEventRecord, auditChain } from '../../src/db/audit';
import { getStepRuns } from '../../src/db/executions';
import { verifyAuditChain } from '../../src/domain/auditChain';
import { stepOutputHash } from '../../src/engine/engine';
import { gqlOk } from '../helpers/graphql';
import { setSecret, valueForms } from '../helpers/secrets';
import { CANCEL, createWorkflow, execute, freshCast, upstream, waitFor } from './helpers';

/**
 * Issue 15 item 2: everything an execution changes is in the tenant's hash chain, written by the
 * engine (running on Workflows, through the Worker's ports) in the same batch as the change.
 */

/** A marker that only ever appears in step outputs: the chain must hold their hash, not them. */
const CANARY = 'canary-output-5f1e9c';

async function chainOf(tenant: string) {
  const events = await auditChain(env.DB, tenant);
  expect(await verifyAuditChain(events)).toMatchObject({ valid: true, checked: events.length });
  return events;
}

const ofExecution = (events: AuditEventRecord[], id: string) => events.filter((e) => e.targetId === id);

/** The engine's events: its own principal, source system, the execution's id as the request. */
function expectEngine(events: AuditEventRecord[], executionId: string) {
  for (const e of events) {
    expect(e).toMatchObject({
      actorId: 'workflow-engine',
      actorType: 'system',
      source: 'system',
      requestId: executionId,
    });
  }
}

function expectNoOutputs(events: AuditEventRecord[]) {
  for (const e of events) {
    expect(JSON.stringify([e.before, e.after])).not.toContain(CANARY);
  }
}

/** Each step_ended event's hash is the SHA-256 of the step's recorded output. */
async function expectOutputHashes(tenant: string, executionId: string, events: AuditEventRecord[]) {
  const runs = await getStepRuns(env.DB, tenant, [executionId]);
  for (const e of events.filter((x) => x.action === 'execution.step_ended')) {
    const after = e.after as { stepIndex: number; status: string; outputSha256: string | null };
    const run = runs.find((r) => r.index === after.stepIndex);
    expect(run).toBeDefined();
    expect(after.outputSha256).toBe(run?.status === 'SUCCEEDED' ? await stepOutputHash(run.output) : null);
    if (after.outputSha256) expect(after.outputSha256).toMatch(/^[0-9a-f]{64}$/);
  }
}

describe('the execution lifecycle in the audit chain', () => {
  it('a run that succeeds: created, started, each step ended with its output hash, ended', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      {
        id: 'call',
        type: 'http-request',
        url: upstream('/ok'),
        method: 'POST',
        body: `{"tag": "${CANARY}"}`,
      },
      { id: 'pick', type: 'transform', spec: { value: { marker: CANARY } } },
      { id: 'pause', type: 'delay', durationMs: 50 },
    ]);
    const started = await execute(c.manager, id, { service: 'payments' });
    const done = await waitFor(c.manager, started.id);
    expect(done.status).toBe('SUCCEEDED');
    // The output is recorded in the step run (where it can be pruned), not in the chain.
    expect(JSON.stringify(done.steps[1]?.output)).toContain(CANARY);

    const events = ofExecution(await chainOf(c.tenant), started.id);
    expect(events.map((e) => e.action)).toEqual([
      'execution.created',
      'execution.started',
      'execution.step_ended',
      'execution.step_ended',
      'execution.step_ended',
      'execution.ended',
    ]);
    expect(events[0]).toMatchObject({ actorId: 'max', actorType: 'user', source: 'graphql' });
    expectEngine(events.slice(1), started.id);
    expect(events[1]?.before).toEqual({ status: 'PENDING' });
    expect(events[1]?.after).toEqual({ status: 'RUNNING', workflowVersion: 1 });
    expect(events.slice(2, 5).map((e) => e.after)).toEqual([
      {
        stepIndex: 0,
        stepId: 'call',
        type: 'http-request',
        status: 'SUCCEEDED',
        attempts: 1,
        outputSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        outputTruncated: false,
        errorCode: null,
      },
      {
        stepIndex: 1,
        stepId: 'pick',
        type: 'transform',
        status: 'SUCCEEDED',
        attempts: 1,
        outputSha256: await stepOutputHash({ marker: CANARY }),
        outputTruncated: false,
        errorCode: null,
      },
      {
        stepIndex: 2,
        stepId: 'pause',
        type: 'delay',
        status: 'SUCCEEDED',
        attempts: 1,
        outputSha256: await stepOutputHash(null),
        outputTruncated: false,
        errorCode: null,
      },
    ]);
    expect(events[5]?.before).toEqual({ status: 'RUNNING' });
    expect(events[5]?.after).toEqual({ status: 'SUCCEEDED', errorCode: null, errorStepId: null });
    await expectOutputHashes(c.tenant, started.id, events);
    expectNoOutputs(events);
  });

  it('a failing step: its end with the error code, then the execution ended FAILED', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      { id: 'a', type: 'transform', spec: { value: CANARY } },
      { id: 'b', type: 'transform', spec: { pick: { x: 'steps.nope.value' } } },
      { id: 'never', type: 'transform', spec: { value: 1 } },
    ]);
    const started = await execute(c.manager, id);
    expect((await waitFor(c.manager, started.id)).status).toBe('FAILED');

    const events = ofExecution(await chainOf(c.tenant), started.id);
    expect(events.map((e) => [e.action, (e.after as { status?: string }).status ?? null])).toEqual([
      ['execution.created', null],
      ['execution.started', 'RUNNING'],
      ['execution.step_ended', 'SUCCEEDED'],
      ['execution.step_ended', 'FAILED'],
      ['execution.ended', 'FAILED'],
    ]);
    expectEngine(events.slice(1), started.id);
    expect(events[3]?.after).toEqual({
      stepIndex: 1,
      stepId: 'b',
      type: 'transform',
      status: 'FAILED',
      attempts: 1,
      outputSha256: null,
      outputTruncated: false,
      errorCode: 'EXECUTION-004',
    });
    expect(events[4]?.after).toEqual({ status: 'FAILED', errorCode: 'EXECUTION-004', errorStepId: 'b' });
    await expectOutputHashes(c.tenant, started.id, events);
    expectNoOutputs(events);
  });

  it('a cancelled run: the request (by the person), the step cancelled, the execution cancelled', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      { id: 'first', type: 'transform', spec: { value: CANARY } },
      { id: 'wait', type: 'delay', durationMs: 3_600_000 },
    ]);
    const started = await execute(c.manager, id);
    await waitFor(c.manager, started.id, (e) =>
      e.steps.some((s) => s.stepId === 'wait' && s.status === 'WAITING'),
    );
    await gqlOk(CANCEL, { id: started.id }, c.manager);
    expect((await waitFor(c.manager, started.id)).status).toBe('CANCELLED');

    const events = ofExecution(await chainOf(c.tenant), started.id);
    expect(events.map((e) => [e.action, e.actorId])).toEqual([
      ['execution.created', 'max'],
      ['execution.started', 'workflow-engine'],
      ['execution.step_ended', 'workflow-engine'],
      ['execution.cancel_requested', 'max'],
      ['execution.step_ended', 'workflow-engine'],
      ['execution.cancelled', 'workflow-engine'],
    ]);
    expectEngine([events[1], events[2], events[4], events[5]] as AuditEventRecord[], started.id);
    expect(events[4]?.after).toMatchObject({
      stepId: 'wait',
      status: 'CANCELLED',
      errorCode: 'EXECUTION-005',
    });
    expect(events[5]?.after).toEqual({
      status: 'CANCELLED',
      errorCode: 'EXECUTION-005',
      errorStepId: null,
      cancelRequestedBy: 'max',
    });
    await expectOutputHashes(c.tenant, started.id, events);
    expectNoOutputs(events);
  });
});

describe('secrets in the audit chain', () => {
  it('setting, rotating and deleting a secret records its name and hosts, never its value', async () => {
    const c = await freshCast();
    const value = `s3cret-${crypto.randomUUID()}`;
    const rotated = `r0tated-${crypto.randomUUID()}`;
    await setSecret(c.admin, 'DEPLOY_TOKEN', value, ['deploy.example.com']);
    await setSecret(c.admin, 'DEPLOY_TOKEN', rotated, ['deploy.example.com']);
    await gqlOk('mutation { deleteWorkflowSecret(name: "DEPLOY_TOKEN") { name } }', {}, c.admin);

    const events = (await chainOf(c.tenant)).filter((e) => e.targetType === 'WorkflowSecret');
    expect(events.map((e) => [e.action, e.targetId])).toEqual([
      ['workflow_secret.created', 'DEPLOY_TOKEN'],
      ['workflow_secret.rotated', 'DEPLOY_TOKEN'],
      ['workflow_secret.deleted', 'DEPLOY_TOKEN'],
    ]);
    expect(events[0]?.after).toMatchObject({ name: 'DEPLOY_TOKEN', allowedHosts: ['deploy.example.com'] });
    const { results } = await env.DB.prepare(
      'SELECT before_json, after_json FROM audit_events WHERE tenant_id = ?1',
    )
      .bind(c.tenant)
      .all<{ before_json: string | null; after_json: string | null }>();
    const stored = JSON.stringify(results);
    for (const form of [...(await valueForms(value)), ...(await valueForms(rotated))]) {
      expect(stored).not.toContain(form);
    }
  });
});
