import { describe, expect, it } from 'vitest';
import {
  approve,
  changeInState,
  createChange,
  inDays,
  OVERRIDE,
  REJECT,
  START,
  schedule,
  submit,
} from '../helpers/changes';
import { CANCEL, codes, createWorkflow, execute, freshCast, gql, gqlOk, upstream, waitFor } from './helpers';

const key = () => crypto.randomUUID();

describe('cancel', () => {
  it('aborts an HTTP call in flight and ends the execution CANCELLED', async () => {
    const c = await freshCast();
    const k = key();
    const id = await createWorkflow(c.manager, [
      { id: 'slow', type: 'http-request', url: upstream(`/keyed/${k}/hang`), timeoutMs: 60_000 },
      { id: 'after', type: 'transform', spec: { value: 1 } },
    ]);
    const started = await execute(c.manager, id);
    await waitFor(c.manager, started.id, (e) => e.steps[0]?.status === 'RUNNING');
    const asked = await gqlOk<{ cancelExecution: { cancelRequestedAt: string | null } }>(
      CANCEL,
      { id: started.id },
      c.manager,
    );
    expect(asked.cancelExecution.cancelRequestedAt).not.toBeNull();
    const done = await waitFor(c.manager, started.id, undefined, 10_000);
    expect(done.status).toBe('CANCELLED');
    expect(done.error).toMatchObject({ code: 'EXECUTION-005', class: 'CANCELLED' });
    expect(done.steps.map((s) => [s.stepId, s.status])).toEqual([['slow', 'CANCELLED']]);
    const log = (await (await fetch(upstream(`/log/${k}`))).json()) as { calls: { aborted: boolean }[] };
    expect(log.calls).toEqual([expect.objectContaining({ aborted: true })]);
  });

  it('ends a long delay at once', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }]);
    const started = await execute(c.manager, id);
    await waitFor(c.manager, started.id, (e) => e.steps[0]?.status === 'WAITING');
    await gqlOk(CANCEL, { id: started.id }, c.manager);
    const done = await waitFor(c.manager, started.id, undefined, 10_000);
    expect(done.status).toBe('CANCELLED');
    expect(done.steps[0]?.status).toBe('CANCELLED');
  });

  it('refuses to cancel an ended execution (EXECUTION-011) or an unknown one (EXECUTION-010)', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'one', type: 'transform', spec: { value: 1 } }]);
    const done = await waitFor(c.manager, (await execute(c.manager, id)).id);
    expect(done.status).toBe('SUCCEEDED');
    expect(codes(await gql(CANCEL, { id: done.id }, { token: c.manager }))).toEqual(['EXECUTION-011']);
    expect(codes(await gql(CANCEL, { id: 'exe_nope' }, { token: c.manager }))).toEqual(['EXECUTION-010']);
  });

  it('a viewer may not cancel', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }]);
    const started = await execute(c.manager, id);
    expect(codes(await gql(CANCEL, { id: started.id }, { token: c.viewer }))).toEqual(['FORBIDDEN']);
    await gqlOk(CANCEL, { id: started.id }, c.manager);
  });
});

