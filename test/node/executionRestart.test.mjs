// Executions survive a restart of `wrangler dev`: executions waiting in a delay when the server
// stops are finished after it starts again on the same local state. Locally a restarted
// Workflows instance does not wake from its wait by itself; the every-minute watchdog (fired here
// as `npm start` fires it) wakes it. The nudge threshold is shortened so the test takes seconds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { graphqlOk } from './graphqlOk.mjs';

const SECRET = 'node-test-secret-0123456789abcdef0123456789';
const VARS = { JWT_SECRET: SECRET, EXECUTION_NUDGE_AFTER_MS: '1000' };
const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-restart-'));
let server;

after(() => {
  server?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test('executions waiting across a wrangler dev restart end SUCCEEDED, none stuck', async () => {
  migrateLocal({ persistTo, quiet: true });
  server = await startLocalServer({ persistTo, vars: VARS });
  const token = await signDevToken({
    secret: SECRET,
    sub: 'max',
    tenant: 'restart',
    roles: ['change_manager'],
  });
  // The server restarts on another port: each call asks the current one.
  const gql = (query, variables) => graphqlOk(server.baseUrl, token)(query, variables);
  const { createWorkflow } = await gql(
    'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }',
    {
      i: {
        name: 'Across a restart',
        steps: [
          { id: 'pause', type: 'delay', durationMs: 2000 },
          { id: 'after', type: 'transform', spec: { value: 'done' } },
        ],
      },
    },
  );
  const ids = [];
  for (let i = 0; i < 3; i++) {
    const d = await gql('mutation($w: ID!) { executeWorkflow(workflowId: $w) { id } }', {
      w: createWorkflow.id,
    });
    ids.push(d.executeWorkflow.id);
  }
  const status = async (id) =>
    (await gql('query($id: ID!) { execution(id: $id) { status steps { stepId status } outputs } }', { id }))
      .execution;
  for (const id of ids) {
    for (let i = 0; i < 100 && (await status(id)).steps[0]?.status !== 'WAITING'; i++) await sleep(100);
  }

  server.stop();
  await sleep(1500);
  server = await startLocalServer({ persistTo, vars: VARS });
  // Past the planned wake-up and the (shortened) nudge threshold, the cron's watchdog runs.
  await sleep(3000);
  await fetch(`${server.baseUrl}/__scheduled?cron=*+*+*+*+*`);
  const ended = [];
  for (const id of ids) {
    let e = await status(id);
    for (let i = 0; i < 150 && (e.status === 'RUNNING' || e.status === 'PENDING'); i++) {
      await sleep(100);
      e = await status(id);
    }
    ended.push(e);
  }
  assert.deepEqual(
    ended.map((e) => e.status),
    ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'],
  );
  assert.deepEqual(ended[0].outputs, { pause: null, after: 'done' });
});
