import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  beginExecution,
  finishExecution,
  httpAttempt,
  runTransforms,
  type Scope,
} from '../../src/engine/engine';
import { harness, httpStep, T0 } from './harness';

type TransformSteps = Parameters<typeof runTransforms>[4];

const at = (ms: number) => new Date(T0 + ms).toISOString();

describe('beginExecution', () => {
  it('pins the saved version: RUNNING from the injected now, steps in order, inputs as given', async () => {
    const h = await harness({
      steps: [
        { id: 'first', type: 'transform', spec: { value: 1 } },
        { id: 'second', type: 'delay', durationMs: 1000 },
        { id: 'third', type: 'transform', spec: { value: 3 } },
      ],
      inputs: { service: 'payments' },
    });
    h.advance(1234);
    const begin = await beginExecution(h.ports, h.ids);
    expect(begin.kind).toBe('run');
    if (begin.kind !== 'run') return;
    expect(begin.workflowId).toBe(h.workflowId);
    expect(begin.steps.map((s) => s.id)).toEqual(['first', 'second', 'third']);
    expect(begin.inputs).toEqual({ service: 'payments' });
    const e = await h.execution();
    expect(e.status).toBe('RUNNING');
    expect(e.startedAt).toBe(at(1234));
    expect(h.events.map((x) => [x.status, x.executionId])).toEqual([['RUNNING', h.ids.executionId]]);
    // A replay (the runner restarted) begins again without moving the start.
    h.advance(5000);
    expect((await beginExecution(h.ports, h.ids)).kind).toBe('run');
    expect((await h.execution()).startedAt).toBe(at(1234));
  });

  it('ends an execution cancelled before it began as CANCELLED, by whom, without running it', async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await h.requestCancel('max');
    expect(await beginExecution(h.ports, h.ids)).toEqual({ kind: 'done' });
    const e = await h.execution();
    expect(e.status).toBe('CANCELLED');
    expect(e.error).toEqual({
      code: 'EXECUTION-005',
      class: 'CANCELLED',
      message: 'execution cancelled by max',
      stepId: null,
      status: null,
    });
    expect(await h.runs()).toEqual([]);
  });

  it('fails an execution whose version no longer exists with VALIDATION (EXECUTION-004)', async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await env.DB.prepare('DELETE FROM workflow_versions WHERE tenant_id = ?1 AND workflow_id = ?2')
      .bind(h.tenantId, h.workflowId)
      .run();
    expect(await beginExecution(h.ports, h.ids)).toEqual({ kind: 'done' });
    const e = await h.execution();
    expect(e.status).toBe('FAILED');
    expect(e.error).toEqual({
      code: 'EXECUTION-004',
      class: 'VALIDATION',
      message: `workflow ${h.workflowId} version 1 no longer exists`,
      stepId: null,
      status: null,
    });
  });
});