describe('approval gate', () => {
  it('waits for the change and passes once the CAB approves it', async () => {
    const c = await freshCast();
    const change = await changeInState(c, 'PENDING_APPROVAL');
    const id = await createWorkflow(c.manager, [
      { id: 'cab', type: 'approval-gate', changeId: change.id },
      { id: 'go', type: 'transform', spec: { pick: { status: 'steps.cab.status' } } },
    ]);
    const started = await execute(c.manager, id);
    const waiting = await waitFor(c.manager, started.id, (e) => e.steps[0]?.status === 'WAITING');
    expect(waiting.steps[0]?.waitingOnChange).toBe(change.id);
    let current = change;
    for (const voter of [c.approver1, c.approver2, c.manager]) {
      if (current.status !== 'PENDING_APPROVAL') break;
      current = await approve(voter, change.id);
    }
    expect(current.status).toBe('APPROVED');
    // Woken by the decision: well before the gate's own 60 s re-check in tests.
    const done = await waitFor(c.manager, started.id, undefined, 10_000);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.outputs?.go).toEqual({ status: 'APPROVED' });
  });

  it('passes once an admin approves the change by emergency override', async () => {
    const c = await freshCast();
    const change = await createChange(c.requester, { type: 'EMERGENCY', impact: 'HIGH', urgency: 'HIGH' });
    const id = await createWorkflow(c.manager, [{ id: 'cab', type: 'approval-gate', changeId: change.id }]);
    const started = await execute(c.manager, id);
    await waitFor(c.manager, started.id, (e) => e.steps[0]?.status === 'WAITING');
    const approved = await gqlOk<{ emergencyOverride: { status: string } }>(
      OVERRIDE,
      { id: change.id, justification: 'Payments are down for every customer; this restores them.' },
      c.admin,
    );
    expect(approved.emergencyOverride.status).toBe('APPROVED');
    // Woken by the override, as by a CAB decision: the gate's own re-check is 60 s away in tests.
    const done = await waitFor(c.manager, started.id, undefined, 10_000);
    expect(done.status).toBe('SUCCEEDED');
  });

  it('fails with EXECUTION-007 when the change is rejected', async () => {
    const c = await freshCast();
    const change = await changeInState(c, 'PENDING_APPROVAL');
    const id = await createWorkflow(c.manager, [{ id: 'cab', type: 'approval-gate', changeId: change.id }]);
    const started = await execute(c.manager, id);
    await waitFor(c.manager, started.id, (e) => e.steps[0]?.status === 'WAITING');
    await gqlOk(REJECT, { id: change.id, reason: 'Not this week' }, c.approver1);
    const done = await waitFor(c.manager, started.id, undefined, 10_000);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatchObject({ code: 'EXECUTION-007', class: 'APPROVAL_REJECTED', stepId: 'cab' });
  });
});

const CHANGE_WITH_RUNBOOK = `query($id: ID!) { change(id: $id) { id status failureReason runbookWorkflowId } }`;
const EXECUTIONS_OF = `query($changeId: String) { executions(filter: { changeId: $changeId }) { nodes { id status trigger changeId } } }`;
const AUDIT = `query($id: ID!) { auditLog(targetId: $id) { nodes { action actorId source } } }`;

async function scheduledWithRunbook(c: Awaited<ReturnType<typeof freshCast>>, workflowId: string) {
  // A runbook is a change manager's to attach (the requester may not).
  const created = await createChange(c.manager, { runbookWorkflowId: workflowId });
  let change = await submit(c.manager, created.id);
  for (const voter of [c.approver1, c.approver2, c.manager]) {
    if (change.status !== 'PENDING_APPROVAL') break;
    change = await approve(voter, change.id);
  }
  await schedule(c.manager, change.id, inDays(1, 10), inDays(1, 12));
  return change.id;
}

