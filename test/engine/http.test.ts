import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { putEgressPolicyStatement } from '../../src/db/egressPolicies';
import { type AttemptResult, beginExecution, httpAttempt, type Scope } from '../../src/engine/engine';
import { fakeBreakers, type Harness, harness, httpStep, T0 } from './harness';

const at = (ms: number) => new Date(T0 + ms).toISOString();
const EMPTY: Scope = { inputs: {}, steps: {} };
const URL_A = 'https://api.example.com/v1/deploy';

/** Attempts the harness's step as the runner does: attempt n after n-1 retries, the clock moved by each pause. */
async function attemptUntilDone(
  h: Harness,
  maxRounds = 10,
): Promise<{ result: AttemptResult; delays: number[] }> {
  await beginExecution(h.ports, h.ids);
  const delays: number[] = [];
  let prior: { startedAt: string; log: never[] } | null = null;
  for (let attempt = 1; attempt <= maxRounds; attempt++) {
    const r = await httpAttempt(h.ports, h.ids, h.workflowId, 0, httpStep(h), EMPTY, attempt, prior);
    if (r.kind !== 'retry') return { result: r, delays };
    delays.push(r.delayMs);
    prior = { startedAt: r.startedAt, log: r.log as never[] };
    h.advance(r.delayMs);
  }
  throw new Error('still retrying');
}

const answers =
  (...statuses: number[]) =>
  (_req: unknown, n: number) =>
    new Response(`answer ${n}`, { status: statuses[n - 1] ?? 200 });

describe('retries', () => {
  it('retries a 503 with full-jitter backoff from the injected random and clock, then succeeds', async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          retry: { maxAttempts: 3, baseDelayMs: 1000, capMs: 30_000 },
        },
      ],
      respond: answers(503, 503, 200),
      random: 0.25,
    });
    await beginExecution(h.ports, h.ids);
    const first = await httpAttempt(h.ports, h.ids, h.workflowId, 0, httpStep(h), EMPTY, 1, null);
    // random 0.25 × min(cap, 1000 × 2^0): the pause before the second try, from the injected now.
    expect(first).toMatchObject({ kind: 'retry', delayMs: 250, notBefore: T0 + 250, startedAt: at(0) });
    const waiting = await h.execution();
    expect(waiting.wakeAt).toBe(at(250));
    const [running] = await h.runs();
    expect([running?.status, running?.attempts, running?.error?.code]).toEqual([
      'RUNNING',
      1,
      'EXECUTION-003',
    ]);

    h.advance(250);
    if (first.kind !== 'retry') return;
    const second = await httpAttempt(h.ports, h.ids, h.workflowId, 0, httpStep(h), EMPTY, 2, first);
    // 0.25 × 1000 × 2^1.
    expect(second).toMatchObject({ kind: 'retry', delayMs: 500, notBefore: T0 + 250 + 500 });
    h.advance(500);
    if (second.kind !== 'retry') return;
    const third = await httpAttempt(h.ports, h.ids, h.workflowId, 0, httpStep(h), EMPTY, 3, second);
    expect(third).toMatchObject({ kind: 'ok', output: { status: 200, body: 'answer 3' } });
    expect(h.requests).toHaveLength(3);
    const [run] = await h.runs();
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.attempts).toBe(3);
    // The step started with its first attempt; each attempt is logged at its own time.
    expect(run?.startedAt).toBe(at(0));
    expect(run?.attemptLog.map((a) => [a.at, a.status, a.error ?? null, a.retryInMs ?? null])).toEqual([
      [at(0), 503, 'EXECUTION-003', 250],
      [at(250), 503, 'EXECUTION-003', 500],
      [at(750), 200, null, null],
    ]);
  });

  it('caps the backoff at capMs', async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          retry: { maxAttempts: 5, baseDelayMs: 1000, capMs: 1500 },
        },
      ],
      respond: answers(500, 500, 500, 500, 200),
      random: 0.999,
    });
    const { result, delays } = await attemptUntilDone(h);
    expect(result.kind).toBe('ok');
    // floor(0.999 × min(1500, 1000 × 2^(n-1))).
    expect(delays).toEqual([999, 1498, 1498, 1498]);
  });

  it("waits what the upstream's Retry-After asks (clamped to capMs) instead of the jitter", async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          retry: { maxAttempts: 3, baseDelayMs: 100, capMs: 10_000 },
        },
      ],
      respond: (_req, n) =>
        n === 1
          ? new Response('slow down', { status: 429, headers: { 'retry-after': '7' } })
          : n === 2
            ? new Response('slow down', { status: 429, headers: { 'retry-after': '3600' } })
            : new Response('ok'),
    });
    const { result, delays } = await attemptUntilDone(h);
    expect(result.kind).toBe('ok');
    expect(delays).toEqual([7000, 10_000]);
  });

  it('gives up after maxAttempts with the last error: HTTP_STATUS (EXECUTION-003) and its status', async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          retry: { maxAttempts: 2, baseDelayMs: 10, capMs: 10 },
        },
      ],
      respond: answers(502, 503),
    });
    const { result, delays } = await attemptUntilDone(h);
    expect(delays).toEqual([5]);
    expect(result).toEqual({
      kind: 'failed',
      error: {
        code: 'EXECUTION-003',
        class: 'HTTP_STATUS',
        message: 'GET api.example.com answered 503: answer 2',
        stepId: 'call',
        status: 503,
      },
    });
    const [run] = await h.runs();
    expect([run?.status, run?.attempts, run?.error?.status]).toEqual(['FAILED', 2, 503]);
  });

  it('does not retry a status that will not change (404), nor one the step accepts', async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          retry: { maxAttempts: 5, baseDelayMs: 10, capMs: 10 },
        },
      ],
      respond: answers(404),
    });
    const { result, delays } = await attemptUntilDone(h);
    expect(delays).toEqual([]);
    expect(result).toMatchObject({
      kind: 'failed',
      error: { code: 'EXECUTION-003', class: 'HTTP_STATUS', status: 404 },
    });
    expect(h.requests).toHaveLength(1);

    const accepting = await harness({
      steps: [{ id: 'call', type: 'http-request', url: URL_A, successStatuses: ['200-299', '404'] }],
      respond: answers(404),
    });
    expect((await attemptUntilDone(accepting)).result).toMatchObject({ kind: 'ok', output: { status: 404 } });
  });

  it('classifies a failed connection as NETWORK (EXECUTION-001) and retries it', async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          retry: { maxAttempts: 2, baseDelayMs: 10, capMs: 10 },
        },
      ],
      respond: () => {
        throw new TypeError('connection refused');
      },
    });
    const { result, delays } = await attemptUntilDone(h);
    expect(delays).toEqual([5]);
    expect(result).toEqual({
      kind: 'failed',
      error: {
        code: 'EXECUTION-001',
        class: 'NETWORK',
        message: 'request failed: connection refused',
        stepId: 'call',
      },
    });
  });
});