describe('runTransforms', () => {
  it('runs steps in order, each seeing the inputs and the outputs of the steps before it', async () => {
    const h = await harness({
      steps: [
        {
          id: 'items',
          type: 'transform',
          spec: {
            value: [
              { name: 'db', healthy: true },
              { name: 'cache', healthy: false },
              { name: 'api', healthy: true },
            ],
          },
        },
        {
          id: 'healthy',
          type: 'transform',
          spec: { filter: { from: 'steps.items', where: { field: 'healthy', equals: true } } },
        },
        { id: 'names', type: 'transform', spec: { map: { from: 'steps.healthy', to: { service: 'name' } } } },
        {
          id: 'report',
          type: 'transform',
          spec: { pick: { env: 'inputs.env', first: 'steps.names[0].service' } },
        },
      ],
      inputs: { env: 'prod' },
    });
    await beginExecution(h.ports, h.ids);
    h.advance(10);
    const scope: Scope = { inputs: { env: 'prod' }, steps: {} };
    const results = await runTransforms(h.ports, h.ids, h.workflowId, 0, h.steps as TransformSteps, scope);
    expect(results).toEqual([
      {
        kind: 'ok',
        output: [
          { name: 'db', healthy: true },
          { name: 'cache', healthy: false },
          { name: 'api', healthy: true },
        ],
      },
      {
        kind: 'ok',
        output: [
          { name: 'db', healthy: true },
          { name: 'api', healthy: true },
        ],
      },
      { kind: 'ok', output: [{ service: 'db' }, { service: 'api' }] },
      { kind: 'ok', output: { env: 'prod', first: 'db' } },
    ]);
    // The caller's scope is not touched: it gains outputs only as the runner records them.
    expect(scope.steps).toEqual({});
    const runs = await h.runs();
    expect(runs.map((r) => [r.index, r.stepId, r.status, r.startedAt, r.endedAt])).toEqual([
      [0, 'items', 'SUCCEEDED', at(10), at(10)],
      [1, 'healthy', 'SUCCEEDED', at(10), at(10)],
      [2, 'names', 'SUCCEEDED', at(10), at(10)],
      [3, 'report', 'SUCCEEDED', at(10), at(10)],
    ]);
    expect(runs[3]?.output).toEqual({ env: 'prod', first: 'db' });
    // One progress event per step, in order, after the RUNNING of begin.
    expect(h.events.map((e) => [e.stepIndex, e.stepId, e.stepStatus])).toEqual([
      [null, null, null],
      [0, 'items', 'SUCCEEDED'],
      [1, 'healthy', 'SUCCEEDED'],
      [2, 'names', 'SUCCEEDED'],
      [3, 'report', 'SUCCEEDED'],
    ]);
    expect((await h.execution()).currentStep).toBe(3);
  });

  it('stops at the first failing step with VALIDATION (EXECUTION-004) naming the path; later steps do not run', async () => {
    const h = await harness({
      steps: [
        { id: 'a', type: 'transform', spec: { value: { n: 1 } } },
        { id: 'b', type: 'transform', spec: { pick: { n: 'steps.a.missing' } } },
        { id: 'c', type: 'transform', spec: { value: 3 } },
      ],
    });
    await beginExecution(h.ports, h.ids);
    const results = await runTransforms(h.ports, h.ids, h.workflowId, 0, h.steps as TransformSteps, {
      inputs: {},
      steps: {},
    });
    expect(results).toHaveLength(2);
    expect(results[0]).toEqual({ kind: 'ok', output: { n: 1 } });
    expect(results[1]).toMatchObject({
      kind: 'failed',
      error: { code: 'EXECUTION-004', class: 'VALIDATION', stepId: 'b' },
    });
    const message = results[1]?.kind === 'failed' ? results[1].error.message : '';
    expect(message.startsWith('steps.a.missing: ')).toBe(true);
    const runs = await h.runs();
    expect(runs.map((r) => [r.stepId, r.status, r.error?.code ?? null])).toEqual([
      ['a', 'SUCCEEDED', null],
      ['b', 'FAILED', 'EXECUTION-004'],
    ]);
  });

  it('records nothing but a CANCELLED first step when a cancel was asked for', async () => {
    const h = await harness({
      steps: [
        { id: 'a', type: 'transform', spec: { value: 1 } },
        { id: 'b', type: 'transform', spec: { value: 2 } },
      ],
    });
    await beginExecution(h.ports, h.ids);
    await h.requestCancel();
    const results = await runTransforms(h.ports, h.ids, h.workflowId, 0, h.steps as TransformSteps, {
      inputs: {},
      steps: {},
    });
    expect(results).toEqual([{ kind: 'cancelled' }]);
    expect((await h.runs()).map((r) => [r.stepId, r.status, r.error?.code])).toEqual([
      ['a', 'CANCELLED', 'EXECUTION-005'],
    ]);
  });
});

