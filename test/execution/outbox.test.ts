import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { getExecution, insertExecutionStatement } from '../../src/db/executions';
import { claimOutboxRow, getOutboxRow, type OutboxRow, settleRowId } from '../../src/db/outbox';
import type { ExecutionRecord } from '../../src/domain/types';
import { finishExecution } from '../../src/engine/engine';
import { type AppPorts, createApp } from '../../src/http/app';
import worker, { workerPorts } from '../../src/runtime/worker/index';
import {
  type ExecutionEnv,
  enginePorts,
  followUpRunner,
  settleRunbook,
} from '../../src/runtime/worker/ports';
import { schema } from '../../src/schema';
import { drainCommitted } from '../../src/usecases/followUps';
import { runFollowUp } from '../../src/usecases/outbox';
import { APPROVE, type Change, changeInState, createChange, submit } from '../helpers/changes';
import { faultyD1 } from '../helpers/faultyD1';
import { createWorkflow, freshCast, waitFor } from './helpers';

/**
 * The transactional outbox (issue 15.1): a decision's follow-ups and a runbook's settle are rows
 * written with the write; each test kills the follow-up at one point and shows that the caller's
 * answer is the committed result and that the effect then happens exactly once.
 */

const app = createApp(schema);
type Cast = Awaited<ReturnType<typeof freshCast>>;

