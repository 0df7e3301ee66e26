import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  MissingRequiredClientCapabilityError,
  ProtocolError,
  ProtocolErrorCode,
  RELATED_TASK_META_KEY,
  type Result,
  type Server,
  type ServerCapabilities,
  type ServerContext,
} from '@modelcontextprotocol/server';
import * as z from 'zod';
import { type ExecutionStatus, isTerminalExecution } from '../domain/types';
import { boundToolResult } from './bounds';
import type { ToolDefinition } from './catalog';
import type { McpServerDeps, OperationResult } from './server';
import { notOfferedMessage, offers } from './toolsets';
import { scopesAllow } from './visibility';

/**
 * MCP tasks for execute_workflow: a client that supports them gets a task instead of the
 * execution just started, and polls it until the run ends. The task is the execution (its id is
 * the task id, an unguessable `exe_<uuid>`), so there is no task store: every `tasks/*` request,
 * on any isolate, reads the execution from the database through the GraphQL pipeline, under the
 * caller's identity and tenant, as the tools do.
 *
 * Two wire forms. 2026-07-28: the Tasks extension `io.modelcontextprotocol/tasks` (SEP-2663),
 * declared by the client in each request's capabilities; `tools/call` answers
 * `resultType: "task"`, `tasks/get` carries the final CallToolResult once the task completed,
 * `tasks/update` and `tasks/cancel`, no `tasks/list`. 2025-11-25: the core (experimental) tasks,
 * asked for with a `task` param on `tools/call` of a tool whose `execution.taskSupport` allows
 * it; `tasks/get`, `tasks/result` (held until the run ends) and `tasks/cancel`. `tasks/list` is
 * not offered (the capability says so): the extension dropped it for leaking other callers' tasks.
 */
export const TASKS_EXTENSION = 'io.modelcontextprotocol/tasks';
/** The one tool that answers with a task. */
export const TASK_TOOL = 'execute_workflow';
/** The first protocol revision with tasks (core and experimental there). */
const FIRST_TASKS_REVISION = '2025-11-25';
/** How often a client should poll: the engine records a step's end at once, a run takes seconds. */
const POLL_INTERVAL_MS = 2000;

/** How this request's protocol speaks of tasks: the extension (2026-07-28), core (2025-11-25), or not. */
export type TaskProtocol = 'extension' | 'core' | null;

/** Whether a 2025-era protocol version has tasks (versions are dates, later ones compare greater). */
export const legacyTaskProtocol = (version: string): TaskProtocol =>
  version >= FIRST_TASKS_REVISION ? 'core' : null;

/** What the server advertises: the extension in `server/discover`, the core capability in `initialize`. */
export function taskCapabilities(protocol: TaskProtocol): ServerCapabilities {
  if (protocol === 'extension') return { extensions: { [TASKS_EXTENSION]: {} } };
  if (protocol === 'core') return { tasks: { cancel: {}, requests: { tools: { call: {} } } } };
  return {};
}

/** The `execution` a 2025-11-25 `tools/list` shows on the task tool (the extension needs none). */
export const toolExecution = (protocol: TaskProtocol, tool: ToolDefinition) =>
  protocol === 'core' && tool.name === TASK_TOOL ? { execution: { taskSupport: 'optional' as const } } : {};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether the 2026-07-28 client declared the extension on this request (each request says it anew). */
function declaresExtension(ctx: ServerContext): boolean {
  const capabilities = ctx.mcpReq.envelope?.[CLIENT_CAPABILITIES_META_KEY as never] as unknown;
  return (
    isObject(capabilities) &&
    isObject(capabilities.extensions) &&
    isObject(capabilities.extensions[TASKS_EXTENSION])
  );
}

/** Whether this `tools/call` of the task tool should answer with a task. */
export function wantsTask(protocol: TaskProtocol, params: { task?: unknown }, ctx: ServerContext): boolean {
  if (protocol === 'extension') return declaresExtension(ctx);
  return protocol === 'core' && isObject(params.task);
}

/**
 * A task just created, thrown past the SDK's `tools/call` result check (which knows only
 * CallToolResult) and returned as the answer by the server's handler wrapper.
 */
export class TaskCreated {
  constructor(readonly result: Result) {}
}

/** What a task is read as: enough of the execution for its status and message. */
const TASK_DOCUMENT =
  'query McpTask($id: ID!) { execution(id: $id) { id status createdAt updatedAt endedAt cancelRequestedAt ' +
  'error { code message stepId } steps { stepId status } } }';

interface TaskExecution {
  id: string;
  status: ExecutionStatus;
  createdAt: string;
  updatedAt: string;
  endedAt: string | null;
  cancelRequestedAt: string | null;
  error: { code: string; message: string; stepId: string | null } | null;
  steps: { stepId: string; status: string }[];
}

/** The ids newId('exe') makes; anything else is no task of ours, and is not looked up. */
const TASK_ID = /^exe_[0-9A-Za-z-]{1,64}$/;

