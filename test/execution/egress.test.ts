import { env } from 'cloudflare:test';
import { describe, expect, inject, it } from 'vitest';
import { setSecret } from '../helpers/secrets';
import { createWorkflow, execute, freshCast, gqlOk, upstream, waitFor } from './helpers';

// The egress policy at run time, end to end through the engine and the loopback upstream (which
// the test pool reaches as exactly 127.0.0.1, see vitest.config.ts): what a caller-controlled
// value can and cannot do to a request, redirects, the tenant allow-list, and definitions saved
// before the rules (written straight into D1 here, since saving one is now refused).

const port = new URL(inject('upstreamUrl')).port;
const key = () => crypto.randomUUID();
const SET_POLICY = 'mutation($hosts: [String!]!) { setEgressPolicy(allowedHosts: $hosts) { allowedHosts } }';

async function upstreamCount(k: string): Promise<number> {
  const res = await fetch(upstream(`/count/${k}`));
  return ((await res.json()) as { calls: number }).calls;
}

/** What the upstream's /echo received, from the step's output. */
type Echo = { method: string; path: string; headers: Record<string, string>; body: string };
const echoOf = (output: unknown) => (output as { body: Echo }).body;

/** Replaces a saved version's steps, as a definition from before these rules would be stored. */
async function rewriteSteps(workflowId: string, steps: unknown[]): Promise<void> {
  await env.DB.prepare('UPDATE workflow_versions SET steps = ?2 WHERE workflow_id = ?1')
    .bind(workflowId, JSON.stringify(steps))
    .run();
}

const httpStep = (url: string, extra: Record<string, unknown> = {}) => ({
  id: 'call',
  type: 'http-request',
  url,
  retry: { maxAttempts: 3, baseDelayMs: 0, capMs: 0 },
  ...extra,
});

describe('values rendered into a request', () => {
  it('a path value is one segment and a query value one value: neither moves the request', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      httpStep(`${upstream('/echo/{{ inputs.p }}')}?q={{ inputs.q }}&b=1`),
    ]);
    const done = await waitFor(
      c.manager,
      (await execute(c.manager, id, { p: '../keyed/x/.attacker.example@evil', q: 'x&admin=1#frag' })).id,
    );
    expect(done.status).toBe('SUCCEEDED');
    const echo = echoOf(done.steps[0]?.output);
    expect(echo.path).toBe('/echo/..%2Fkeyed%2Fx%2F.attacker.example%40evil?q=x%26admin%3D1%23frag&b=1');
    expect([...new URLSearchParams(echo.path.split('?')[1])]).toEqual([
      ['q', 'x&admin=1#frag'],
      ['b', '1'],
    ]);
  });

  it('a value that would make a ".." segment fails the step and sends nothing', async () => {
    const c = await freshCast();
    const k = key();
    const id = await createWorkflow(c.manager, [httpStep(upstream(`/keyed/${k}/ok/{{ inputs.p }}/x`))]);
    for (const p of ['..', '.']) {
      const done = await waitFor(c.manager, (await execute(c.manager, id, { p })).id);
      expect(done.status).toBe('FAILED');
      expect(done.error).toMatchObject({ code: 'EXECUTION-004', class: 'VALIDATION', stepId: 'call' });
      expect(done.error?.message).toContain('inputs.p');
      expect(done.steps[0]?.attempts).toBe(1);
    }
    expect(await upstreamCount(k)).toBe(0);
  });

  it('a form body value is form-encoded: "x&role=admin" arrives as one value', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      httpStep(upstream('/echo'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: 'name={{ inputs.name }}&role=viewer',
      }),
    ]);
    const done = await waitFor(c.manager, (await execute(c.manager, id, { name: 'x&role=admin' })).id);
    expect(done.status).toBe('SUCCEEDED');
    const echo = echoOf(done.steps[0]?.output);
    expect(echo.body).toBe('name=x%26role%3Dadmin&role=viewer');
    const form = new URLSearchParams(echo.body);
    expect(form.getAll('role')).toEqual(['viewer']);
    expect(form.get('name')).toBe('x&role=admin');
  });

  it('a JSON body value is JSON-escaped: it cannot close its string and add a key', async () => {
    const c = await freshCast();
    const id = await createWorkflow(c.manager, [
      httpStep(upstream('/echo'), {
        method: 'POST',
        body: '{"name": "{{ inputs.name }}", "role": "viewer"}',
      }),
    ]);
    const name = 'x", "role": "admin';
    const done = await waitFor(c.manager, (await execute(c.manager, id, { name })).id);
    expect(done.status).toBe('SUCCEEDED');
    expect(JSON.parse(echoOf(done.steps[0]?.output).body)).toEqual({ name, role: 'viewer' });
  });
});

