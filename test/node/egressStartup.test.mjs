// The Node runtime's egress settings as a self-hoster meets them: the start-up banner names the
// operator's exception, saving a workflow applies it (and nothing wider), and a start with
// EGRESS_ALLOW_PRIVATE=true outside development is refused with a clear configuration error.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildNodeServer } from '../../scripts/buildNode.mjs';
import { signDevToken } from '../../src/runtime/node/devVars.mjs';
import { startBundle } from './nodeBundle.mjs';

const SECRET = 'node-egress-test-secret-0123456789abcdef';
const BUNDLE = fileURLToPath(new URL('../../dist/node/egress-test-server.mjs', import.meta.url));

/** Runs the bundle until it prints its URLs (resolves { base, stdout }) or exits (rejects with its output). */
const start = (dbFile, env) => startBundle(BUNDLE, dbFile, { JWT_SECRET: SECRET, ...env });

describe('egress settings on Node', () => {
  let dir;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'changeflow-egress-'));
    await buildNodeServer(BUNDLE);
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    for (const f of [BUNDLE, `${BUNDLE}.map`]) rmSync(f, { force: true });
  });

  test('the banner names EGRESS_ALLOW_PRIVATE_HOSTS, and saving a workflow allows exactly those hosts', async () => {
    const server = start(join(dir, 'a.sqlite'), {
      ENVIRONMENT: 'production',
      JWT_AUDIENCE: 'changeflow-selfhost',
      EGRESS_ALLOW_PRIVATE_HOSTS: 'Billing.Internal, 10.0.0.7',
    });
    try {
      const { base, stdout } = await server.ready;
      assert.match(
        stdout,
        /Workflow HTTP egress: loopback, private and metadata addresses refused; except EGRESS_ALLOW_PRIVATE_HOSTS: billing\.internal, 10\.0\.0\.7/,
      );
      const token = await signDevToken({
        secret: SECRET,
        sub: 'max',
        tenant: 'selfhost',
        roles: ['change_manager'],
        audience: 'changeflow-selfhost',
      });
      const save = async (url) => {
        const res = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({
            query: 'mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }',
            variables: { i: { name: `call ${url}`, steps: [{ id: 'call', type: 'http-request', url }] } },
          }),
        });
        return { status: res.status, body: await res.json() };
      };
      for (const url of ['http://10.0.0.7/hook', 'https://billing.internal/api']) {
        const { body } = await save(url);
        assert.equal(body.errors, undefined, url);
      }
      for (const [url, rule] of [
        ['http://10.0.0.8/hook', 'private (RFC 1918)'],
        ['http://127.0.0.1:8080/', 'loopback'],
        ['http://other.internal/', 'private-use name (*.internal)'],
      ]) {
        const { status, body } = await save(url);
        assert.equal(status, 400, url);
        assert.equal(body.errors[0].extensions.code, 'EGRESS_DENIED', url);
        assert.equal(body.errors[0].extensions.issues[0].rule, rule, url);
      }
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('EGRESS_ALLOW_PRIVATE=true outside development does not start', async () => {
    const server = start(join(dir, 'b.sqlite'), {
      ENVIRONMENT: 'staging',
      JWT_AUDIENCE: 'changeflow-selfhost',
      EGRESS_ALLOW_PRIVATE: 'true',
    });
    const error = await server.ready.then(
      () => null,
      (e) => e,
    );
    if (error === null) {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    assert.ok(error, 'the server started');
    assert.equal(error.code, 1);
    assert.match(
      error.stderr,
      /Invalid configuration: EGRESS_ALLOW_PRIVATE may only be "true" in development/,
    );
  });
});
