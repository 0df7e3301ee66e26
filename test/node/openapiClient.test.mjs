// The typed client (openapiClient.ts: openapi-typescript types of openapi.json, openapi-fetch)
// drives a change's whole life against the Node runtime's server, as an integrator's generated
// client would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { driveLifecycle, restClient } from './openapiClient.ts';

const SECRET = 'openapi-client-test-secret-0123456789abcdef';
let dir;
let child;
let base;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'changeflow-openapi-'));
  const bundle = await buildNodeServer();
  child = spawn(
    process.execPath,
    [bundle, '--db', join(dir, 'db.sqlite'), '--port', '0', '--host', '127.0.0.1'],
    {
      env: { ...process.env, JWT_SECRET: SECRET, ENVIRONMENT: 'development' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up banner:\n${stdout}`)), 60_000);
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const m = /GraphQL\s+(http:\/\/\S+)\/graphql/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited (${code}):\n${stdout}`)));
  });
});

after(() => {
  if (child?.exitCode === null) child.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const sign = (sub, roles) => signDevToken({ secret: SECRET, sub, tenant: 'typed', roles, name: sub });

test('the client generated from openapi.json takes a change from DRAFT to COMPLETED', async () => {
  const tokens = {
    requester: await sign('rita', ['requester']),
    approver1: await sign('abe', ['approver']),
    approver2: await sign('ada', ['approver']),
    manager: await sign('max', ['change_manager']),
  };
  const statuses = await driveLifecycle(base, tokens);
  assert.deepEqual(statuses, [
    'DRAFT',
    'PENDING_APPROVAL',
    'PENDING_APPROVAL',
    'APPROVED',
    'SCHEDULED',
    'IMPLEMENTING',
    'COMPLETED',
    'COMPLETED',
  ]);
});

test('its errors are the documented problem+json', async () => {
  const client = restClient(base, await sign('vic', ['viewer']));
  const { error, response } = await client.GET('/api/v1/changes/{id}', {
    params: { path: { id: 'CHG-nope' } },
  });
  assert.equal(response.status, 404);
  assert.match(response.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(error.code, 'CHANGE_NOT_FOUND');
  assert.equal(error.status, 404);
});
