import { Validator } from '@cfworker/json-schema';
import { createTaskSessionFromClient, resultFromTaskOutcome } from '@modelcontextprotocol/ext-tasks/client';
import {
  CancelTaskResultV2Schema,
  CreateTaskResultV2Schema,
  GetTaskResultV2Schema,
} from '@modelcontextprotocol/ext-tasks/core/v2';
import { describe, expect, it } from 'vitest';
import snapshot from '../../mcp-tools.snapshot.json';
import { freshCast, upstream } from '../execution/helpers';
import { gqlOk } from '../helpers/graphql';
import { callTool, mcpClient, rawMcp, toolError } from '../helpers/mcp';

/**
 * MCP tasks for execute_workflow (src/mcp/tasks.ts): a client that declares task support gets a
 * task and polls it; the task is the execution, read from the database on every request. Wire
 * shapes are checked against the Tasks extension's own schemas (@modelcontextprotocol/ext-tasks).
 */
const REVISION = '2026-07-28';
/** Every tool the caller's roles allow (/mcp alone offers the changes toolset). */
const PATH = '/mcp/all';
const EXTENSION = 'io.modelcontextprotocol/tasks';
const envelope = (tasks: boolean, elicitation = false) => ({
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'tasks-test', version: '1.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {
    ...(tasks ? { extensions: { [EXTENSION]: {} } } : {}),
    ...(elicitation ? { elicitation: { form: {} } } : {}),
  },
});

interface Rpc {
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
}

/** One 2026-07-28 request, with the headers the revision (and the extension, for taskId) requires. */
async function send2026(
  token: string,
  method: string,
  params: Record<string, unknown>,
  opts: { tasks?: boolean; elicitation?: boolean; headers?: Record<string, string> } = {},
): Promise<Rpc> {
  const name = params.name ?? params.taskId;
  const res = await rawMcp(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method,
      params: { ...params, _meta: envelope(opts.tasks ?? true, opts.elicitation) },
    }),
    {
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': REVISION,
      'mcp-method': method,
      ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
      ...opts.headers,
    },
    PATH,
  );
  expect(res.status).toBeLessThan(500);
  return (await res.json()) as Rpc;
}

/** One stateless 2025 request at the given revision. */
async function send2025(
  token: string,
  method: string,
  params: Record<string, unknown>,
  version = '2025-11-25',
) {
  const res = await rawMcp(
    JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    {
      authorization: `Bearer ${token}`,
      'mcp-protocol-version': version,
    },
    PATH,
  );
  expect(res.status).toBeLessThan(500);
  return (await res.json()) as Rpc;
}

async function workflow(token: string, steps: unknown[]): Promise<string> {
  const agent = await mcpClient(token);
  const created = await callTool(agent, 'create_workflow', {
    input: { name: 'Task run', steps },
  });
  if (created.isError) throw new Error(JSON.stringify(toolError(created)));
  return (created.structuredContent as { id: string }).id;
}

const PING = () => [{ id: 'ping', type: 'http-request', url: upstream('/ok') }];
const MISSING = () => [{ id: 'gone', type: 'http-request', url: upstream('/status/404') }];
const POST = () => [{ id: 'restart', type: 'http-request', method: 'POST', url: upstream('/echo') }];
const HOUR = [{ id: 'wait', type: 'delay', durationMs: 3_600_000 }];

/** Polls tasks/get (2026-07-28) until the task leaves `working`, as a client would. */
async function poll2026(token: string, taskId: string) {
  for (let i = 0; i < 60; i++) {
    const { result, error } = await send2026(token, 'tasks/get', { taskId });
    if (error) throw new Error(JSON.stringify(error));
    if (result?.status !== 'working') return result as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`task ${taskId} still working`);
}

const tool = (name: string) => snapshot.tools.find((t) => t.name === name) as { outputSchema: object };
const validates = (name: string, value: unknown) =>
  new Validator(tool(name).outputSchema as never, '2020-12', false).validate(value).valid;

