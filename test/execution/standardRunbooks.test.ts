import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  approve,
  CREATE,
  changeInput,
  createChange,
  gqlError,
  inDays,
  START,
  schedule,
  submit,
} from '../helpers/changes';
import { createTemplate, fromTemplate } from '../helpers/templates';
import { codes, createWorkflow, freshCast, gql, gqlOk, waitFor } from './helpers';

/**
 * A runbook starts only when a change manager attached it or a template carried it, whoever
 * gets the change approved; the execution records the person whose act started it.
 */

const EXECUTIONS_OF = `query($changeId: String) { executions(filter: { changeId: $changeId }) {
  nodes { id status trigger changeId inputs createdBy causedBy } } }`;

type Cast = Awaited<ReturnType<typeof freshCast>>;

async function executionsOf(c: Cast, changeId: string) {
  return (
    await gqlOk<{
      executions: {
        nodes: { id: string; trigger: string; inputs: Record<string, unknown>; causedBy: string | null }[];
      };
    }>(EXECUTIONS_OF, { changeId }, c.viewer)
  ).executions.nodes;
}

/** A runbook that starts on approval and echoes what it was given. */
const echoRunbook = (c: Cast) =>
  createWorkflow(
    c.manager,
    [{ id: 'echo', type: 'transform', spec: { pick: { host: 'inputs.host', change: 'inputs.change.id' } } }],
    { triggers: [{ type: 'change-approved' }, { type: 'manual' }] },
  );

async function cabApproves(c: Cast, id: string) {
  let change = await submit(c.requester, id);
  for (const voter of [c.approver1, c.approver2, c.approver3]) {
    if (change.status !== 'PENDING_APPROVAL') break;
    change = await approve(voter, id);
  }
  expect(change.status).toBe('APPROVED');
  return change;
}

/** Lets any hand-over of an execution reach the engine before asserting that none happened. */
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('change-approved runbooks', () => {
  it('a requester’s change approved by the CAB starts no workflow: the requester cannot attach one', async () => {
    const c = await freshCast();
    const wf = await echoRunbook(c);
    const refused = await gql(
      CREATE,
      { input: changeInput({ runbookWorkflowId: wf }) },
      { token: c.requester },
    );
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    const change = await createChange(c.requester);
    await cabApproves(c, change.id);
    await settle();
    expect(await executionsOf(c, change.id)).toEqual([]);
  });

  it('a runbook nobody vouched for (an older row) never starts, on approval or on implementation', async () => {
    const c = await freshCast();
    const wf = await echoRunbook(c);
    const change = await createChange(c.requester);
    // A row from before this rule: the requester's runbook, with nobody recorded as attaching it.
    await env.DB.prepare(
      'UPDATE change_requests SET runbook_workflow_id = ?1, version = version + 1 WHERE id = ?2',
    )
      .bind(wf, change.id)
      .run();
    const approved = await cabApproves(c, change.id);
    await settle();
    expect(await executionsOf(c, change.id)).toEqual([]);
    await schedule(c.manager, approved.id, inDays(2, 10), inDays(2, 12));
    const err = await gqlError(START, { id: approved.id }, c.manager);
    expect([err.code, err.status]).toEqual(['FORBIDDEN', 403]);
    expect(err.message).toContain('neither by a change manager nor by a standard change template');
    expect(await executionsOf(c, change.id)).toEqual([]);
  });

  it('a runbook a change manager attached starts on approval, caused by the approver whose vote decided', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(
      c.manager,
      [{ id: 'echo', type: 'transform', spec: { pick: { change: 'inputs.change.id' } } }],
      { triggers: [{ type: 'change-approved' }] },
    );
    const change = await createChange(c.requester);
    await gqlOk(
      'mutation($id: ID!, $w: ID!) { updateChangeRequest(id: $id, input: { runbookWorkflowId: $w }) { id } }',
      { id: change.id, w: wf },
      c.manager,
    );
    await cabApproves(c, change.id);
    const runs = await executionsOf(c, change.id);
    expect(runs).toEqual([expect.objectContaining({ trigger: 'CHANGE_APPROVED', causedBy: 'ada' })]);
    const done = await waitFor(c.manager, runs[0]?.id as string);
    expect(done).toMatchObject({ status: 'SUCCEEDED', outputs: { echo: { change: change.id } } });
  });
});