describe('runbook-driven changes', () => {
  it('implementing a change runs its runbook; success completes the change, audited as the engine', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [
      {
        id: 'deploy',
        type: 'http-request',
        url: upstream('/ok'),
        method: 'POST',
        body: '{"change": "{{ inputs.change.id }}"}',
      },
    ]);
    const changeId = await scheduledWithRunbook(c, wf);
    const started = await gqlOk<{ startImplementation: { status: string } }>(
      START,
      { id: changeId },
      c.manager,
    );
    expect(started.startImplementation.status).toBe('IMPLEMENTING');
    const runs = await gqlOk<{ executions: { nodes: { id: string; trigger: string }[] } }>(
      EXECUTIONS_OF,
      { changeId },
      c.viewer,
    );
    expect(runs.executions.nodes).toEqual([expect.objectContaining({ trigger: 'RUNBOOK' })]);
    const done = await waitFor(c.manager, runs.executions.nodes[0]!.id);
    expect(done.status).toBe('SUCCEEDED');
    let change = { status: '' };
    for (let i = 0; i < 100 && change.status !== 'COMPLETED'; i++) {
      change = (await gqlOk<{ change: { status: string } }>(CHANGE_WITH_RUNBOOK, { id: changeId }, c.viewer))
        .change;
      if (change.status !== 'COMPLETED') await new Promise((r) => setTimeout(r, 50));
    }
    expect(change.status).toBe('COMPLETED');
    const audit = await gqlOk<{ auditLog: { nodes: { action: string; actorId: string; source: string }[] } }>(
      AUDIT,
      { id: changeId },
      c.admin,
    );
    expect(audit.auditLog.nodes).toContainEqual({
      action: 'change.completed',
      actorId: 'workflow-engine',
      source: 'system',
    });
  });

  it('a failing runbook fails the change with the execution’s error', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [
      { id: 'deploy', type: 'http-request', url: upstream('/status/404') },
    ]);
    const changeId = await scheduledWithRunbook(c, wf);
    await gqlOk(START, { id: changeId }, c.manager);
    let change = { status: '', failureReason: null as string | null };
    for (let i = 0; i < 200 && change.status !== 'FAILED'; i++) {
      change = (await gqlOk<{ change: typeof change }>(CHANGE_WITH_RUNBOOK, { id: changeId }, c.viewer))
        .change;
      if (change.status !== 'FAILED') await new Promise((r) => setTimeout(r, 50));
    }
    expect(change.status).toBe('FAILED');
    expect(change.failureReason).toMatch(/EXECUTION-003 .*404.*\(step deploy\)/);
  });

  it('a change cannot name a workflow that does not exist as its runbook', async () => {
    const c = await freshCast();
    const r = await gql(
      `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }`,
      {
        input: {
          title: 'Rotate certificates',
          description: 'Rotate the edge certificates before expiry.',
          type: 'NORMAL',
          impact: 'LOW',
          urgency: 'LOW',
          affectedServices: ['edge'],
          backoutPlan: 'Restore the previous certificate bundle.',
          runbookWorkflowId: 'wf_missing',
        },
      },
      { token: c.manager },
    );
    expect(codes(r)).toEqual(['VALIDATION_FAILED']);
    expect(r.errors?.[0]?.message).toContain('runbookWorkflowId');
  });

  it('a workflow with a change-approved trigger starts when its change is approved', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(
      c.manager,
      [{ id: 'prep', type: 'transform', spec: { pick: { id: 'inputs.change.id' } } }],
      {
        triggers: [{ type: 'change-approved' }],
      },
    );
    const created = await createChange(c.manager, { runbookWorkflowId: wf });
    let change = await submit(c.manager, created.id);
    for (const voter of [c.approver1, c.approver2, c.manager]) {
      if (change.status !== 'PENDING_APPROVAL') break;
      change = await approve(voter, change.id);
    }
    const runs = await gqlOk<{ executions: { nodes: { id: string; trigger: string }[] } }>(
      EXECUTIONS_OF,
      { changeId: change.id },
      c.viewer,
    );
    expect(runs.executions.nodes).toEqual([expect.objectContaining({ trigger: 'CHANGE_APPROVED' })]);
    const done = await waitFor(c.manager, runs.executions.nodes[0]!.id);
    expect(done.outputs?.prep).toEqual({ id: change.id });
  });

  it('an emergency override starts the change-approved runbook too', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(
      c.manager,
      [{ id: 'prep', type: 'transform', spec: { pick: { id: 'inputs.change.id' } } }],
      { triggers: [{ type: 'change-approved' }] },
    );
    const change = await createChange(c.manager, {
      type: 'EMERGENCY',
      impact: 'HIGH',
      urgency: 'HIGH',
      runbookWorkflowId: wf,
    });
    await gqlOk(
      OVERRIDE,
      { id: change.id, justification: 'The certificate expires in an hour; renew it now.' },
      c.admin,
    );
    const runs = await gqlOk<{ executions: { nodes: { id: string; trigger: string }[] } }>(
      EXECUTIONS_OF,
      { changeId: change.id },
      c.viewer,
    );
    expect(runs.executions.nodes).toEqual([expect.objectContaining({ trigger: 'CHANGE_APPROVED' })]);
    const done = await waitFor(c.manager, runs.executions.nodes[0]!.id);
    expect(done.outputs?.prep).toEqual({ id: change.id });
  });
});
