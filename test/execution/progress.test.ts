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
    const { socket } = await openSocket(c.tenant, { token: c.viewer });
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
    const mine = (await openSocket(a.tenant, { token: a.viewer })).socket!;
    await mine.init(a.viewer);
    mine.subscribe('p', PROGRESS, {});
    const theirs = (await openSocket(b.tenant, { token: b.viewer })).socket!;
    await theirs.init(b.viewer);
    theirs.subscribe('p', PROGRESS, {});
    await new Promise((r) => setTimeout(r, 100));
    const run = await execute(a.manager, wf);
    for (;;) {
      const m = (await mine.next((x) => x.id === 'p' && x.type === 'next', 15_000)) as Next;
      if (m.payload?.data?.executionProgress.status === 'SUCCEEDED') break;
    }
    // A's run ended and A saw it; B, subscribed to all of its own executions, got nothing.
    await expect(theirs.next((x) => x.type === 'next', 300)).rejects.toThrow(/no matching message/);
    expect(run.id).toMatch(/^exe_/);
    mine.close();
    theirs.close();
  });
});
