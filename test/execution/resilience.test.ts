import { describe, expect, it } from 'vitest';
import { setSecret } from '../helpers/secrets';
import { createWorkflow, type Execution, execute, freshCast, gqlOk, upstream, waitFor } from './helpers';

const key = () => crypto.randomUUID();

const http = (url: string, extra: Record<string, unknown> = {}) => ({
  id: 'call',
  type: 'http-request',
  url,
  ...extra,
});

async function runOne(steps: unknown[], inputs: unknown = {}) {
  const c = await freshCast();
  const id = await createWorkflow(c.manager, steps);
  const e = await waitFor(c.manager, (await execute(c.manager, id, inputs)).id);
  return { c, id, e };
}

async function upstreamLog(k: string) {
  const res = await fetch(upstream(`/log/${k}`));
  return ((await res.json()) as { calls: { at: number; aborted: boolean }[] }).calls;
}

const step = (e: Execution) => e.steps[0]!;

describe('http-request retries', () => {
  it('retries 500s with full-jitter backoff inside the policy, then succeeds', async () => {
    const k = key();
    const { e } = await runOne([
      http(upstream(`/flaky/${k}/2/500`), { retry: { maxAttempts: 3, baseDelayMs: 200, capMs: 300 } }),
    ]);
    expect(e.status).toBe('SUCCEEDED');
    expect(step(e).attempts).toBe(3);
    const log = step(e).attemptLog;
    expect(log.map((a) => a.httpStatus)).toEqual([500, 500, 200]);
    // Attempt n waits random · min(cap, base · 2^(n-1)): at most 200 ms, then at most 300 ms.
    expect(log[0]?.retryInMs).toBeGreaterThanOrEqual(0);
    expect(log[0]?.retryInMs).toBeLessThanOrEqual(200);
    expect(log[1]?.retryInMs).toBeLessThanOrEqual(300);
    const calls = await upstreamLog(k);
    expect(calls).toHaveLength(3);
    // The pauses really happened: each gap is at least the chosen delay (small clock slack).
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual((log[i - 1]?.retryInMs ?? 0) - 5);
    }
  });

  it('gives up after maxAttempts with EXECUTION-003 and the status', async () => {
    const k = key();
    const { e } = await runOne([
      http(upstream(`/keyed/${k}/status/503`), { retry: { maxAttempts: 2, baseDelayMs: 10, capMs: 20 } }),
    ]);
    expect(e.status).toBe('FAILED');
    expect(e.error).toMatchObject({
      code: 'EXECUTION-003',
      class: 'HTTP_STATUS',
      httpStatus: 503,
      stepId: 'call',
    });
    expect(step(e)).toMatchObject({ status: 'FAILED', attempts: 2 });
    expect(await upstreamLog(k)).toHaveLength(2);
  });

  it('honours Retry-After on a 429', async () => {
    const k = key();
    const { e } = await runOne([
      http(upstream(`/flaky/${k}/1/429?retryAfter=1`), {
        retry: { maxAttempts: 2, baseDelayMs: 10, capMs: 5000 },
      }),
    ]);
    expect(e.status).toBe('SUCCEEDED');
    expect(step(e).attemptLog[0]).toMatchObject({ httpStatus: 429, retryInMs: 1000 });
    const calls = await upstreamLog(k);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(995);
  });

  it('does not retry a 4xx other than 408 and 429', async () => {
    const k = key();
    const { e } = await runOne([
      http(upstream(`/keyed/${k}/status/404`), { retry: { maxAttempts: 5, baseDelayMs: 10, capMs: 20 } }),
    ]);
    expect(e.error).toMatchObject({ code: 'EXECUTION-003', httpStatus: 404 });
    expect(step(e).attempts).toBe(1);
    expect(await upstreamLog(k)).toHaveLength(1);
  });

  it('classifies a timeout (EXECUTION-002) and retries it', async () => {
    const k = key();
    const { e } = await runOne([
      http(upstream(`/keyed/${k}/hang`), {
        timeoutMs: 200,
        retry: { maxAttempts: 2, baseDelayMs: 10, capMs: 20 },
      }),
    ]);
    expect(e.error).toMatchObject({ code: 'EXECUTION-002', class: 'TIMEOUT' });
    expect(step(e).attempts).toBe(2);
    const calls = await upstreamLog(k);
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => c.aborted)).toBe(true);
  });

  it('classifies a connection reset as a network error (EXECUTION-001)', async () => {
    const { e } = await runOne([
      http(upstream('/reset'), { retry: { maxAttempts: 2, baseDelayMs: 10, capMs: 20 } }),
    ]);
    expect(e.error).toMatchObject({ code: 'EXECUTION-001', class: 'NETWORK' });
    expect(step(e).attempts).toBe(2);
  });

  it('fails a response over the size cap with EXECUTION-008', async () => {
    const { e } = await runOne([http(upstream('/big/600000'))]);
    expect(e.error).toMatchObject({ code: 'EXECUTION-008', class: 'OUTPUT_TOO_LARGE' });
    expect(step(e).attempts).toBe(1);
  });

  it('fails a template that names a missing input with EXECUTION-004, sending nothing', async () => {
    const { e } = await runOne([http(upstream('/ok?x={{ inputs.missing }}'))]);
    expect(e.error).toMatchObject({ code: 'EXECUTION-004', class: 'VALIDATION' });
    expect(e.error?.message).toContain('inputs.missing');
  });

  it('sends a secret by name and never records its value', async () => {
    const c = await freshCast();
    await setSecret(c.admin, 'UPSTREAM_TOKEN', 'test-upstream-token-4f1d', [new URL(upstream('/')).hostname]);
    const id = await createWorkflow(c.manager, [
      http(upstream('/ok'), { headers: { Authorization: 'Bearer {{ secrets.UPSTREAM_TOKEN }}' } }),
    ]);
    const e = await waitFor(c.manager, (await execute(c.manager, id)).id);
    expect(e.status).toBe('SUCCEEDED');
    // The upstream echoes the header it received: the real value went out (only it is redacted),
    // and what ChangeFlow stores shows the secret's name instead.
    const body = (step(e).output as { body: { headers: Record<string, string> } }).body;
    expect(body.headers.authorization).toBe('Bearer [REDACTED:UPSTREAM_TOKEN]');
    expect(JSON.stringify(e)).not.toContain('test-upstream-token-4f1d');
  });
});

