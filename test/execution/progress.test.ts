import { describe, expect, it } from 'vitest';
import { openSocket } from '../helpers/live';
import { createWorkflow, execute, freshCast, upstream } from './helpers';

const PROGRESS = `subscription($w: ID) { executionProgress(workflowId: $w) {
  executionId workflowId status stepIndex stepId stepStatus attempts error { code } } }`;

type Event = {
  executionId: string;
  status: string;
  stepId: string | null;
  stepStatus: string | null;
  attempts: number | null;
};
type Next = { type: string; id?: string; payload?: { data?: { executionProgress: Event } } };

describe('executionProgress subscription (through the tenant hub)', () => {
  it('streams an execution from PENDING through each step to SUCCEEDED', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [
      { id: 'call', type: 'http-request', url: upstream('/ok') },
      { id: 'shape', type: 'transform', spec: { pick: { ok: 'steps.call.body.ok' } } },
    ]);
    const { socket } = await openSocket(c.tenant);
    await socket!.init(c.viewer);
    socket!.subscribe('p', PROGRESS, { w: wf });
    // Subscribed before the run starts: the hub registers the listener on the first message.
    await new Promise((r) => setTimeout(r, 100));
    const run = await execute(c.manager, wf);
    const seen: Event[] = [];
    for (;;) {
      const m = (await socket!.next((x) => x.id === 'p' && x.type === 'next', 15_000)) as Next;
      const e = m.payload?.data?.executionProgress as Event;
      expect(e.executionId).toBe(run.id);
      seen.push(e);
      if (e.status === 'SUCCEEDED') break;
    }
    expect(seen[0]?.status).toBe('PENDING');
    const steps = seen.filter((e) => e.stepStatus === 'SUCCEEDED').map((e) => e.stepId);
    expect(steps).toEqual(['call', 'shape']);
    expect(seen).toContainEqual(
      expect.objectContaining({ stepId: 'call', stepStatus: 'RUNNING', attempts: 1 }),
    );
    socket!.close();
  });

  it('shows another tenant none of it', async () => {
    const a = await freshCast();
    const b = await freshCast();
    const wf = await createWorkflow(a.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
    // B's token cannot open A's hub: the tenant in the URL must match the token.
    const { socket } = await openSocket(a.tenant);
    socket!.send({ type: 'connection_init', payload: { authorization: `Bearer ${b.viewer}` } });
    expect((await socket!.waitClosed())?.code).toBe(4403);
    await execute(a.manager, wf);
  });
});
