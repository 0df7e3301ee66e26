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
