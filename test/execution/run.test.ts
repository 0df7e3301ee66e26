import { describe, expect, it } from 'vitest';
import { createWorkflow, execute, freshCast, upstream, waitFor } from './helpers';

describe('a workflow that succeeds end to end', () => {
  it('runs an http-request, a transform and a delay, recording every step', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      {
        id: 'call',
        type: 'http-request',
        url: upstream('/ok'),
        method: 'POST',
        body: '{"service": "{{ inputs.service }}"}',
      },
      { id: 'pick', type: 'transform', spec: { pick: { service: 'steps.call.body.body.service' } } },
      { id: 'pause', type: 'delay', durationMs: 50 },
    ]);
    const started = await execute(c.manager, id, { service: 'payments' });
    expect(started.status).toBe('PENDING');
    const done = await waitFor(c.manager, started.id);
    expect(done.error).toBeNull();
    expect(done.status).toBe('SUCCEEDED');
    expect(done.steps.map((s) => [s.stepId, s.status, s.attempts])).toEqual([
      ['call', 'SUCCEEDED', 1],
      ['pick', 'SUCCEEDED', 1],
      ['pause', 'SUCCEEDED', 1],
    ]);
    expect(done.steps[1]?.output).toEqual({ service: 'payments' });
    expect(done.outputs?.pick).toEqual({ service: 'payments' });
  });
});

describe('consecutive transforms', () => {
  it('each gets its own record; the first failure stops the run with EXECUTION-004 naming the path', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      { id: 'a', type: 'transform', spec: { value: { items: [1, 2] } } },
      { id: 'b', type: 'transform', spec: { pick: { first: 'steps.a.items[0]' } } },
      { id: 'c', type: 'transform', spec: { pick: { x: 'steps.nope.value' } } },
      { id: 'd', type: 'transform', spec: { value: 'never' } },
    ]);
    const done = await waitFor(c.manager, (await execute(c.manager, id)).id);
    expect(done.status).toBe('FAILED');
    expect(done.steps.map((s) => [s.stepId, s.status])).toEqual([
      ['a', 'SUCCEEDED'],
      ['b', 'SUCCEEDED'],
      ['c', 'FAILED'],
    ]);
    expect(done.steps[1]?.output).toEqual({ first: 1 });
    expect(done.error).toMatchObject({ code: 'EXECUTION-004', class: 'VALIDATION', stepId: 'c' });
    expect(done.error?.message).toContain('steps.nope');
    expect(done.outputs).toEqual({ a: { items: [1, 2] }, b: { first: 1 } });
  });
});