/**
 * The one answer for a task that does not exist, belongs to another tenant, or that the caller's
 * roles may not reach: none of them may tell the caller more than the others.
 */
const notFound = () =>
  new ProtocolError(ProtocolErrorCode.InvalidParams, 'Failed to retrieve task: Task not found');

/** Codes of a GraphQL error that mean "not yours to see" for a task. */
const NOT_FOUND_CODES = new Set(['EXECUTION-010', 'FORBIDDEN', 'UNAUTHENTICATED']);

function failure(result: OperationResult): ProtocolError {
  const [first] = result.errors ?? [];
  const code = String(first?.extensions?.code ?? 'GRAPHQL_ERROR');
  if (NOT_FOUND_CODES.has(code)) return notFound();
  return new ProtocolError(ProtocolErrorCode.InternalError, `${code}: ${first?.message ?? 'unknown error'}`);
}

/**
 * The task's status. A FAILED run is a tool error, not a protocol one: the extension keeps
 * `failed` for JSON-RPC errors and reports it as `completed` with an `isError` result, while
 * 2025-11-25 counts a tool result with `isError` as `failed`.
 */
function taskStatus(status: ExecutionStatus, protocol: TaskProtocol) {
  if (status === 'SUCCEEDED') return 'completed' as const;
  if (status === 'FAILED') return protocol === 'core' ? ('failed' as const) : ('completed' as const);
  if (status === 'CANCELLED') return 'cancelled' as const;
  return 'working' as const;
}

function statusMessage(e: TaskExecution): string {
  const last = e.steps.at(-1);
  const where = last ? `; step ${last.stepId} ${last.status}` : '';
  if (e.status === 'FAILED' && e.error) {
    return `Execution FAILED${e.error.stepId ? ` at step ${e.error.stepId}` : ''}: ${e.error.code} ${e.error.message}`;
  }
  const cancelling = !isTerminalExecution(e.status) && e.cancelRequestedAt ? '; cancel requested' : '';
  return `Execution ${e.status}${where}${cancelling}`;
}

function taskOf(e: TaskExecution, protocol: TaskProtocol) {
  const base = {
    taskId: e.id,
    status: taskStatus(e.status, protocol),
    statusMessage: statusMessage(e),
    createdAt: e.createdAt,
    lastUpdatedAt: e.endedAt ?? e.updatedAt,
  };
  // Executions are kept: a task does not expire (null is "unlimited" in both forms).
  return protocol === 'extension'
    ? { ...base, ttlMs: null, pollIntervalMs: POLL_INTERVAL_MS }
    : { ...base, ttl: null, pollInterval: POLL_INTERVAL_MS };
}

function toolNamed(deps: McpServerDeps, name: string): ToolDefinition {
  const tool = deps.catalog.toolsByName.get(name);
  // The catalog is generated from the schema, which defines all three.
  if (!tool) throw new Error(`The MCP catalog has no ${name}`);
  return tool;
}

async function readTask(deps: McpServerDeps, taskId: string, via: string): Promise<TaskExecution> {
  if (!TASK_ID.test(taskId)) throw notFound();
  const result = await deps.execute(TASK_DOCUMENT, { id: taskId }, via);
  if (result.errors?.length) throw failure(result);
  const execution = result.data?.execution as TaskExecution | null | undefined;
  if (!execution) throw notFound();
  return execution;
}

/**
 * The ended task's CallToolResult: the execution as get_execution shows it (which also matches
 * execute_workflow's output schema), within the result bounds; an error result when the run
 * failed or was cancelled.
 */
async function finalResult(deps: McpServerDeps, e: TaskExecution, via: string): Promise<CallToolResult> {
  const tool = toolNamed(deps, 'get_execution');
  const read = await deps.execute(tool.document, { id: e.id }, via);
  if (read.errors?.length) throw failure(read);
  const value = read.data?.[tool.fieldName];
  const result = await boundToolResult(
    tool,
    (tool.wrapKey ? { [tool.wrapKey]: value } : value) as Record<string, unknown>,
    {
      id: e.id,
    },
  );
  return e.status === 'SUCCEEDED' ? result : { ...result, isError: true };
}

/** The CreateTaskResult for an execution execute_workflow just started (read back: durable). */
export async function createdTask(deps: McpServerDeps, protocol: TaskProtocol, executionId: string) {
  const task = taskOf(await readTask(deps, executionId, TASK_TOOL), protocol);
  return new TaskCreated(protocol === 'extension' ? { resultType: 'task', ...task } : { task });
}

type Spend = (name: string, readOnly: boolean) => Promise<void>;

/**
 * This request's task protocol for a `tasks/*` method: a 2026-07-28 request must declare the
 * extension (-32021 otherwise, as the extension asks); a 2025 revision without tasks does not
 * know the method.
 */