describe('tasks on 2026-07-28 (the io.modelcontextprotocol/tasks extension)', () => {
  it('advertises the extension in server/discover', async () => {
    const c = await freshCast();
    const { result } = await send2026(c.manager, 'server/discover', {});
    expect(result?.capabilities).toMatchObject({ extensions: { [EXTENSION]: {} } });
  });

  it('answers execute_workflow with a task, and tasks/get with the result once the run ends', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, PING());
    const { result: created } = await send2026(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
    });
    expect(CreateTaskResultV2Schema.safeParse(created).success).toBe(true);
    expect(created).toMatchObject({
      resultType: 'task',
      status: 'working',
      ttlMs: null,
      pollIntervalMs: 2000,
    });
    expect(created?.taskId).toMatch(/^exe_/);
    expect(created).not.toHaveProperty('content');

    const done = await poll2026(c.manager, created?.taskId as string);
    expect(GetTaskResultV2Schema.safeParse(done).success).toBe(true);
    expect(done).toMatchObject({ status: 'completed', resultType: 'complete', taskId: created?.taskId });
    const result = done.result as { isError?: boolean; structuredContent: Record<string, unknown> };
    expect(result).toMatchObject({ resultType: 'complete' });
    expect(result.isError).toBeUndefined();
    expect(result.structuredContent).toMatchObject({ id: created?.taskId, status: 'SUCCEEDED' });
    // The final result is what execute_workflow and get_execution promise.
    expect(validates('execute_workflow', result.structuredContent)).toBe(true);
    expect(validates('get_execution', result.structuredContent)).toBe(true);

    // The task is the execution: the tools see the same run.
    const agent = await mcpClient(c.manager);
    const read = await callTool(agent, 'get_execution', { id: created?.taskId });
    expect(read.structuredContent).toMatchObject({ status: 'SUCCEEDED' });
  });

  it('reports a failed run as completed with an error result (failed is for JSON-RPC errors)', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, MISSING());
    const { result: created } = await send2026(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
    });
    const done = await poll2026(c.manager, created?.taskId as string);
    expect(GetTaskResultV2Schema.safeParse(done).success).toBe(true);
    expect(done.status).toBe('completed');
    expect(done.statusMessage).toMatch(/^Execution FAILED at step gone: /);
    const result = done.result as { isError?: boolean; structuredContent: Record<string, unknown> };
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ status: 'FAILED', error: { stepId: 'gone' } });
    expect(validates('get_execution', result.structuredContent)).toBe(true);
  });

  it('cancels the execution with tasks/cancel, as cancel_execution does', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, HOUR);
    const { result: created } = await send2026(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
    });
    const taskId = created?.taskId as string;
    // Like cancel_execution, not on a read-only connection (which can still poll).
    const readOnly = { headers: { 'x-changeflow-read-only': 'true' } };
    const refused = await send2026(c.manager, 'tasks/cancel', { taskId }, readOnly);
    expect(refused.error).toMatchObject({ code: -32602, message: expect.stringMatching(/read-only/) });
    expect((await send2026(c.manager, 'tasks/get', { taskId }, readOnly)).result).toMatchObject({
      status: 'working',
    });
    const ack = await send2026(c.manager, 'tasks/cancel', { taskId });
    expect(CancelTaskResultV2Schema.safeParse(ack.result).success).toBe(true);
    expect(ack.result).toMatchObject({ resultType: 'complete' });
    const done = await poll2026(c.manager, taskId);
    expect(done).toMatchObject({ status: 'cancelled' });
    expect(done).not.toHaveProperty('result');
    // Cancelling an ended task is acknowledged (cancellation is cooperative in the extension).
    expect((await send2026(c.manager, 'tasks/cancel', { taskId })).result).toMatchObject({
      resultType: 'complete',
    });
    // It went through the same use case: audited under the caller, from tasks/cancel.
    const agent = await mcpClient(c.manager);
    const read = await callTool(agent, 'get_execution', { id: taskId });
    expect(read.structuredContent).toMatchObject({ status: 'CANCELLED' });
    const { execution } = await gqlOk<{ execution: { cancelRequestedAt: string | null } }>(
      'query($id: ID!) { execution(id: $id) { cancelRequestedAt } }',
      { id: taskId },
      c.manager,
    );
    expect(execution.cancelRequestedAt).toEqual(expect.any(String));
  });

  it('asks for confirmation (input_required) before it creates the task of a run that writes', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, POST());
    const call = { name: 'execute_workflow', arguments: { workflowId: wf } };
    const { result: ask } = await send2026(c.manager, 'tools/call', call, { elicitation: true });
    expect(ask).toMatchObject({
      resultType: 'input_required',
      inputRequests: { confirm: expect.any(Object) },
    });
    const { result: created } = await send2026(
      c.manager,
      'tools/call',
      { ...call, inputResponses: { confirm: { action: 'accept', content: { confirm: true } } } },
      { elicitation: true },
    );
    expect(CreateTaskResultV2Schema.safeParse(created).success).toBe(true);
    expect((await poll2026(c.manager, created?.taskId as string)).status).toBe('completed');
  });

  it('gives a client without the extension the plain result', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, PING());
    const { result } = await send2026(
      c.manager,
      'tools/call',
      { name: 'execute_workflow', arguments: { workflowId: wf } },
      { tasks: false },
    );
    expect(result).toMatchObject({ resultType: 'complete', structuredContent: { status: 'PENDING' } });
    expect(result).not.toHaveProperty('taskId');
    // And the SDK client (which does not declare it) gets what it always did.
    const agent = await mcpClient(c.manager);
    const plain = await callTool(agent, 'execute_workflow', { workflowId: wf });
    expect(plain.structuredContent).toMatchObject({ status: 'PENDING' });
    // tasks/* without the declaration: -32021, naming the capability.
    const refused = await send2026(
      c.manager,
      'tasks/get',
      { taskId: (plain.structuredContent as { id: string }).id },
      { tasks: false },
    );
    expect(refused.error).toMatchObject({
      code: -32021,
      data: { requiredCapabilities: { extensions: { [EXTENSION]: {} } } },
    });
  });

  it('answers another tenant, a lower role and a made-up id alike: task not found (-32602)', async () => {
    const c = await freshCast();
    const other = await freshCast();
    const wf = await workflow(c.manager, HOUR);
    const { result: created } = await send2026(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
    });
    const taskId = created?.taskId as string;
    const unknown = `exe_${crypto.randomUUID()}`;
    const answers = [
      await send2026(other.manager, 'tasks/get', { taskId }),
      await send2026(c.viewer, 'tasks/get', { taskId }),
      await send2026(c.requester, 'tasks/get', { taskId }),
      await send2026(c.manager, 'tasks/get', { taskId: unknown }),
      await send2026(other.manager, 'tasks/cancel', { taskId }),
      await send2026(c.viewer, 'tasks/cancel', { taskId }),
      await send2026(c.manager, 'tasks/cancel', { taskId: unknown }),
      await send2026(other.manager, 'tasks/update', { taskId, inputResponses: {} }),
    ];
    for (const answer of answers) {
      expect(answer.error).toEqual({ code: -32602, message: 'Failed to retrieve task: Task not found' });
    }
    // The task is untouched by the refused cancels.
    expect((await send2026(c.manager, 'tasks/get', { taskId })).result).toMatchObject({ status: 'working' });
    expect((await send2026(c.manager, 'tasks/update', { taskId, inputResponses: {} })).result).toMatchObject({
      resultType: 'complete',
    });
    await send2026(c.manager, 'tasks/cancel', { taskId });
  });

  it.each([
    ['an empty id', ''],
    ['SQL', "exe_1' OR '1'='1"],
    ['a long id', `exe_${'a'.repeat(5000)}`],
    ['unicode', 'exe_\u202e\u0000'],
    ['a change id', 'CHG-000001'],
  ])('answers -32602 for %s, never a 500', async (_label, taskId) => {
    const c = await freshCast();
    for (const method of ['tasks/get', 'tasks/cancel']) {
      const res = await rawMcp(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { taskId, _meta: envelope(true) } }),
        {
          authorization: `Bearer ${c.manager}`,
          'mcp-protocol-version': REVISION,
          'mcp-method': method,
          'mcp-name': `=?base64?${btoa(unescape(encodeURIComponent(taskId)))}?=`,
        },
        PATH,
      );
      expect(res.status).toBeLessThan(500);
      expect(((await res.json()) as Rpc).error?.code).toBe(-32602);
    }
  });

  it('refuses a taskId that is not a string as invalid params', async () => {
    const c = await freshCast();
    const { error } = await send2026(c.manager, 'tasks/get', { taskId: 42 });
    expect(error?.code).toBe(-32602);
  });
});