describe('a template’s runbook', () => {
  it('runs with the template’s inputs when its LOW change is pre-approved, caused by the requester', async () => {
    const c = await freshCast();
    const wf = await echoRunbook(c);
    const t = await createTemplate(c.manager, {
      runbookWorkflowId: wf,
      runbookInputs: { host: 'edge-01.example.com' },
    });
    const draft = await fromTemplate(c.requester, t.id, { service: 'checkout' });
    expect(draft).toMatchObject({
      runbookWorkflowId: wf,
      runbookAttachedBy: null,
      runbookInputs: { host: 'edge-01.example.com' },
    });
    const approved = await submit(c.requester, draft.id);
    expect(approved.status).toBe('APPROVED');
    const runs = await executionsOf(c, draft.id);
    expect(runs).toEqual([expect.objectContaining({ trigger: 'CHANGE_APPROVED', causedBy: 'rita' })]);
    expect(runs[0]?.inputs).toEqual({
      host: 'edge-01.example.com',
      change: { id: draft.id, title: 'Rotate TLS cert for checkout', type: 'STANDARD', riskLevel: 'LOW' },
    });
    const done = await waitFor(c.manager, runs[0]?.id as string);
    expect(done).toMatchObject({
      status: 'SUCCEEDED',
      outputs: { echo: { host: 'edge-01.example.com', change: draft.id } },
    });
  });

  it('runs on implementation with the same inputs, caused by the change manager who started it', async () => {
    const c = await freshCast();
    const wf = await createWorkflow(c.manager, [
      { id: 'echo', type: 'transform', spec: { pick: { host: 'inputs.host' } } },
    ]);
    const t = await createTemplate(c.manager, { runbookWorkflowId: wf, runbookInputs: { host: 'edge-02' } });
    const draft = await fromTemplate(c.requester, t.id);
    await submit(c.requester, draft.id);
    await schedule(c.manager, draft.id, inDays(4, 10), inDays(4, 12));
    await gqlOk(START, { id: draft.id }, c.manager);
    const runs = await executionsOf(c, draft.id);
    expect(runs).toEqual([expect.objectContaining({ trigger: 'RUNBOOK', causedBy: 'max' })]);
    expect(runs[0]?.inputs).toMatchObject({ host: 'edge-02' });
    const done = await waitFor(c.manager, runs[0]?.id as string);
    expect(done.outputs?.echo).toEqual({ host: 'edge-02' });
  });

  it('a higher computed risk sends the change to the CAB, and the runbook waits for its approval', async () => {
    const c = await freshCast();
    const wf = await echoRunbook(c);
    const t = await createTemplate(c.manager, {
      runbookWorkflowId: wf,
      runbookInputs: { host: 'edge-03' },
      impact: 'HIGH',
      urgency: 'HIGH',
    });
    const draft = await fromTemplate(c.requester, t.id);
    const pending = await submit(c.requester, draft.id);
    expect(pending.status).toBe('PENDING_APPROVAL');
    await settle();
    expect(await executionsOf(c, draft.id)).toEqual([]);
    await approve(c.approver1, draft.id);
    const decided = await approve(c.approver2, draft.id);
    expect(decided.status).toBe('APPROVED');
    const runs = await executionsOf(c, draft.id);
    expect(runs).toEqual([expect.objectContaining({ trigger: 'CHANGE_APPROVED', causedBy: 'ada' })]);
    expect(runs[0]?.inputs).toMatchObject({ host: 'edge-03' });
  });

  it('a manual run records who ran it', async () => {
    const c = await freshCast();
    const wf = await echoRunbook(c);
    const run = await gqlOk<{ executeWorkflow: { causedBy: string | null; createdBy: string } }>(
      'mutation($w: ID!) { executeWorkflow(workflowId: $w) { causedBy createdBy } }',
      { w: wf },
      c.manager,
    );
    expect(run.executeWorkflow).toEqual({ causedBy: 'max', createdBy: 'max' });
  });
});