describe('redirects are not followed', () => {
  it('a 302 to http://169.254.169.254/ is the step’s result, not a request to the metadata service', async () => {
    const c = await freshCast();
    // The secret may go to the upstream (127.0.0.1) only: a followed redirect would carry it elsewhere.
    await setSecret(c.admin, 'UPSTREAM_TOKEN', 'test-upstream-token-4f1d', ['127.0.0.1']);
    const to = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/';
    const id = await createWorkflow(c.manager, [
      httpStep(upstream(`/redirect?to=${encodeURIComponent(to)}`), {
        headers: { Authorization: 'Bearer {{ secrets.UPSTREAM_TOKEN }}' },
        successStatuses: ['200-399'],
      }),
    ]);
    const done = await waitFor(c.manager, (await execute(c.manager, id)).id);
    expect(done.status).toBe('SUCCEEDED');
    expect(done.steps[0]?.output).toMatchObject({
      status: 302,
      headers: { location: to },
      body: { redirectTo: to },
    });
    expect(done.steps[0]?.attempts).toBe(1);
  });

  it('a 307 to a refused host carries neither the request nor the secret there', async () => {
    const c = await freshCast();
    // The secret may go to the upstream (127.0.0.1) only: a followed redirect would carry it elsewhere.
    await setSecret(c.admin, 'UPSTREAM_TOKEN', 'test-upstream-token-4f1d', ['127.0.0.1']);
    const k = key();
    // The same upstream, as localhost: refused by the policy, so a followed redirect would show in its log.
    const to = `http://localhost:${port}/keyed/${k}/ok`;
    const id = await createWorkflow(c.manager, [
      httpStep(upstream(`/redirect?status=307&to=${encodeURIComponent(to)}`), {
        method: 'POST',
        headers: { Authorization: 'Bearer {{ secrets.UPSTREAM_TOKEN }}' },
        body: '{"deploy": true}',
      }),
    ]);
    const done = await waitFor(c.manager, (await execute(c.manager, id)).id);
    expect(done.status).toBe('FAILED');
    expect(done.error).toMatchObject({ code: 'EXECUTION-003', httpStatus: 307 });
    expect(done.steps[0]?.attempts).toBe(1);
    await new Promise((r) => setTimeout(r, 100));
    expect(await upstreamCount(k)).toBe(0);
  });
});

describe('the policy on every attempt', () => {
  it('the tenant allow-list applies to a workflow saved before it, per tenant, before anything is sent', async () => {
    const a = await freshCast();
    const b = await freshCast();
    const ka = key();
    const kb = key();
    const wa = await createWorkflow(a.manager, [httpStep(upstream(`/keyed/${ka}/ok`))]);
    const wb = await createWorkflow(b.manager, [httpStep(upstream(`/keyed/${kb}/ok`))]);
    await gqlOk(SET_POLICY, { hosts: ['api.example.com'] }, a.admin);

    const denied = await waitFor(a.manager, (await execute(a.manager, wa)).id);
    expect(denied.status).toBe('FAILED');
    expect(denied.error).toMatchObject({ code: 'EGRESS_DENIED', class: 'EGRESS_DENIED', stepId: 'call' });
    expect(denied.error?.message).toBe(
      "GET refused by the egress policy: host 127.0.0.1 is refused: not on the tenant's egress allow-list",
    );
    expect(denied.steps[0]?.attempts).toBe(1);
    expect(denied.steps[0]?.attemptLog.map((l) => l.errorCode)).toEqual(['EGRESS_DENIED']);
    expect(await upstreamCount(ka)).toBe(0);

    // Tenant B has no allow-list: A's does not reach it.
    const fine = await waitFor(b.manager, (await execute(b.manager, wb)).id);
    expect(fine.status).toBe('SUCCEEDED');
    expect(await upstreamCount(kb)).toBe(1);

    // Cleared, A's workflow runs again.
    await gqlOk(SET_POLICY, { hosts: [] }, a.admin);
    expect((await waitFor(a.manager, (await execute(a.manager, wa)).id)).status).toBe('SUCCEEDED');
    expect(await upstreamCount(ka)).toBe(1);
  });

  it('a stored definition aimed at a refused host, or with a templated host, is refused at run time', async () => {
    const c = await freshCast();
    const k = key();
    const cases: [string, Record<string, string>, RegExp][] = [
      [`http://localhost:${port}/keyed/${k}/ok`, {}, /host localhost is refused: loopback \(localhost\)/],
      [`http://0x7f000001:${port}/keyed/${k}/ok`, {}, /host 0x7f000001 is refused: numeric host/],
      [`http://[::ffff:7f00:1]:${port}/keyed/${k}/ok`, {}, /IPv4-mapped IPv6 \(127\.0\.0\.1\)/],
      [`http://{{ inputs.host }}:${port}/keyed/${k}/ok`, { host: '127.0.0.1' }, /must be written literally/],
      [`http://127.0.0.1{{ inputs.p }}:${port}/keyed/${k}/ok`, { p: '' }, /must be written literally/],
    ];
    for (const [url, inputs, message] of cases) {
      const id = await createWorkflow(c.manager, [httpStep(upstream('/ok'))]);
      await rewriteSteps(id, [
        { ...httpStep(url), method: 'GET', headers: {}, timeoutMs: 5000, successStatuses: ['200-299'] },
      ]);
      const done = await waitFor(c.manager, (await execute(c.manager, id, inputs)).id);
      expect(done.status, url).toBe('FAILED');
      expect(done.error, url).toMatchObject({ code: 'EGRESS_DENIED', class: 'EGRESS_DENIED' });
      expect(done.error?.message, url).toMatch(message);
    }
    expect(await upstreamCount(k)).toBe(0);
  });
});