describe('the circuit breaker per upstream host', () => {
  const BREAKERS = 'query { circuitBreakers { host state consecutiveFailures } }';

  it('opens after 3 failures, fails fast without calling, and recovers through a half-open probe', async () => {
    const c = await freshCast();
    const k = key();
    const failing = await createWorkflow(c.manager, [
      http(upstream(`/keyed/${k}/status/503`), { retry: { maxAttempts: 3, baseDelayMs: 10, capMs: 20 } }),
    ]);
    const first = await waitFor(c.manager, (await execute(c.manager, failing)).id);
    expect(first.error?.code).toBe('EXECUTION-003');
    const host = new URL(upstream('/')).host;
    const board = await gqlOk<{ circuitBreakers: { host: string; state: string }[] }>(BREAKERS, {}, c.viewer);
    expect(board.circuitBreakers).toEqual([{ host, state: 'OPEN', consecutiveFailures: 3 }]);

    // While open: fails at once with EXECUTION-006, and the upstream sees nothing.
    const ok = await createWorkflow(c.manager, [http(upstream(`/keyed/${k}/ok`))]);
    const blocked = await waitFor(c.manager, (await execute(c.manager, ok)).id);
    expect(blocked.error).toMatchObject({ code: 'EXECUTION-006', class: 'CIRCUIT_OPEN' });
    expect(await upstreamLog(k)).toHaveLength(3);

    // After the cooldown (1 s in tests) one probe goes through; its success closes the breaker.
    await new Promise((r) => setTimeout(r, 1100));
    const probe = await waitFor(c.manager, (await execute(c.manager, ok)).id);
    expect(probe.status).toBe('SUCCEEDED');
    const after = await gqlOk<{ circuitBreakers: { state: string }[] }>(BREAKERS, {}, c.viewer);
    expect(after.circuitBreakers[0]?.state).toBe('CLOSED');
  });

  it('keeps each tenant’s breakers to itself', async () => {
    const c = await freshCast();
    const other = await freshCast();
    const wf = await createWorkflow(c.manager, [
      http(upstream(`/keyed/${key()}/status/500`), { retry: { maxAttempts: 3, baseDelayMs: 10, capMs: 20 } }),
    ]);
    await waitFor(c.manager, (await execute(c.manager, wf)).id);
    const mine = await gqlOk<{ circuitBreakers: { state: string }[] }>(BREAKERS, {}, c.viewer);
    expect(mine.circuitBreakers[0]?.state).toBe('OPEN');
    const theirs = await gqlOk<{ circuitBreakers: unknown[] }>(BREAKERS, {}, other.viewer);
    expect(theirs.circuitBreakers).toEqual([]);
  });
});
