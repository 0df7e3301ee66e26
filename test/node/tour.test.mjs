// `npm run tour` against `wrangler dev`: the README's five-minute tour is this script, so this test
// keeps it true. It runs as a user would run it, a child process reading .dev.vars in its working
// directory, against a fresh local D1 with nothing seeded.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { migrateLocal, startLocalServer } from '../../scripts/localServer.mjs';

const SECRET = 'tour-test-secret-0123456789abcdef0123456789';
const script = resolve('scripts/tour.mjs');
const persistTo = mkdtempSync(join(tmpdir(), 'changeflow-tour-'));
const cwds = [];
let server;

before(async () => {
  migrateLocal({ persistTo, quiet: true });
  server = await startLocalServer({ persistTo, vars: { JWT_SECRET: SECRET } });
});

after(() => {
  server?.stop();
  for (const dir of [persistTo, ...cwds]) rmSync(dir, { recursive: true, force: true });
});

/** Runs the tour in a scratch directory whose .dev.vars holds `devVars`. */
function runTour(args, devVars) {
  const cwd = mkdtempSync(join(tmpdir(), 'changeflow-tour-cwd-'));
  cwds.push(cwd);
  writeFileSync(join(cwd, '.dev.vars'), devVars);
  const { JWT_SECRET: _s, JWT_AUDIENCE: _a, ENVIRONMENT: _e, ...env } = process.env;
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script, ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

test('the tour walks a change from creation to COMPLETED, then reads its audit log and the compliance report', async () => {
  const { status, stdout, stderr } = await runTour(
    ['--url', server.baseUrl, '--tenant', 'tour'],
    `ENVIRONMENT=development\nJWT_SECRET=${SECRET}\n`,
  );
  assert.equal(status, 0, `tour failed:\n${stdout}\n${stderr}`);
  assert.equal(stderr, '');
  const id = /→ (CHG-\S+) DRAFT/.exec(stdout)?.[1];
  assert.ok(id, stdout);
  // Each step shows the request it sent.
  for (const op of [
    'createChangeRequest',
    'submitChange',
    'approveChange',
    'scheduleChange',
    'startImplementation',
    'completeChange',
    'auditLog',
    'complianceReport',
  ]) {
    assert.match(stdout, new RegExp(`\\{ ${op}\\(`), `${op} shown`);
  }
  // The votes come from the approvers, never from the requester.
  assert.match(stdout, /as Abe Approver:\n\s+mutation TourApprove\([^)]*\) \{ approveChange/);
  assert.doesNotMatch(stdout, /as Rita Requester:\n\s+mutation TourApprove\([^)]*\) \{ approveChange/);
  // A NORMAL change of MEDIUM risk needs two approvals: both approvers vote.
  assert.match(stdout, /PENDING_APPROVAL, risk MEDIUM/);
  assert.match(stdout, /as Ada Approver:\n\s+mutation TourApprove\([^)]*\) \{ approveChange/);
  assert.match(stdout, /→ 2\/2 approvals, APPROVED\n/);
  assert.match(stdout, /→ IMPLEMENTING\n/);
  assert.match(stdout, /→ COMPLETED\n/);
  assert.match(stdout, /#\d+ change\.\S+ by max/);
  assert.match(stdout, /→ score \d+\/100 over 1 changes/);
  assert.match(stdout, new RegExp(`Done: ${id} is COMPLETED`));

  // What the server holds, not only what the script printed.
  const res = await fetch(`${server.baseUrl}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await managerToken()}`,
    },
    body: JSON.stringify({ query: 'query($id: ID!) { change(id: $id) { status } }', variables: { id } }),
  });
  assert.deepEqual((await res.json()).data, { change: { status: 'COMPLETED' } });
});

test('with a JWT_SECRET the server does not know, the tour stops at the first step and exits 1', async () => {
  const { status, stdout, stderr } = await runTour(
    ['--url', server.baseUrl, '--tenant', 'tour'],
    `JWT_SECRET=${'f'.repeat(64)}\n`,
  );
  assert.equal(status, 1);
  assert.match(stderr, /UNAUTHENTICATED/);
  assert.doesNotMatch(stdout, /submitChange/);
});

test('with nothing listening at --url, the tour says so and exits 1', async () => {
  const { status, stderr } = await runTour(['--url', 'http://127.0.0.1:9'], `JWT_SECRET=${SECRET}\n`);
  assert.equal(status, 1);
  assert.match(stderr, /Cannot reach http:\/\/127\.0\.0\.1:9\/graphql .*npm start/);
});

async function managerToken() {
  const { signDevToken } = await import('../../src/runtime/node/devVars.mjs');
  return signDevToken({ secret: SECRET, sub: 'max', tenant: 'tour', roles: ['change_manager'] });
}