describe('the circuit breaker', () => {
  it("counts each execution's failures against the host; once open, a step fails fast (CIRCUIT_OPEN) without sending", async () => {
    const clock = { ms: T0 };
    const board = fakeBreakers(() => clock.ms, { failureThreshold: 2, cooldownMs: 30_000 });
    const tenantId = `engine-breaker-${crypto.randomUUID().slice(0, 8)}`;
    let sent = 0;
    const failing = () =>
      harness({
        tenantId,
        steps: [
          {
            id: 'call',
            type: 'http-request',
            url: URL_A,
            retry: { maxAttempts: 1, baseDelayMs: 0, capMs: 0 },
          },
        ],
        breakers: board.port,
        respond: () => {
          sent += 1;
          return new Response('down', { status: 503 });
        },
      });
    for (let i = 0; i < 2; i++) {
      const { result } = await attemptUntilDone(await failing());
      expect(result).toMatchObject({ kind: 'failed', error: { class: 'HTTP_STATUS', status: 503 } });
    }
    expect(board.state('api.example.com')).toBe('OPEN');
    expect(board.calls).toEqual([
      'acquire api.example.com',
      'failure api.example.com',
      'acquire api.example.com',
      'failure api.example.com',
    ]);
    const third = await failing();
    const { result } = await attemptUntilDone(third);
    expect(result).toEqual({
      kind: 'failed',
      error: {
        code: 'EXECUTION-006',
        class: 'CIRCUIT_OPEN',
        message: 'circuit breaker for api.example.com is OPEN; no request was sent',
        stepId: 'call',
      },
    });
    expect(sent).toBe(2);
    const [run] = await third.runs();
    expect(run?.attemptLog).toEqual([{ at: at(0), ms: 0, error: 'EXECUTION-006' }]);
    // A refused acquire reports nothing: the breaker learns only from requests sent.
    expect(board.calls.slice(4)).toEqual(['acquire api.example.com']);
  });

  it('reports a success, a failure that says nothing of the host (404) as neutral, and one that does as failure', async () => {
    const board = fakeBreakers(() => T0, { failureThreshold: 5, cooldownMs: 30_000 });
    for (const status of [200, 404, 500]) {
      const h = await harness({
        steps: [
          {
            id: 'call',
            type: 'http-request',
            url: 'https://Hooks.Example.com:8443/x',
            retry: { maxAttempts: 1, baseDelayMs: 0, capMs: 0 },
          },
        ],
        breakers: board.port,
        respond: answers(status),
      });
      await attemptUntilDone(h);
    }
    expect(board.calls.filter((c) => !c.startsWith('acquire'))).toEqual([
      'success hooks.example.com:8443',
      'neutral hooks.example.com:8443',
      'failure hooks.example.com:8443',
    ]);
  });
});

/** A fetch that answers only when aborted, as a hung upstream does. */
const hangs = (req: { signal: AbortSignal | null }) =>
  new Promise<Response>((_, reject) => {
    req.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
  });