describe('templates of an http-request step', () => {
  it("renders url, headers and body from the inputs, earlier steps' outputs and secrets; the output hides the secret", async () => {
    const h = await harness({
      steps: [
        {
          id: 'deploy',
          type: 'http-request',
          method: 'POST',
          url: 'https://deploy.example.com/services/{{ inputs.service }}/releases?tag={{ steps.prep.tag }}',
          headers: { authorization: 'Bearer {{ secrets.DEPLOY_TOKEN }}', 'x-env': '{{ inputs.env }}' },
          body: '{"version": {{ steps.prep.version }}, "note": "by {{ inputs.who }}"}',
        },
      ],
      inputs: { service: 'pay ments/v2', env: 'prod', who: 'Ann "the admin"' },
      secrets: { DEPLOY_TOKEN: { value: 'tok-123', allowedHosts: ['deploy.example.com'] } },
      // The upstream echoes the credential back; it must not reach outputs or records.
      respond: (req) =>
        Response.json(
          { id: 'rel-1', seen: req.headers.authorization },
          { status: 201, headers: { etag: '"v7"' } },
        ),
    });
    await beginExecution(h.ports, h.ids);
    const scope: Scope = {
      inputs: { service: 'pay ments/v2', env: 'prod', who: 'Ann "the admin"' },
      steps: { prep: { tag: 'a&b', version: 42 } },
    };
    const r = await httpAttempt(h.ports, h.ids, h.workflowId, 0, httpStep(h), scope, 1, null);
    expect(h.requests).toHaveLength(1);
    const sent = h.requests[0];
    expect(sent?.url).toBe('https://deploy.example.com/services/pay%20ments%2Fv2/releases?tag=a%26b');
    expect(sent?.method).toBe('POST');
    expect(sent?.headers).toEqual({
      authorization: 'Bearer tok-123',
      'x-env': 'prod',
      'content-type': 'application/json',
    });
    expect(JSON.parse(sent?.body ?? '')).toEqual({ version: 42, note: 'by Ann "the admin"' });
    expect(h.secretsAsked).toEqual([['DEPLOY_TOKEN']]);
    const output = {
      status: 201,
      headers: { 'content-type': 'application/json', etag: '"v7"' },
      body: { id: 'rel-1', seen: 'Bearer [REDACTED:DEPLOY_TOKEN]' },
    };
    expect(r).toEqual({ kind: 'ok', output });
    const [run] = await h.runs();
    expect(run?.status).toBe('SUCCEEDED');
    expect(run?.output).toEqual(output);
  });

  it('fails with VALIDATION (EXECUTION-004) naming a path that is not there, and sends nothing', async () => {
    const h = await harness({
      steps: [{ id: 'call', type: 'http-request', url: 'https://api.example.com/{{ steps.prep.id }}' }],
    });
    await beginExecution(h.ports, h.ids);
    const r = await httpAttempt(
      h.ports,
      h.ids,
      h.workflowId,
      0,
      httpStep(h),
      { inputs: {}, steps: {} },
      1,
      null,
    );
    expect(r).toMatchObject({
      kind: 'failed',
      error: { code: 'EXECUTION-004', class: 'VALIDATION', stepId: 'call' },
    });
    expect(r.kind === 'failed' && r.error.message.startsWith('url steps.prep.id: ')).toBe(true);
    expect(h.requests).toEqual([]);
  });
});

describe('finishExecution', () => {
  it("ends with the steps' outputs, once: a second finish (a replay) changes nothing", async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await beginExecution(h.ports, h.ids);
    h.advance(2000);
    const ended = await finishExecution(
      h.ports,
      h.ids,
      { kind: 'ok', output: null },
      { a: 1, b: { c: 'd' } },
    );
    expect(ended?.status).toBe('SUCCEEDED');
    const e = await h.execution();
    expect([e.status, e.outputs, e.error, e.endedAt]).toEqual([
      'SUCCEEDED',
      { a: 1, b: { c: 'd' } },
      null,
      at(2000),
    ]);
    expect(h.events.at(-1)?.status).toBe('SUCCEEDED');
    const published = h.events.length;
    h.advance(1000);
    expect(
      await finishExecution(
        h.ports,
        h.ids,
        { kind: 'failed', error: { code: 'EXECUTION-009', class: 'ENGINE', message: 'late' } },
        null,
      ),
    ).toBeNull();
    expect((await h.execution()).status).toBe('SUCCEEDED');
    expect(h.events).toHaveLength(published);
  });

  it('lets exactly one of two racing finishers (a cancel and a result) end the execution', async () => {
    const h = await harness({ steps: [{ id: 'a', type: 'transform', spec: { value: 1 } }] });
    await beginExecution(h.ports, h.ids);
    const before = h.events.length;
    const [cancelled, succeeded] = await Promise.all([
      finishExecution(h.ports, h.ids, { kind: 'cancelled' }, null),
      finishExecution(h.ports, h.ids, { kind: 'ok', output: null }, { a: 1 }),
    ]);
    const winners = [cancelled, succeeded].filter((e) => e !== null);
    expect(winners).toHaveLength(1);
    const stored = await h.execution();
    expect(stored.status).toBe(winners[0]?.status);
    // Subscribers hear of the end once, and of the status that was stored.
    expect(h.events.slice(before).map((e) => e.status)).toEqual([stored.status]);
  });
});
