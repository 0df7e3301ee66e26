import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { beginExecution, checkDelay, checkGate } from '../../src/engine/engine';
import { cast, createChange } from '../helpers/changes';
import { type Harness, harness, T0 } from './harness';

const at = (ms: number) => new Date(T0 + ms).toISOString();

/** A harness whose one step is an approval gate on a fresh change of its tenant. */
async function gated() {
  const tenantId = `engine-gate-${crypto.randomUUID().slice(0, 8)}`;
  const c = await cast(tenantId);
  const change = await createChange(c.requester);
  const h = await harness({ tenantId, steps: [{ id: 'gate', type: 'approval-gate', changeId: change.id }] });
  await beginExecution(h.ports, h.ids);
  const step = h.steps[0];
  if (step?.type !== 'approval-gate') throw new Error('not a gate');
  const setStatus = (status: string, approvedAt: string | null = null) =>
    env.DB.prepare(
      'UPDATE change_requests SET status = ?3, approved_at = ?4, version = version + 1 WHERE tenant_id = ?1 AND id = ?2',
    )
      .bind(tenantId, change.id, status, approvedAt)
      .run();
  const check = (startedAt: string | null) => checkGate(h.ports, h.ids, h.workflowId, 0, step, startedAt);
  return { h, changeId: change.id, setStatus, check };
}

async function gateRun(h: Harness) {
  const [run] = await h.runs();
  return run;
}

describe('an approval gate', () => {
  it('waits while its change awaits approval, then passes with the approval once the change is approved', async () => {
    const { h, changeId, setStatus, check } = await gated();
    await setStatus('PENDING_APPROVAL');
    const first = await check(null);
    // It sleeps gatePollMs (or until a decision wakes it) and says so in its record.
    expect(first).toEqual({ kind: 'wait', ms: 60_000, startedAt: at(0) });
    const waiting = await gateRun(h);
    expect([waiting?.status, waiting?.waitingOnChange, waiting?.startedAt]).toEqual([
      'WAITING',
      changeId,
      at(0),
    ]);
    expect((await h.execution()).wakeAt).toBe(at(60_000));

    h.advance(60_000);
    expect(await check(at(0))).toEqual({ kind: 'wait', ms: 60_000, startedAt: at(0) });
    expect((await h.execution()).wakeAt).toBe(at(120_000));

    h.advance(1000);
    await setStatus('APPROVED', at(61_000));
    const passed = await check(at(0));
    const output = { changeId, status: 'APPROVED', approvedAt: at(61_000) };
    expect(passed).toEqual({ kind: 'ok', output });
    const run = await gateRun(h);
    expect([run?.status, run?.startedAt, run?.endedAt, run?.output]).toEqual([
      'SUCCEEDED',
      at(0),
      at(61_000),
      output,
    ]);
  });

  it('passes at once for a change already past approval (SCHEDULED)', async () => {
    const { changeId, setStatus, check } = await gated();
    await setStatus('SCHEDULED', at(-5000));
    expect(await check(null)).toEqual({
      kind: 'ok',
      output: { changeId, status: 'SCHEDULED', approvedAt: at(-5000) },
    });
  });

  it('fails with APPROVAL_REJECTED (EXECUTION-007) when its change is rejected', async () => {
    const { h, changeId, setStatus, check } = await gated();
    await setStatus('PENDING_APPROVAL');
    await check(null);
    await setStatus('REJECTED');
    expect(await check(at(0))).toEqual({
      kind: 'failed',
      error: {
        code: 'EXECUTION-007',
        class: 'APPROVAL_REJECTED',
        message: `change ${changeId} was REJECTED`,
        stepId: 'gate',
      },
    });
    expect((await gateRun(h))?.status).toBe('FAILED');
  });

  it('fails likewise when its change was cancelled before approval', async () => {
    const { changeId, setStatus, check } = await gated();
    await setStatus('CANCELLED');
    expect(await check(null)).toMatchObject({
      kind: 'failed',
      error: { code: 'EXECUTION-007', message: `change ${changeId} was CANCELLED before approval` },
    });
  });

  it('stops waiting when the execution is cancelled', async () => {
    const { h, setStatus, check } = await gated();
    await setStatus('PENDING_APPROVAL');
    await check(null);
    await h.requestCancel();
    expect(await check(at(0))).toEqual({ kind: 'cancelled' });
    expect((await gateRun(h))?.status).toBe('CANCELLED');
  });
});

describe('a delay step', () => {
  it('waits its duration on the injected clock, then passes', async () => {
    const h = await harness({ steps: [{ id: 'pause', type: 'delay', durationMs: 5000 }] });
    await beginExecution(h.ports, h.ids);
    const step = h.steps[0];
    if (step?.type !== 'delay') throw new Error('not a delay');
    const check = (startedAt: string | null) => checkDelay(h.ports, h.ids, h.workflowId, 0, step, startedAt);
    expect(await check(null)).toEqual({ kind: 'wait', ms: 5000, startedAt: at(0) });
    expect((await h.runs())[0]?.status).toBe('WAITING');
    expect((await h.execution()).wakeAt).toBe(at(5000));
    // Woken early (a stray nudge): it waits out the rest.
    h.advance(2000);
    expect(await check(at(0))).toEqual({ kind: 'wait', ms: 3000, startedAt: at(0) });
    h.advance(3000);
    expect(await check(at(0))).toEqual({ kind: 'ok', output: null });
    const [run] = await h.runs();
    expect([run?.status, run?.startedAt, run?.endedAt]).toEqual(['SUCCEEDED', at(0), at(5000)]);
  });
});
