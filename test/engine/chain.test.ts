import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { auditChain } from '../../src/db/audit';
import { verifyAuditChain } from '../../src/domain/auditChain';
import { beginExecution, finishExecution, runTransforms, stepOutputHash } from '../../src/engine/engine';
import { harness } from './harness';

type TransformSteps = Parameters<typeof runTransforms>[4];

/**
 * The engine's audit events go in the same batch as the write they describe: when appending the
 * event fails, the write fails with it. The failure is injected where it would happen, in D1: a
 * trigger that refuses the tenant's next event of one action.
 */

const injected: string[] = [];

async function failAuditOf(tenantId: string, action: string) {
  const name = `inject_${crypto.randomUUID().replaceAll('-', '')}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE INSERT ON audit_events
     WHEN NEW.tenant_id = '${tenantId}' AND NEW.action = '${action}'
     BEGIN SELECT RAISE(ABORT, 'INJECTED_AUDIT_FAILURE'); END`,
  ).run();
  injected.push(name);
  return () => env.DB.prepare(`DROP TRIGGER ${name}`).run();
}

afterEach(async () => {
  for (const name of injected.splice(0)) await env.DB.prepare(`DROP TRIGGER IF EXISTS ${name}`).run();
});

const actions = async (tenantId: string) => {
  const events = await auditChain(env.DB, tenantId);
  expect(await verifyAuditChain(events)).toMatchObject({ valid: true, checked: events.length });
  return events.map((e) => e.action);
};

describe('engine writes and their audit events are one batch', () => {
  it('a step whose audit append fails is not recorded either; once it can be, both are', async () => {
    const h = await harness({
      steps: [{ id: 'a', type: 'transform', spec: { value: 'secret-ish output' } }],
    });
    const begin = await beginExecution(h.ports, h.ids);
    expect(begin.kind).toBe('run');
    const heal = await failAuditOf(h.tenantId, 'execution.step_ended');
    const run = () =>
      runTransforms(h.ports, h.ids, h.workflowId, 0, h.steps as TransformSteps, { inputs: {}, steps: {} });
    await expect(run()).rejects.toThrow(/INJECTED_AUDIT_FAILURE/);
    expect(await h.runs()).toEqual([]);
    expect((await h.execution()).currentStep).toBeNull();
    expect(await actions(h.tenantId)).toEqual(['execution.started']);

    await heal();
    await run();
    expect((await h.runs()).map((r) => r.status)).toEqual(['SUCCEEDED']);
    const events = await auditChain(env.DB, h.tenantId);
    expect(events.map((e) => e.action)).toEqual(['execution.started', 'execution.step_ended']);
    expect(events[1]?.after).toMatchObject({ outputSha256: await stepOutputHash('secret-ish output') });
    expect(JSON.stringify(events[1]?.after)).not.toContain('secret-ish output');
  });

  it("an execution's end whose audit append fails leaves it RUNNING; the retry ends it once", async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await beginExecution(h.ports, h.ids);
    const heal = await failAuditOf(h.tenantId, 'execution.ended');
    await expect(finishExecution(h.ports, h.ids, { kind: 'ok', output: null }, {})).rejects.toThrow(
      /INJECTED_AUDIT_FAILURE/,
    );
    expect((await h.execution()).status).toBe('RUNNING');
    await heal();
    expect((await finishExecution(h.ports, h.ids, { kind: 'ok', output: null }, {}))?.status).toBe(
      'SUCCEEDED',
    );
    expect(await finishExecution(h.ports, h.ids, { kind: 'ok', output: null }, {})).toBeNull();
    expect(await actions(h.tenantId)).toEqual(['execution.started', 'execution.ended']);
  });

  it('a start whose audit append fails leaves it PENDING', async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await failAuditOf(h.tenantId, 'execution.started');
    await expect(beginExecution(h.ports, h.ids)).rejects.toThrow(/INJECTED_AUDIT_FAILURE/);
    expect((await h.execution()).status).toBe('PENDING');
    expect(await actions(h.tenantId)).toEqual([]);
  });

  it('two finishers at once (the run and the watchdog): one ends it, one event, the chain verifies', async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await beginExecution(h.ports, h.ids);
    const error = { code: 'EXECUTION-006', class: 'ENGINE', message: 'lost' };
    const results = await Promise.all([
      finishExecution(h.ports, h.ids, { kind: 'ok', output: null }, {}),
      finishExecution(h.ports, h.ids, { kind: 'failed', error }, null),
      finishExecution(h.ports, h.ids, { kind: 'cancelled' }, null),
    ]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    const ended = results.find((r) => r !== null);
    const events = await auditChain(env.DB, h.tenantId);
    expect(await actions(h.tenantId)).toEqual([
      'execution.started',
      ended?.status === 'CANCELLED' ? 'execution.cancelled' : 'execution.ended',
    ]);
    expect(events[1]?.after).toMatchObject({ status: ended?.status });
    expect((await h.execution()).status).toBe(ended?.status);
  });

  it('a replayed begin (already RUNNING) adds no second started event', async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await beginExecution(h.ports, h.ids);
    await beginExecution(h.ports, h.ids);
    expect(await actions(h.tenantId)).toEqual(['execution.started']);
  });
});