function protocolFor(deps: McpServerDeps, ctx: ServerContext, only?: TaskProtocol): TaskProtocol {
  const protocol = deps.tasks ?? null;
  if (protocol === 'extension' && !declaresExtension(ctx)) {
    throw new MissingRequiredClientCapabilityError(
      { requiredCapabilities: { extensions: { [TASKS_EXTENSION]: {} } } },
      'Missing required client capability',
    );
  }
  if (protocol === null || (only !== undefined && protocol !== only)) {
    throw new ProtocolError(ProtocolErrorCode.MethodNotFound, 'Method not found');
  }
  return protocol;
}

/** A task is the caller's to see when its roles may run the task tool (as the tool would check). */
function mayReach(deps: McpServerDeps, tool: ToolDefinition) {
  if (!scopesAllow(deps.principal, tool.authScopes)) throw notFound();
}

const TaskIdParams = z.object({ taskId: z.string() });

/** One run of the wait_for_execution query: how tasks/result holds its answer. */
const WAIT_SECONDS = 25;

export function registerTaskHandlers(server: Server, deps: McpServerDeps, spend: Spend): void {
  const taskTool = toolNamed(deps, TASK_TOOL);

  server.setRequestHandler('tasks/get', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    const protocol = protocolFor(deps, ctx);
    mayReach(deps, taskTool);
    await spend('tasks/get', true);
    const e = await readTask(deps, taskId, 'tasks/get');
    const task = taskOf(e, protocol);
    // The extension inlines the result, as a 2026-07-28 tools/call would have answered it (with
    // its resultType); 2025-11-25 hands it out through tasks/result.
    if (protocol === 'extension' && (e.status === 'SUCCEEDED' || e.status === 'FAILED')) {
      const result = { resultType: 'complete', ...(await finalResult(deps, e, 'tasks/get')) };
      return { ...task, result } as Result;
    }
    return task as Result;
  });

  server.setRequestHandler('tasks/result', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    protocolFor(deps, ctx, 'core');
    mayReach(deps, taskTool);
    await spend('tasks/result', true);
    const wait = toolNamed(deps, 'wait_for_execution');
    let e = await readTask(deps, taskId, 'tasks/result');
    // Held until the run ends, as 2025-11-25 asks, in bounded waits; a client that gives up
    // (aborts the request) stops it.
    while (!isTerminalExecution(e.status)) {
      if (ctx.mcpReq.signal.aborted)
        throw new ProtocolError(ProtocolErrorCode.InternalError, 'Request cancelled');
      const waited = await deps.execute(
        wait.document,
        { id: taskId, timeoutSeconds: WAIT_SECONDS },
        'tasks/result',
      );
      if (waited.errors?.length) throw failure(waited);
      e = await readTask(deps, taskId, 'tasks/result');
    }
    const result = await finalResult(deps, e, 'tasks/result');
    return { ...result, _meta: { ...result._meta, [RELATED_TASK_META_KEY]: { taskId } } } as Result;
  });

  server.setRequestHandler('tasks/cancel', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    const protocol = protocolFor(deps, ctx);
    const cancel = toolNamed(deps, 'cancel_execution');
    mayReach(deps, cancel);
    // As cancel_execution is refused on a read-only connection, so is tasks/cancel.
    if (!offers(deps.selection, cancel)) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, notOfferedMessage(deps.selection, cancel));
    }
    if (!TASK_ID.test(taskId)) throw notFound();
    await spend(cancel.name, false);
    const cancelled = await deps.execute(cancel.document, { id: taskId }, 'tasks/cancel');
    const code = cancelled.errors?.[0]?.extensions?.code;
    if (code === 'EXECUTION-011') {
      // Already ended: the extension acknowledges (cancellation is cooperative there), while
      // 2025-11-25 refuses to cancel a task in a terminal status.
      if (protocol === 'extension') return {};
      throw new ProtocolError(
        ProtocolErrorCode.InvalidParams,
        `Cannot cancel task ${taskId}: it has already ended`,
      );
    }
    if (cancelled.errors?.length) throw failure(cancelled);
    if (protocol === 'extension') return {};
    // 2025-11-25 answers with the task; it shows `cancelled` once the run stopped at its next
    // step boundary (an HTTP call in flight is aborted), `working` with "cancel requested" before.
    return taskOf(await readTask(deps, taskId, 'tasks/cancel'), protocol) as Result;
  });

  // The SDK lifts `inputResponses` out of the params (into ctx.mcpReq) as for any 2026-07-28 request.
  server.setRequestHandler('tasks/update', { params: TaskIdParams }, async ({ taskId }, ctx) => {
    protocolFor(deps, ctx, 'extension');
    mayReach(deps, taskTool);
    await spend('tasks/update', true);
    await readTask(deps, taskId, 'tasks/update');
    // A workflow asks nothing once it runs (the confirmation comes before the task exists), so no
    // request is ever outstanding; the extension asks to ignore responses to such keys.
    return {};
  });
}