describe('a step timeout', () => {
  it('aborts a call that outlives timeoutMs: TIMEOUT (EXECUTION-002), retried while attempts are left', async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          timeoutMs: 30,
          retry: { maxAttempts: 2, baseDelayMs: 100, capMs: 100 },
        },
      ],
      respond: hangs,
    });
    const { result, delays } = await attemptUntilDone(h);
    expect(delays).toEqual([50]);
    expect(result).toEqual({
      kind: 'failed',
      error: { code: 'EXECUTION-002', class: 'TIMEOUT', message: 'no response within 30 ms', stepId: 'call' },
    });
    expect(h.requests.map((r) => r.signal?.aborted)).toEqual([true, true]);
  });
});

describe('cancel', () => {
  it('sends nothing when the cancel came before the attempt, and records the step CANCELLED', async () => {
    const h = await harness({ steps: [{ id: 'call', type: 'http-request', url: URL_A }] });
    await beginExecution(h.ports, h.ids);
    await h.requestCancel();
    const r = await httpAttempt(h.ports, h.ids, h.workflowId, 0, httpStep(h), EMPTY, 1, null);
    expect(r).toEqual({ kind: 'cancelled' });
    expect(h.requests).toEqual([]);
    const [run] = await h.runs();
    expect([run?.status, run?.error?.code, run?.error?.class]).toEqual([
      'CANCELLED',
      'EXECUTION-005',
      'CANCELLED',
    ]);
  });

  it('aborts a call in flight when a cancel is asked for, and does not retry it', async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          timeoutMs: 20_000,
          retry: { maxAttempts: 3, baseDelayMs: 10, capMs: 10 },
        },
      ],
      respond: (req) => {
        // The cancel comes while the request is out; the engine polls for it (cancelPollMs).
        void h.requestCancel();
        return hangs(req);
      },
    });
    const started = Date.now();
    const { result } = await attemptUntilDone(h);
    expect(result).toEqual({ kind: 'cancelled' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(h.requests).toHaveLength(1);
    expect(h.requests[0]?.signal?.aborted).toBe(true);
    const [run] = await h.runs();
    expect(run?.status).toBe('CANCELLED');
    expect(run?.attemptLog.map((a) => a.error)).toEqual(['EXECUTION-005']);
  });
});

describe('egress refusals', () => {
  it('refuses a private address before anything is sent: EGRESS_DENIED, not retried, neutral to the breaker', async () => {
    const board = fakeBreakers(() => T0, { failureThreshold: 1, cooldownMs: 30_000 });
    const h = await harness({
      steps: [{ id: 'call', type: 'http-request', url: 'http://169.254.169.254/latest/meta-data' }],
      breakers: board.port,
    });
    const { result, delays } = await attemptUntilDone(h);
    expect(delays).toEqual([]);
    expect(result).toMatchObject({
      kind: 'failed',
      error: { code: 'EGRESS_DENIED', class: 'EGRESS_DENIED', stepId: 'call' },
    });
    expect(
      result.kind === 'failed' && result.error.message.startsWith('GET refused by the egress policy: '),
    ).toBe(true);
    expect(h.requests).toEqual([]);
    expect(board.calls).toEqual(['acquire 169.254.169.254', 'neutral 169.254.169.254']);
    expect(board.state('169.254.169.254')).toBe('CLOSED');
  });

  it("refuses a host off the tenant's allow-list, read at the attempt", async () => {
    const h = await harness({ steps: [{ id: 'call', type: 'http-request', url: URL_A }] });
    await env.DB.batch([
      putEgressPolicyStatement(env.DB, {
        tenantId: h.tenantId,
        allowedHosts: ['hooks.example.com'],
        updatedBy: 'root',
        updatedAt: at(0),
      }),
    ]);
    const { result } = await attemptUntilDone(h);
    expect(result).toMatchObject({ kind: 'failed', error: { code: 'EGRESS_DENIED' } });
    expect(result.kind === 'failed' && result.error.message).toContain(
      "not on the tenant's egress allow-list",
    );
    expect(h.requests).toEqual([]);
  });

  it("refuses to send a secret to a host outside the secret's allowedHosts", async () => {
    const h = await harness({
      steps: [
        {
          id: 'call',
          type: 'http-request',
          url: URL_A,
          headers: { authorization: 'Bearer {{ secrets.DEPLOY_TOKEN }}' },
        },
      ],
      secrets: { DEPLOY_TOKEN: { value: 'tok-123', allowedHosts: ['deploy.example.com'] } },
    });
    const { result } = await attemptUntilDone(h);
    expect(result).toEqual({
      kind: 'failed',
      error: {
        code: 'EXECUTION-004',
        class: 'VALIDATION',
        message:
          'secret DEPLOY_TOKEN may only be sent to deploy.example.com, not to api.example.com; the request was not sent',
        stepId: 'call',
      },
    });
    expect(h.requests).toEqual([]);
  });
});