describe('tasks on 2025-11-25 (core, experimental)', () => {
  it('advertises tasks for tools/call and marks execute_workflow as taking them', async () => {
    const c = await freshCast();
    const init = await send2025(c.manager, 'initialize', {
      protocolVersion: '2025-11-25',
      capabilities: {},
      clientInfo: { name: 'tasks-test', version: '1' },
    });
    expect(init.result?.capabilities).toMatchObject({
      tasks: { cancel: {}, requests: { tools: { call: {} } } },
    });
    expect(init.result?.capabilities).not.toHaveProperty('tasks.list');
    const tools: { name: string; execution?: unknown }[] = [];
    let cursor: string | undefined;
    do {
      const { result } = await send2025(c.manager, 'tools/list', cursor ? { cursor } : {});
      tools.push(...((result?.tools ?? []) as typeof tools));
      cursor = result?.nextCursor as string | undefined;
    } while (cursor);
    expect(tools.find((t) => t.name === 'execute_workflow')?.execution).toEqual({ taskSupport: 'optional' });
    expect(tools.filter((t) => t.execution !== undefined)).toHaveLength(1);
  });

  it('starts a task, reports it with tasks/get, and hands out the result with tasks/result', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, PING());
    const { result: created } = await send2025(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
      task: { ttl: 60_000 },
    });
    const task = created?.task as Record<string, unknown>;
    expect(task).toMatchObject({
      status: 'working',
      ttl: null,
      pollInterval: 2000,
      taskId: expect.stringMatching(/^exe_/),
    });
    expect(created).not.toHaveProperty('content');
    const taskId = task.taskId as string;
    // tasks/result holds the answer until the run ends.
    const { result } = await send2025(c.manager, 'tasks/result', { taskId });
    expect(result).toMatchObject({
      structuredContent: { id: taskId, status: 'SUCCEEDED' },
      _meta: { 'io.modelcontextprotocol/related-task': { taskId } },
    });
    expect(validates('execute_workflow', result?.structuredContent)).toBe(true);
    const { result: got } = await send2025(c.manager, 'tasks/get', { taskId });
    expect(got).toMatchObject({
      taskId,
      status: 'completed',
      statusMessage: expect.stringMatching(/SUCCEEDED/),
    });
    expect(got).not.toHaveProperty('result');
    // Tasks of other callers are not listed: there is no tasks/list.
    expect((await send2025(c.manager, 'tasks/list', {})).error?.code).toBe(-32601);
  });

  it('refuses a run that writes without confirm: true, and makes a task of it with it', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, POST());
    const call = { name: 'execute_workflow', arguments: { workflowId: wf }, task: {} };
    const { result: refused } = await send2025(c.manager, 'tools/call', call);
    expect(refused).toMatchObject({ isError: true });
    expect(refused).not.toHaveProperty('task');
    const { result: created } = await send2025(c.manager, 'tools/call', {
      ...call,
      arguments: { workflowId: wf, confirm: true },
    });
    expect(created?.task).toMatchObject({ status: 'working' });
  });

  it('reports a failed run as failed, with the error result from tasks/result', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, MISSING());
    const { result: created } = await send2025(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
      task: {},
    });
    const taskId = (created?.task as { taskId: string } | undefined)?.taskId as string;
    const { result } = await send2025(c.manager, 'tasks/result', { taskId });
    expect(result).toMatchObject({ isError: true, structuredContent: { status: 'FAILED' } });
    expect((await send2025(c.manager, 'tasks/get', { taskId })).result).toMatchObject({ status: 'failed' });
  });

  it('cancels with tasks/cancel, and refuses to cancel a task that has ended', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, HOUR);
    const { result: created } = await send2025(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
      task: {},
    });
    const taskId = (created?.task as { taskId: string } | undefined)?.taskId as string;
    const { result: cancelling } = await send2025(c.manager, 'tasks/cancel', { taskId });
    expect(cancelling).toMatchObject({ taskId });
    expect(['working', 'cancelled']).toContain(cancelling?.status);
    const { result } = await send2025(c.manager, 'tasks/result', { taskId });
    expect(result).toMatchObject({ isError: true, structuredContent: { status: 'CANCELLED' } });
    expect((await send2025(c.manager, 'tasks/get', { taskId })).result).toMatchObject({
      status: 'cancelled',
    });
    const again = await send2025(c.manager, 'tasks/cancel', { taskId });
    expect(again.error?.code).toBe(-32602);
    expect(again.error?.message).toMatch(/already ended/);
  });

  it('answers another tenant and a lower role as for a task that does not exist', async () => {
    const c = await freshCast();
    const other = await freshCast();
    const wf = await workflow(c.manager, HOUR);
    const { result: created } = await send2025(c.manager, 'tools/call', {
      name: 'execute_workflow',
      arguments: { workflowId: wf },
      task: {},
    });
    const taskId = (created?.task as { taskId: string } | undefined)?.taskId as string;
    for (const [who, method] of [
      [other.manager, 'tasks/get'],
      [c.viewer, 'tasks/get'],
      [other.manager, 'tasks/result'],
      [other.manager, 'tasks/cancel'],
      [c.viewer, 'tasks/cancel'],
    ] as const) {
      const { error } = await send2025(who, method, { taskId });
      expect(error).toEqual({ code: -32602, message: 'Failed to retrieve task: Task not found' });
    }
    await send2025(c.manager, 'tasks/cancel', { taskId });
  });

  it('gives an earlier 2025 revision (no tasks) the plain result, and no task methods', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, PING());
    const { result } = await send2025(
      c.manager,
      'tools/call',
      { name: 'execute_workflow', arguments: { workflowId: wf }, task: {} },
      '2025-06-18',
    );
    expect(result).toMatchObject({ structuredContent: { status: 'PENDING' } });
    expect(result).not.toHaveProperty('task');
    const id = (result?.structuredContent as { id: string } | undefined)?.id as string;
    expect((await send2025(c.manager, 'tasks/get', { taskId: id }, '2025-06-18')).error?.code).toBe(-32601);
    const agent = await mcpClient(c.manager, { protocolVersion: '2025-06-18' });
    expect((await agent.listTools()).tools.every((t) => t.execution === undefined)).toBe(true);
  });

  it('gives a 2025-11-25 call without the task param the plain result', async () => {
    const c = await freshCast();
    const wf = await workflow(c.manager, PING());
    const agent = await mcpClient(c.manager, { era: 'legacy' });
    const plain = await callTool(agent, 'execute_workflow', { workflowId: wf });
    expect(plain.structuredContent).toMatchObject({ status: 'PENDING' });
  });
});

