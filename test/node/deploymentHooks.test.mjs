// A deployment hook over a real socket, on the Node runtime a self-hoster runs (the bundle of
// `npm run serve:node`, a fresh SQLite file): a GitHub delivery signed with node:crypto, as GitHub
// signs it, raises and schedules a standard change; a replay and a bad signature are refused.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';

const SECRET = 'deployment-hooks-test-secret-0123456789';
const TENANT = 'pipelines';

let dir;
let child;
let base;
let admin;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'changeflow-deploy-'));
  const bundle = await buildNodeServer();
  child = spawn(
    process.execPath,
    [bundle, '--db', join(dir, 'changeflow.sqlite'), '--port', '0', '--host', '127.0.0.1'],
    {
      env: {
        ...process.env,
        JWT_SECRET: SECRET,
        SECRETS_KEY: randomBytes(32).toString('base64'),
        ENVIRONMENT: 'development',
      },
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
  admin = await signDevToken({ secret: SECRET, sub: 'root', tenant: TENANT, roles: ['admin'], name: 'root' });
});

after(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function gql(query, variables = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

async function deliver(id, secret, body, delivery) {
  const res = await fetch(`${base}/hooks/deployments/${id}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'deployment',
      'x-github-delivery': delivery,
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
    body,
  });
  return { status: res.status, body: await res.json() };
}

test('a signed GitHub deployment raises and schedules its change over the socket; a replay and a wrong secret are refused', async () => {
  const template = await gql(
    `mutation { createStandardChangeTemplate(input: { name: "Deploy", titlePattern: "Deploy {{ref}} to {{environment}}",
      titleVariables: ["ref", "environment"], description: "Application deployment.", affectedServices: ["shop"],
      impact: LOW, urgency: LOW, implementationPlan: "Pipeline.", backoutPlan: "Redeploy.", testPlan: "Smoke.",
      riskLevel: LOW }) { id } }`,
  );
  const created = await gql(
    `mutation($t: ID!) { createDeploymentIntegration(name: "shop", kind: GITHUB,
      environments: [{ environment: "production", templateId: $t }]) { secret integration { id } } }`,
    { t: template.createStandardChangeTemplate.id },
  );
  const { secret, integration } = created.createDeploymentIntegration;
  const body = JSON.stringify({
    deployment: { id: 77, sha: 'a1b2c3d4e5f6', ref: 'main', environment: 'production', payload: {} },
  });
  const delivery = randomUUID();
  const first = await deliver(integration.id, secret, body, delivery);
  assert.equal(first.status, 200, JSON.stringify(first.body));
  assert.equal(first.body.allowed, true);
  assert.equal(first.body.status, 'SCHEDULED');
  const replay = await deliver(integration.id, secret, body, delivery);
  assert.deepEqual([replay.status, replay.body.error?.code], [409, 'DEPLOYMENT_REPLAYED']);
  const forged = await deliver(integration.id, 'not-the-secret', body, randomUUID());
  assert.deepEqual([forged.status, forged.body.error?.code], [401, 'DEPLOYMENT_SIGNATURE_INVALID']);
  const listed = await gql('{ deployments { nodes { externalId status changeId changeCreated } } }');
  assert.deepEqual(listed.deployments.nodes, [
    { externalId: '77', status: 'PENDING', changeId: first.body.changeId, changeCreated: true },
  ]);
});
