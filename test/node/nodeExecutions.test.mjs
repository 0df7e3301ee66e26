// Workflow executions on the Node runtime (src/runtime/node/executions.ts): the same engine as the
// Worker's (src/engine/run.ts) with a journal in the SQLite file in place of Cloudflare Workflows.
// Against a loopback upstream that counts what it receives: a run end to end, a cancel that ends
// a long delay at once, an approval gate woken by the decision, a restart in the middle of a run
// that sends nothing twice, cron and change-approved triggers, the breakers, and the egress
// refusals that hold here as in the Worker.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { openNodeApp } from '../../src/runtime/node/runtime.ts';
import { signedDeliveryHeaders } from '../helpers/signedDelivery.ts';
import { graphqlOk, inProcess } from './graphqlOk.mjs';

const SECRET = 'node-executions-test-secret-0123456789abcdef';
const TENANT = 'acme';
const SECRETS_KEY = randomBytes(32).toString('base64');
const EXECUTION = `id status trigger error { code message stepId } outputs
  steps { stepId status attempts output waitingOnChange }`;
const CREATE_WORKFLOW = `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { id } }`;
const EXECUTE = `mutation($workflowId: ID!, $inputs: JSON) { executeWorkflow(workflowId: $workflowId, inputs: $inputs) { ${EXECUTION} } }`;
const GET = `query($id: ID!) { execution(id: $id) { ${EXECUTION} } }`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('workflow executions on the Node runtime', () => {
  let dir;
  let dbPath;
  let app;
  let upstream;
  let upstreamUrl;
  /** Requests the upstream received, by path. */
  const hits = new Map();
  const tokens = {};
  let as;

  const open = () =>
    openNodeApp({
      dbPath,
      env: {
        JWT_SECRET: SECRET,
        ENVIRONMENT: 'development',
        // The upstream listens on loopback: allowed by name, as an operator would allow a host.
        EGRESS_ALLOW_PRIVATE_HOSTS: '127.0.0.1',
        EXECUTION_CANCEL_POLL_MS: '50',
        SECRETS_KEY: SECRETS_KEY,
      },
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-node-exec-'));
    dbPath = join(dir, 'changeflow.sqlite');
    upstream = createServer((req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      hits.set(path, (hits.get(path) ?? 0) + 1);
      if (path === '/fail') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"down"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ path, items: [{ name: 'blue' }, { name: 'green' }] }));
    });
    await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${upstream.address().port}`;
    const sign = (sub, roles) => signDevToken({ secret: SECRET, sub, tenant: TENANT, roles, name: sub });
    tokens.manager = await sign('max', ['change_manager']);
    tokens.requester = await sign('rita', ['requester']);
    tokens.approver = await sign('abe', ['approver']);
    tokens.approver2 = await sign('ada', ['approver']);
    tokens.admin = await sign('root', ['admin']);
    app = open();
    as = (who) => graphqlOk('http://localhost', tokens[who], inProcess(app));
  });

  after(async () => {
    await app?.close();
    await new Promise((r) => upstream?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function workflow(steps, triggers) {
    const input = {
      name: `wf ${Math.random().toString(36).slice(2, 8)}`,
      steps,
      ...(triggers ? { triggers } : {}),
    };
    return (await as('manager')(CREATE_WORKFLOW, { input })).createWorkflow.id;
  }

  async function waitFor(
    id,
    done = (e) => ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(e.status),
    ms = 15_000,
  ) {
    const deadline = Date.now() + ms;
    let last;
    while (Date.now() < deadline) {
      last = (await as('manager')(GET, { id })).execution;
      if (done(last)) return last;
      await sleep(25);
    }
    throw new Error(`execution ${id} did not get there: ${JSON.stringify(last)}`);
  }

  test('runs a workflow end to end: an HTTP call, a transform of its answer, outputs recorded', async () => {
    const id = await workflow([
      { id: 'fetch', type: 'http-request', url: `${upstreamUrl}/colours?env={{ inputs.env }}` },
      { id: 'pick', type: 'transform', spec: { pick: { first: 'steps.fetch.body.items[0].name' } } },
    ]);
    const started = (await as('manager')(EXECUTE, { workflowId: id, inputs: { env: 'prod' } }))
      .executeWorkflow;
    assert.equal(started.status, 'PENDING');
    const ended = await waitFor(started.id);
    assert.equal(ended.status, 'SUCCEEDED', JSON.stringify(ended.error));
    assert.deepEqual(
      ended.steps.map((s) => [s.stepId, s.status, s.attempts]),
      [
        ['fetch', 'SUCCEEDED', 1],
        ['pick', 'SUCCEEDED', 1],
      ],
    );
    assert.deepEqual(ended.outputs.pick, { first: 'blue' });
    assert.equal(hits.get('/colours'), 1);
    const audit = await as('manager')(
      `query($id: ID!) { auditLog(targetId: $id) { nodes { action actorId } } }`,
      {
        id: started.id,
      },
    );
    // Newest first: the run's own events, the engine's as the engine.
    assert.deepEqual(audit.auditLog.nodes.map((n) => [n.action, n.actorId]).reverse(), [
      ['execution.created', 'max'],
      ['execution.started', 'workflow-engine'],
      ['execution.step_ended', 'workflow-engine'],
      ['execution.step_ended', 'workflow-engine'],
      ['execution.ended', 'workflow-engine'],
    ]);
  });

  test('executionProgress streams a run to its subscribers (SSE), and none of it to another tenant', async () => {
    const id = await workflow([{ id: 'call', type: 'http-request', url: `${upstreamUrl}/progress` }]);
    const subscribe = async (token) => {
      const res = await app.fetch(
        new Request('http://localhost/graphql', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'text/event-stream',
          },
          body: JSON.stringify({
            query: 'subscription { executionProgress { executionId status stepId stepStatus } }',
          }),
        }),
      );
      assert.equal(res.status, 200);
      return res.body.getReader();
    };
    const mine = await subscribe(tokens.manager);
    const other = await signDevToken({
      secret: SECRET,
      sub: 'olga',
      tenant: 'other',
      roles: ['change_manager'],
    });
    const theirs = await subscribe(other);
    await sleep(100); // subscribed before the run starts
    const run = (await as('manager')(EXECUTE, { workflowId: id })).executeWorkflow;
    const seen = [];
    const decoder = new TextDecoder();
    let text = '';
    while (!seen.some((e) => e.status === 'SUCCEEDED')) {
      const { value, done } = await mine.read();
      assert.ok(!done, 'the stream ended early');
      text += decoder.decode(value, { stream: true });
      for (const m of text.matchAll(/^data: (.+)$/gm)) {
        const e = JSON.parse(m[1]).data?.executionProgress;
        if (e && !seen.some((x) => JSON.stringify(x) === JSON.stringify(e))) seen.push(e);
      }
    }
    assert.ok(seen.every((e) => e.executionId === run.id));
    assert.deepEqual(
      seen.filter((e) => e.stepStatus === 'SUCCEEDED').map((e) => e.stepId),
      ['call'],
    );
    await mine.cancel();
    // The other tenant's stream got no event of it (only keep-alives, if anything).
    const nothing = await Promise.race([theirs.read(), sleep(300).then(() => 'quiet')]);
    if (nothing !== 'quiet') assert.doesNotMatch(decoder.decode(nothing.value), /executionProgress/);
    await theirs.cancel();
  });

  test('a failing upstream is retried by the policy, then fails the execution with the step named', async () => {
    const id = await workflow([
      {
        id: 'call',
        type: 'http-request',
        url: `${upstreamUrl}/fail`,
        retry: { maxAttempts: 2, baseDelayMs: 10, capMs: 20 },
      },
    ]);
    const e = (await as('manager')(EXECUTE, { workflowId: id })).executeWorkflow;
    const ended = await waitFor(e.id);
    assert.equal(ended.status, 'FAILED');
    assert.equal(ended.error.stepId, 'call');
    assert.equal(ended.steps[0].attempts, 2);
  });

  test('over MCP: execute_workflow, then wait_for_execution until it ends', async () => {
    const id = await workflow([{ id: 'ping', type: 'http-request', url: `${upstreamUrl}/mcp-ping` }]);
    const call = async (name, args) => {
      const res = await app.fetch(
        new Request('http://localhost/mcp/workflows', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${tokens.manager}`,
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
          },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name, arguments: args },
          }),
        }),
      );
      const body = await res.json();
      assert.notEqual(body.result?.isError, true, JSON.stringify(body));
      return body.result.structuredContent;
    };
    const started = await call('execute_workflow', { workflowId: id });
    assert.equal(started.status, 'PENDING');
    let waited;
    for (let i = 0; i < 5 && !['SUCCEEDED', 'FAILED'].includes(waited?.status); i++) {
      waited = await call('wait_for_execution', { id: started.id, timeoutSeconds: 5 });
    }
    assert.equal(waited.status, 'SUCCEEDED', JSON.stringify(waited));
    assert.equal(hits.get('/mcp-ping'), 1);
  });

  test('a signed webhook starts its workflow once; a replay or a bad signature starts nothing', async () => {
    await as('admin')(
      'mutation($v: String!) { setWorkflowSecret(name: "HOOK_SECRET", value: $v, allowedHosts: []) { name } }',
      { v: 'node-hook-signing-secret' },
    );
    const id = await workflow(
      [{ id: 'echo', type: 'transform', spec: { pick: { release: 'inputs.body.release' } } }],
      [{ type: 'webhook', secret: 'HOOK_SECRET' }],
    );
    const ts = Math.floor(Date.now() / 1000);
    const deliver = async (body, secret = 'node-hook-signing-secret') => {
      const res = await app.fetch(
        new Request(`http://localhost/hooks/workflows/${id}`, {
          method: 'POST',
          headers: await signedDeliveryHeaders(secret, body, ts),
          body,
        }),
      );
      return { status: res.status, body: await res.json() };
    };
    const body = JSON.stringify({ release: 'v42' });
    const first = await deliver(body);
    assert.equal(first.status, 202, JSON.stringify(first.body));
    const ended = await waitFor(first.body.executionId);
    assert.equal(ended.status, 'SUCCEEDED');
    assert.equal(ended.trigger, 'WEBHOOK');
    assert.deepEqual(ended.outputs.echo, { release: 'v42' });
    // The same signed request again (same timestamp, same body): a replay.
    const replay = await deliver(body);
    assert.equal(replay.status, 409);
    assert.equal(replay.body.error.code, 'WORKFLOW-012');
    const forged = await deliver(JSON.stringify({ release: 'v43' }), 'a-guessed-secret');
    assert.equal(forged.status, 401, JSON.stringify(forged.body));
    const { executions } = await as('manager')(
      `query($id: ID!) { executions(filter: { workflowId: $id }) { nodes { id } } }`,
      { id },
    );
    assert.equal(executions.nodes.length, 1);
  });

  test('a run the engine cannot carry on (its database refuses a write) is failed with EXECUTION-009, not left running', async () => {
    await app.db.exec(
      "CREATE TRIGGER node_exec_test_refuse BEFORE INSERT ON workflow_step_runs WHEN NEW.step_id = 'doomed' BEGIN SELECT RAISE(ABORT, 'the disk is on fire'); END",
    );
    try {
      const id = await workflow([{ id: 'doomed', type: 'http-request', url: `${upstreamUrl}/doomed` }]);
      const e = (await as('manager')(EXECUTE, { workflowId: id })).executeWorkflow;
      const ended = await waitFor(e.id);
      assert.equal(ended.status, 'FAILED');
      assert.equal(ended.error.code, 'EXECUTION-009');
      assert.match(ended.error.message, /the workflow engine failed: .*the disk is on fire/);
      const journal = await app.db
        .prepare('SELECT count(*) AS n FROM node_execution_journal WHERE execution_id = ?')
        .bind(e.id)
        .first();
      assert.equal(journal.n, 0);
    } finally {
      await app.db.exec('DROP TRIGGER node_exec_test_refuse');
    }
  });

  test('a cancel ends a long delay at once; a requester may not run a workflow, another tenant may not cancel it', async () => {
    const id = await workflow([{ id: 'wait', type: 'delay', durationMs: 3_600_000 }]);
    const raw = async (token, query, variables) => {
      const res = await app.fetch(
        new Request('http://localhost/graphql', {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ query, variables }),
        }),
      );
      return (await res.json()).errors?.[0]?.extensions?.code;
    };
    assert.equal(await raw(tokens.requester, EXECUTE, { workflowId: id }), 'FORBIDDEN');
    const e = (await as('manager')(EXECUTE, { workflowId: id })).executeWorkflow;
    await waitFor(e.id, (x) => x.status === 'RUNNING' && x.steps.length > 0);
    const outsider = await signDevToken({ secret: SECRET, sub: 'olga', tenant: 'other', roles: ['admin'] });
    const CANCEL = `mutation($id: ID!) { cancelExecution(id: $id) { id } }`;
    assert.equal(await raw(outsider, CANCEL, { id: e.id }), 'EXECUTION-010');
    await sleep(200);
    assert.equal(
      (await waitFor(e.id, () => true)).status,
      'RUNNING',
      'still waiting after the refused cancel',
    );
    const asked = Date.now();
    await as('manager')(`mutation($id: ID!) { cancelExecution(id: $id) { id } }`, { id: e.id });
    const ended = await waitFor(e.id, undefined, 5_000);
    assert.equal(ended.status, 'CANCELLED');
    assert.ok(Date.now() - asked < 5_000);
  });

  test('an approval gate waits for the change and goes on the moment it is decided', async () => {
    const change = (
      await as('requester')(
        `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }`,
        {
          input: {
            title: 'Gate test change',
            description: 'A change an approval gate waits on',
            type: 'NORMAL',
            impact: 'LOW',
            urgency: 'LOW',
            affectedServices: ['gate-svc'],
            backoutPlan: 'Revert',
            testPlan: 'Smoke',
          },
        },
      )
    ).createChangeRequest;
    await as('requester')(`mutation($id: ID!) { submitChange(id: $id) { id status } }`, { id: change.id });
    const id = await workflow([{ id: 'gate', type: 'approval-gate', changeId: change.id }]);
    const e = (await as('manager')(EXECUTE, { workflowId: id })).executeWorkflow;
    const waiting = await waitFor(e.id, (x) => x.steps[0]?.waitingOnChange === change.id);
    assert.equal(waiting.status, 'RUNNING');
    const decided = Date.now();
    await as('approver')(
      `mutation($id: ID!) { rejectChange(id: $id, reason: "Not this week") { change { id status } } }`,
      {
        id: change.id,
      },
    );
    // The gate sleeps for EXECUTION_GATE_POLL_MS (5 minutes): only the decision's wake ends it now.
    const ended = await waitFor(e.id, undefined, 5_000);
    assert.equal(ended.status, 'FAILED');
    assert.match(ended.error.message, /REJECTED/);
    assert.ok(Date.now() - decided < 5_000);
  });

  test('a runbook: started when its change is approved, and on implementation, whose success completes the change', async () => {
    const wf = await workflow(
      [
        {
          id: 'deploy',
          type: 'http-request',
          url: `${upstreamUrl}/deploy`,
          method: 'POST',
          body: '{"change": "{{ inputs.change.id }}"}',
        },
      ],
      [{ type: 'change-approved' }],
    );
    const { createChangeRequest: created } = await as('manager')(
      `mutation($input: CreateChangeRequestInput!) { createChangeRequest(input: $input) { id } }`,
      {
        input: {
          title: 'Deploy the release',
          description: 'Roll out the release through its runbook',
          type: 'NORMAL',
          impact: 'LOW',
          urgency: 'LOW',
          affectedServices: ['runbook-svc'],
          backoutPlan: 'Roll back',
          testPlan: 'Smoke',
          runbookWorkflowId: wf,
        },
      },
    );
    let { status } = (
      await as('manager')(`mutation($id: ID!) { submitChange(id: $id) { status } }`, { id: created.id })
    ).submitChange;
    for (const voter of ['approver', 'approver2']) {
      if (status !== 'PENDING_APPROVAL') break;
      ({ status } = (
        await as(voter)(`mutation($id: ID!) { approveChange(id: $id) { change { status } } }`, {
          id: created.id,
        })
      ).approveChange.change);
    }
    assert.equal(status, 'APPROVED');
    const runsOf = async () =>
      (
        await as('manager')(
          `query($id: String) { executions(filter: { changeId: $id }) { nodes { id trigger status } } }`,
          { id: created.id },
        )
      ).executions.nodes;
    const [onApproval] = await runsOf();
    assert.equal(onApproval.trigger, 'CHANGE_APPROVED');
    assert.equal((await waitFor(onApproval.id)).status, 'SUCCEEDED');

    const day = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await as('manager')(
      `mutation($id: ID!, $s: DateTime!, $e: DateTime!) { scheduleChange(id: $id, plannedStart: $s, plannedEnd: $e) { change { status } } }`,
      { id: created.id, s: `${day}T10:00:00Z`, e: `${day}T12:00:00Z` },
    );
    const started = await as('manager')(`mutation($id: ID!) { startImplementation(id: $id) { status } }`, {
      id: created.id,
    });
    assert.equal(started.startImplementation.status, 'IMPLEMENTING');
    const runbook = (await runsOf()).find((r) => r.trigger === 'RUNBOOK');
    assert.equal((await waitFor(runbook.id)).status, 'SUCCEEDED');
    let change;
    for (let i = 0; i < 200; i++) {
      change = (await as('manager')(`query($id: ID!) { change(id: $id) { status } }`, { id: created.id }))
        .change;
      if (change.status === 'COMPLETED') break;
      await sleep(25);
    }
    assert.equal(change.status, 'COMPLETED');
    const audit = await as('manager')(
      `query($id: ID!) { auditLog(targetId: $id) { nodes { action actorId source } } }`,
      {
        id: created.id,
      },
    );
    assert.ok(
      audit.auditLog.nodes.some(
        (n) => n.action === 'change.completed' && n.actorId === 'workflow-engine' && n.source === 'system',
      ),
      JSON.stringify(audit.auditLog.nodes),
    );
    assert.equal(hits.get('/deploy'), 2);
  });

  test('a restart in the middle of a run resumes it from its journal without sending anything twice', async () => {
    const id = await workflow([
      { id: 'first', type: 'http-request', url: `${upstreamUrl}/first` },
      { id: 'nap', type: 'delay', durationMs: 1500 },
      { id: 'second', type: 'http-request', url: `${upstreamUrl}/second` },
    ]);
    const e = (await as('manager')(EXECUTE, { workflowId: id })).executeWorkflow;
    await waitFor(e.id, (x) => x.steps.some((s) => s.stepId === 'nap'));
    await app.close(); // stops at the pause; the journal keeps the run
    assert.equal(hits.get('/first'), 1);
    assert.equal(hits.get('/second'), undefined);
    app = open();
    const ended = await waitFor(e.id);
    assert.equal(ended.status, 'SUCCEEDED', JSON.stringify(ended.error));
    assert.equal(hits.get('/first'), 1, 'the first call was not sent again');
    assert.equal(hits.get('/second'), 1);
    const journal = await app.db
      .prepare('SELECT count(*) AS n FROM node_execution_journal WHERE execution_id = ?')
      .bind(e.id)
      .first();
    assert.equal(journal.n, 0, 'an ended execution leaves no journal');
  });

  test('a cron trigger starts its workflow once per minute', async () => {
    const id = await workflow(
      [{ id: 'tick', type: 'http-request', url: `${upstreamUrl}/tick` }],
      [{ type: 'cron', expression: '*/5 * * * *' }],
    );
    const at = new Date('2026-12-07T10:05:00Z');
    const started = await app.runCron(at);
    assert.equal(started.length, 1);
    assert.deepEqual(await app.runCron(at), [], 'the same minute again starts nothing');
    assert.deepEqual(await app.runCron(new Date('2026-12-07T10:06:00Z')), []);
    const ended = await waitFor(started[0]);
    assert.equal(ended.status, 'SUCCEEDED');
    assert.equal(ended.trigger, 'CRON');
    const { executions } = await as('manager')(
      `query($id: ID!) { executions(filter: { workflowId: $id }) { nodes { id } } }`,
      { id },
    );
    assert.equal(executions.nodes.length, 1);
  });

  test('a step to a private address is refused by the egress policy, here as in the Worker', async () => {
    const res = await app.fetch(
      new Request('http://localhost/graphql', {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.manager}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          query: CREATE_WORKFLOW,
          variables: {
            input: {
              name: 'to metadata',
              steps: [{ id: 'm', type: 'http-request', url: 'http://169.254.169.254/latest' }],
            },
          },
        }),
      }),
    );
    const body = await res.json();
    assert.equal(body.errors?.[0]?.extensions?.code, 'EGRESS_DENIED', JSON.stringify(body));
  });

  test('circuitBreakers lists the hosts whose breaker moved', async () => {
    const id = await workflow([
      { id: 'down', type: 'http-request', url: `${upstreamUrl}/fail`, retry: { maxAttempts: 1 } },
    ]);
    const e = (await as('manager')(EXECUTE, { workflowId: id })).executeWorkflow;
    assert.equal((await waitFor(e.id)).status, 'FAILED');
    const { circuitBreakers } = await as('manager')('{ circuitBreakers { host state consecutiveFailures } }');
    assert.deepEqual(circuitBreakers, [
      { host: new URL(upstreamUrl).host, state: 'CLOSED', consecutiveFailures: 1 },
    ]);
  });
});