/** Fires the every-minute cron, as Cloudflare does. */
async function tick() {
  const ctx = createExecutionContext();
  const report = await worker.scheduled(
    createScheduledController({ scheduledTime: Date.now(), cron: '* * * * *' }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return report;
}

/**
 * The Worker's app over a database with injected faults. Follow-ups run right after the commit,
 * as in production, but a failed one is left to the cron (no alarm) unless `alarm` is set, so
 * that the test decides when the retry comes.
 */
function faultyApp(opts: { alarm?: boolean; executions?: AppPorts['executions'] } = {}) {
  const faulty = faultyD1(env.DB);
  const ctx = createExecutionContext();
  const base = workerPorts(env as never, ctx);
  const ports: AppPorts = {
    ...base,
    ...(opts.executions ? { executions: opts.executions } : {}),
    ...(opts.alarm ? {} : { followUps: { afterCommit: (c, ids) => drainCommitted(c, ids) } }),
  };
  const post = async (tok: string, query: string, variables: Record<string, unknown>, key?: string) => {
    const res = await app.fetch(
      new Request('http://cf.test/graphql', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${tok}`,
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify({ query, variables }),
      }),
      { ...env, DB: faulty.db },
      ports,
    );
    const text = await res.text();
    return {
      text,
      replayed: res.headers.get('idempotent-replayed'),
      body: JSON.parse(text) as { data?: { approveChange?: { change: Change } }; errors?: unknown[] },
    };
  };
  return { faulty, post };
}

/** A change with a change-approved runbook (attached by a change manager), waiting for the CAB. */
async function pendingWithRunbook(c: Cast) {
  const wf = await createWorkflow(c.manager, [{ id: 'prep', type: 'transform', spec: { value: 'ran' } }], {
    triggers: [{ type: 'change-approved' }],
  });
  const created = await createChange(c.manager, { runbookWorkflowId: wf });
  return submit(c.manager, created.id);
}

/**
 * Votes through `post` until the change is decided; every answer must be a success. Returns the
 * deciding vote's answer and what it took to send it (to replay it).
 */
async function approveThrough(c: Cast, post: ReturnType<typeof faultyApp>['post'], change: Change) {
  let status = change.status;
  let last: { answer: Awaited<ReturnType<typeof post>>; voter: string; key: string } | null = null;
  for (const voter of [c.approver1, c.approver2, c.manager]) {
    if (status !== 'PENDING_APPROVAL') break;
    const key = crypto.randomUUID();
    const answer = await post(voter, APPROVE, { id: change.id, comment: 'Go' }, key);
    expect(answer.body.errors).toBeUndefined();
    status = answer.body.data?.approveChange?.change.status ?? status;
    last = { answer, voter, key };
  }
  expect(status).toBe('APPROVED');
  return last as NonNullable<typeof last>;
}

const rowsOf = async (tenantId: string, changeId: string) =>
  (
    await env.DB.prepare(
      `SELECT id FROM outbox WHERE tenant_id = ?1 AND json_extract(payload, '$.changeId') = ?2 ORDER BY kind`,
    )
      .bind(tenantId, changeId)
      .all<{ id: string }>()
  ).results.map((r) => r.id);

async function outboxOf(tenantId: string, changeId: string): Promise<OutboxRow[]> {
  const rows = await Promise.all((await rowsOf(tenantId, changeId)).map((id) => getOutboxRow(env.DB, id)));
  return rows.filter((r): r is OutboxRow => r !== null);
}

const approvedRunOf = (rows: OutboxRow[]) => rows.find((r) => r.followUp.kind === 'change-approved');

/** Time passes: the rows' retries are due now. */
const makeDue = (ids: string[]) =>
  env.DB.batch(
    ids.map((id) =>
      env.DB.prepare(`UPDATE outbox SET next_attempt_at = '2000-01-01T00:00:00.000Z' WHERE id = ?1`).bind(id),
    ),
  );

/** The change's change-approved executions, and the audit events that recorded their start. */
async function runbookStarts(tenantId: string, changeId: string) {
  const executions = (
    await env.DB.prepare(
      `SELECT id, status FROM workflow_executions WHERE tenant_id = ?1 AND change_id = ?2 AND trigger = 'CHANGE_APPROVED'`,
    )
      .bind(tenantId, changeId)
      .all<{ id: string; status: string }>()
  ).results;
  const audited = await env.DB.prepare(
    `SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1 AND action = 'execution.created'
       AND json_extract(after_json, '$.changeId') = ?2`,
  )
    .bind(tenantId, changeId)
    .first<{ n: number }>();
  return { executions, audited: audited?.n ?? 0 };
}

async function expectExactlyOneRun(c: Cast, changeId: string) {
  const { executions, audited } = await runbookStarts(c.tenant, changeId);
  expect(executions).toHaveLength(1);
  expect(audited).toBe(1);
  const done = await waitFor(c.manager, executions[0]!.id);
  expect(done.status).toBe('SUCCEEDED');
  return executions[0]!.id;
}

describe('follow-ups of an approval', () => {
  it('a failure before the effect: the vote answers APPROVED, the runbook starts once on the next drain', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const { faulty, post } = faultyApp();
    faulty.fail(/INSERT INTO workflow_executions/);
    const { answer } = await approveThrough(c, post, change);
    expect(answer.body.data?.approveChange?.change.status).toBe('APPROVED');
    expect(faulty.failed).toHaveLength(1);

    const rows = await outboxOf(c.tenant, change.id);
    expect(rows.map((r) => r.followUp.kind).sort()).toEqual(['change-approved', 'wake-gates']);
    const run = approvedRunOf(rows)!;
    expect(run).toMatchObject({ doneAt: null, attempts: 1, leaseId: null });
    expect(run.lastError).toContain('injected failure');
    expect(Date.parse(run.nextAttemptAt)).toBeGreaterThan(Date.now());
    expect((await runbookStarts(c.tenant, change.id)).executions).toEqual([]);

    // Not due yet: the cron leaves it; once due, it runs.
    await tick();
    expect((await runbookStarts(c.tenant, change.id)).executions).toEqual([]);
    await makeDue([run.id]);
    await tick();
    await expectExactlyOneRun(c, change.id);
    expect(await getOutboxRow(env.DB, run.id)).toMatchObject({ attempts: 2, lastError: null });
    expect((await getOutboxRow(env.DB, run.id))?.doneAt).not.toBeNull();
    // Done rows are not run again.
    await makeDue([run.id]);
    await tick();
    await expectExactlyOneRun(c, change.id);
  });

  it('a failure after the effect’s write, before the row is marked done: a second run starts nothing', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const { faulty, post } = faultyApp();
    // Both follow-ups (wake the gates, start the runbook) did their work but were not marked done.
    faulty.fail(/UPDATE outbox SET done_at/, 2);
    const { answer } = await approveThrough(c, post, change);
    expect(answer.body.data?.approveChange?.change.status).toBe('APPROVED');
    expect(faulty.failed).toHaveLength(2);
    const rows = await outboxOf(c.tenant, change.id);
    expect(rows.every((r) => r.doneAt === null && r.attempts === 1)).toBe(true);
    const first = await expectExactlyOneRun(c, change.id);

    await makeDue(rows.map((r) => r.id));
    await tick();
    expect(await expectExactlyOneRun(c, change.id)).toBe(first);
    for (const r of await outboxOf(c.tenant, change.id)) {
      expect(r.doneAt).not.toBeNull();
      expect(r.attempts).toBe(2);
    }
    // The execution records the follow-up that started it: the key a second run found.
    const row = await env.DB.prepare('SELECT outbox_id FROM workflow_executions WHERE id = ?1')
      .bind(first)
      .first<{ outbox_id: string }>();
    expect(row?.outbox_id).toBe(approvedRunOf(rows)?.id);
  });

  it('a failure during the drain (the claim) leaves the rows as written; the cron runs them', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const { faulty, post } = faultyApp();
    faulty.fail(/UPDATE outbox SET lease_id/, 2);
    await approveThrough(c, post, change);
    const rows = await outboxOf(c.tenant, change.id);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.doneAt === null && r.attempts === 0)).toBe(true);
    await tick();
    await expectExactlyOneRun(c, change.id);
    expect((await outboxOf(c.tenant, change.id)).every((r) => r.doneAt !== null)).toBe(true);
  });

  it('a failed hand-over to the engine: the recorded execution is handed over on the retry, once', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const real = workerPorts(env as never, createExecutionContext()).executions!;
    let refusals = 1;
    const { post } = faultyApp({
      executions: {
        ...real,
        start: async (ids) => {
          if (refusals-- > 0) throw new Error('engine unreachable');
          return real.start(ids);
        },
      },
    });
    await approveThrough(c, post, change);
    const { executions } = await runbookStarts(c.tenant, change.id);
    expect(executions).toEqual([expect.objectContaining({ status: 'PENDING' })]);
    const run = approvedRunOf(await outboxOf(c.tenant, change.id))!;
    expect(run.lastError).toContain('engine unreachable');
    await makeDue([run.id]);
    await tick();
    expect(await expectExactlyOneRun(c, change.id)).toBe(executions[0]!.id);
  });

  it('an Idempotency-Key replay of the deciding vote returns its success, not the follow-up’s failure', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const { faulty, post } = faultyApp();
    faulty.fail(/INSERT INTO workflow_executions/);
    const decisive = await approveThrough(c, post, change);
    expect(decisive.answer.body.data?.approveChange?.change.status).toBe('APPROVED');
    const replay = await post(decisive.voter, APPROVE, { id: change.id, comment: 'Go' }, decisive.key);
    expect(replay.replayed).toBe('true');
    expect(replay.text).toBe(decisive.answer.text);
    // The replay is not a second vote, and it does not start the runbook either: the outbox does.
    expect((await runbookStarts(c.tenant, change.id)).executions).toEqual([]);
    await makeDue(await rowsOf(c.tenant, change.id));
    await tick();
    await expectExactlyOneRun(c, change.id);
  });

  it('a drainer that dies holding its claim: nobody runs the row until the lease ends, then one does', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const { faulty, post } = faultyApp();
    faulty.fail(/UPDATE outbox SET lease_id/, 2);
    await approveThrough(c, post, change);
    const run = approvedRunOf(await outboxOf(c.tenant, change.id))!;
    const now = new Date();
    const dead = await claimOutboxRow(
      env.DB,
      run.id,
      'dead-drainer',
      now.toISOString(),
      new Date(now.getTime() + 60_000).toISOString(),
    );
    expect(dead?.attempts).toBe(1);
    await tick();
    expect((await runbookStarts(c.tenant, change.id)).executions).toEqual([]);
    expect((await getOutboxRow(env.DB, run.id))?.leaseId).toBe('dead-drainer');
    // The lease runs out.
    await env.DB.prepare(`UPDATE outbox SET lease_until = '2000-01-01T00:00:00.000Z' WHERE id = ?1`)
      .bind(run.id)
      .run();
    await tick();
    await expectExactlyOneRun(c, change.id);
    expect(await getOutboxRow(env.DB, run.id)).toMatchObject({ attempts: 2, leaseId: null });
  });

  it('two drainers at once: one runs the row, the other finds it claimed', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const { faulty, post } = faultyApp();
    faulty.fail(/UPDATE outbox SET lease_id/, 2);
    await approveThrough(c, post, change);
    const run = approvedRunOf(await outboxOf(c.tenant, change.id))!;
    const outcomes = await Promise.all([
      runFollowUp(followUpRunner(env as unknown as ExecutionEnv), run.id),
      runFollowUp(followUpRunner(env as unknown as ExecutionEnv), run.id),
    ]);
    expect(outcomes.sort()).toEqual(['done', 'skipped']);
    await expectExactlyOneRun(c, change.id);
  });

  it('the tenant’s alarm retries a failed follow-up without waiting for the cron', async () => {
    const c = await freshCast();
    const change = await pendingWithRunbook(c);
    const { faulty, post } = faultyApp({ alarm: true });
    faulty.fail(/INSERT INTO workflow_executions/);
    await approveThrough(c, post, change);
    expect(faulty.failed).toHaveLength(1);
    // No tick: the TenantLock's alarm fires at the retry time (at most a few seconds away).
    let runs: { id: string }[] = [];
    for (let i = 0; i < 200 && runs.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      runs = (await runbookStarts(c.tenant, change.id)).executions;
    }
    await expectExactlyOneRun(c, change.id);
    const run = approvedRunOf(await outboxOf(c.tenant, change.id))!;
    expect(run.doneAt).not.toBeNull();
    expect(run.attempts).toBe(2);
  });
});

/** An execution row of a runbook, as the engine leaves it (RUNNING), for a change IMPLEMENTING. */
async function runningRunbook(c: Cast): Promise<{ change: Change; execution: ExecutionRecord }> {
  const change = await changeInState(c, 'IMPLEMENTING');
  const wf = await createWorkflow(c.manager, [{ id: 'x', type: 'transform', spec: { value: 1 } }]);
  const at = new Date().toISOString();
  const execution: ExecutionRecord = {
    id: `exe_outbox_${crypto.randomUUID()}`,
    tenantId: c.tenant,
    workflowId: wf,
    workflowVersion: 1,
    status: 'RUNNING',
    trigger: 'RUNBOOK',
    triggerRef: change.id,
    changeId: change.id,
    inputs: {},
    outputs: null,
    error: null,
    currentStep: 0,
    wakeAt: null,
    cancelRequestedAt: null,
    cancelRequestedBy: null,
    causedBy: null,
    createdBy: 'max',
    createdAt: at,
    startedAt: at,
    endedAt: null,
    updatedAt: at,
  };
  await insertExecutionStatement(env.DB, execution).run();
  return { change, execution };
}

const changeStatus = async (tenantId: string, id: string) =>
  (
    await env.DB.prepare(
      'SELECT status, failure_reason FROM change_requests WHERE tenant_id = ?1 AND id = ?2',
    )
      .bind(tenantId, id)
      .first<{ status: string; failure_reason: string | null }>()
  )?.status;

const settledAudits = async (tenantId: string, id: string) =>
  (
    await env.DB.prepare(
      `SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1 AND target_id = ?2
         AND action IN ('change.completed', 'change.failed')`,
    )
      .bind(tenantId, id)
      .first<{ n: number }>()
  )?.n;

describe('settling a runbook’s change', () => {
  it('the end of a runbook execution queues its settle in the same batch', async () => {
    const c = await freshCast();
    const { change, execution } = await runningRunbook(c);
    const ended = await finishExecution(
      enginePorts(env as unknown as ExecutionEnv, c.tenant),
      { tenantId: c.tenant, executionId: execution.id },
      { kind: 'ok', output: null },
      {},
    );
    expect(ended?.status).toBe('SUCCEEDED');
    // The process "dies" here, before settling: the row is there, and the cron settles it.
    expect(await getOutboxRow(env.DB, settleRowId(execution.id))).toMatchObject({
      doneAt: null,
      attempts: 0,
      actor: null,
    });
    expect(await changeStatus(c.tenant, change.id)).toBe('IMPLEMENTING');
    await tick();
    expect(await changeStatus(c.tenant, change.id)).toBe('COMPLETED');
    expect(await settledAudits(c.tenant, change.id)).toBe(1);
  });

  it('a settle that fails is retried by the alarm; one whose mark was lost changes nothing the second time', async () => {
    const c = await freshCast();
    const { change, execution } = await runningRunbook(c);
    const faulty = faultyD1(env.DB);
    const faultyEnv = { ...env, DB: faulty.db } as unknown as ExecutionEnv;
    await finishExecution(
      enginePorts(faultyEnv, c.tenant),
      { tenantId: c.tenant, executionId: execution.id },
      { kind: 'failed', error: { code: 'EXECUTION-003', class: 'HTTP', message: 'upstream said 500' } },
      {},
    );
    faulty.fail(/UPDATE change_requests/);
    expect(await settleRunbook(faultyEnv, execution.id)).toBe('failed');
    expect(await changeStatus(c.tenant, change.id)).toBe('IMPLEMENTING');
    // No tick: the tenant's alarm settles it at the retry time.
    let status = await changeStatus(c.tenant, change.id);
    for (let i = 0; i < 200 && status === 'IMPLEMENTING'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = await changeStatus(c.tenant, change.id);
    }
    expect(status).toBe('FAILED');
    expect(await settledAudits(c.tenant, change.id)).toBe(1);

    // The mark lost after a settle: the next run finds the change moved, and leaves it.
    const other = await runningRunbook(c);
    await finishExecution(
      enginePorts(faultyEnv, c.tenant),
      { tenantId: c.tenant, executionId: other.execution.id },
      { kind: 'ok', output: null },
      {},
    );
    faulty.fail(/UPDATE outbox SET done_at/);
    expect(await settleRunbook(faultyEnv, other.execution.id)).toBe('failed');
    expect(await changeStatus(c.tenant, other.change.id)).toBe('COMPLETED');
    await makeDue([settleRowId(other.execution.id)]);
    await tick();
    expect((await getOutboxRow(env.DB, settleRowId(other.execution.id)))?.doneAt).not.toBeNull();
    expect(await settledAudits(c.tenant, other.change.id)).toBe(1);
  });

  it('the watchdog settles a change left IMPLEMENTING by a runbook that ended without a settle', async () => {
    const c = await freshCast();
    const { change, execution } = await runningRunbook(c);
    // Ended long ago with no outbox row, as before the outbox (or with the row pruned).
    const old = new Date(Date.now() - 10 * 60_000).toISOString();
    await env.DB.prepare(
      `UPDATE workflow_executions SET status = 'FAILED', error_code = 'EXECUTION-009', error_class = 'ENGINE',
         error_message = 'lost', ended_at = ?2, updated_at = ?2 WHERE id = ?1`,
    )
      .bind(execution.id, old)
      .run();
    await tick();
    expect(await changeStatus(c.tenant, change.id)).toBe('FAILED');
    const reason = await env.DB.prepare('SELECT failure_reason FROM change_requests WHERE id = ?1')
      .bind(change.id)
      .first<{ failure_reason: string }>();
    expect(reason?.failure_reason).toContain(`Runbook execution ${execution.id} ended FAILED: EXECUTION-009`);
    expect(await settledAudits(c.tenant, change.id)).toBe(1);
    await tick();
    expect(await settledAudits(c.tenant, change.id)).toBe(1);
    expect((await getExecution(env.DB, c.tenant, execution.id))?.status).toBe('FAILED');
  });
});