/**
 * The Tasks extension's own client (@modelcontextprotocol/ext-tasks) drives a task to its end,
 * in both eras, over an SDK client connected to /mcp/all: what a task-aware host does.
 */
describe('with the official Tasks client', () => {
  /** The host's raw request path for 2026-07-28 task traffic, which the SDK client does not carry. */
  const rawDispatch = (token: string) => async (request: unknown) => {
    const r = request as { method: string; params?: { name?: unknown; taskId?: unknown } };
    const name = r.params?.name ?? r.params?.taskId;
    // The coordinator frames the message; the package hands it the method and params.
    const res = await rawMcp(
      JSON.stringify({ jsonrpc: '2.0', id: 1, ...r }),
      {
        authorization: `Bearer ${token}`,
        'mcp-protocol-version': REVISION,
        'mcp-method': r.method,
        ...(typeof name === 'string' ? { 'mcp-name': name } : {}),
      },
      PATH,
    );
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
    return body.error
      ? { kind: 'error' as const, error: body.error }
      : { kind: 'result' as const, result: body.result as never };
  };

  it.each(['modern', 'legacy'] as const)(
    'runs execute_workflow as a task to completion (%s)',
    async (era) => {
      const c = await freshCast();
      const wf = await workflow(c.manager, PING());
      const client = await mcpClient(c.manager, { era });
      const endpointId = 'changeflow-test';
      const session =
        era === 'modern'
          ? createTaskSessionFromClient(client, {
              endpointId,
              rawDispatch: rawDispatch(c.manager),
              v2RequestFraming: {
                protocolVersion: REVISION,
                clientInfo: { name: 'tasks-test', version: '1.0.0' },
                clientCapabilities: {},
              },
            })
          : createTaskSessionFromClient(client, { endpointId });
      try {
        const execution = await session.callTool(
          'execute_workflow',
          { workflowId: wf },
          { task: { preference: 'require' } },
        );
        expect(execution.kind).toBe('task');
        const { outcome } = await execution.settle();
        const result = resultFromTaskOutcome(outcome) as { structuredContent?: Record<string, unknown> };
        expect(result.structuredContent).toMatchObject({ status: 'SUCCEEDED', workflowId: wf });
      } finally {
        await session.close();
      }
    },
  );
});
