import { Validator } from '@cfworker/json-schema';
import {
  type CacheHint,
  type CallToolResult,
  type InputRequiredResult,
  isInputRequiredResult,
  type JSONRPCRequest,
  ProtocolError,
  ProtocolErrorCode,
  ResourceNotFoundError,
  type Result,
  Server,
  type ServerContext,
  specTypeSchemas,
} from '@modelcontextprotocol/server';
import type { Principal } from '../domain/principal';
import type { Decision } from '../ratelimit/slidingWindow';
import { ACTION_ARG, actionOf } from './actions';
import { APP_MIME_TYPE, APP_RESOURCE_META, type AppPages, MCP_APPS, type McpApp } from './apps';
import { boundResourceContent, boundToolResult, TRUNCATION_META_KEY } from './bounds';
import { IDEMPOTENCY_ARG, type McpCatalog, type ToolDefinition } from './catalog';
import { CONFIRM_ARG, confirmationGate } from './confirmation';
import type { JsonSchema } from './jsonSchema';
import { waitWithProgress } from './progress';
import { cabReviewText, draftChangeRequestText, PROMPTS } from './prompts';
import {
  createdTask,
  registerTaskHandlers,
  TASK_TOOL,
  TaskCreated,
  type TaskProtocol,
  taskCapabilities,
  toolExecution,
  wantsTask,
} from './tasks';
import { notOfferedMessage, offers, type ToolSelection } from './toolsets';
import { scopesAllow } from './visibility';

/** The spec types whose params a request of each method we serve must match. */
const REQUEST_TYPES = {
  'tools/list': 'ListToolsRequest',
  'tools/call': 'CallToolRequest',
  'resources/list': 'ListResourcesRequest',
  'resources/templates/list': 'ListResourceTemplatesRequest',
  'resources/read': 'ReadResourceRequest',
  'prompts/list': 'ListPromptsRequest',
  'prompts/get': 'GetPromptRequest',
} as const;

/**
 * The SDK's Server, checking each request's params before the SDK does: the SDK fails bad params
 * of most methods as an internal error (-32603); they are the caller's mistake (-32602).
 * `_wrapHandler` is the SDK's documented hook for per-method validation in subclasses.
 */
class CheckedServer extends Server {
  protected override _wrapHandler(
    method: string,
    handler: (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result>,
  ): (request: JSONRPCRequest, ctx: ServerContext) => Promise<Result> {
    const wrapped = super._wrapHandler(method, handler);
    // A task is not a CallToolResult, which the SDK's tools/call wrapper insists on: the handler
    // throws it past that check (src/mcp/tasks.ts), and it is the answer.
    const inner =
      method === 'tools/call'
        ? async (request: JSONRPCRequest, ctx: ServerContext) => {
            try {
              return await wrapped(request, ctx);
            } catch (e) {
              if (e instanceof TaskCreated) return e.result;
              throw e;
            }
          }
        : wrapped;
    const type = REQUEST_TYPES[method as keyof typeof REQUEST_TYPES];
    if (!type) return inner;
    return async (request, ctx) => {
      const checked = await specTypeSchemas[type]['~standard'].validate(request);
      const issue = checked.issues?.[0];
      if (issue) {
        const path = (issue.path ?? []).map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
        throw new ProtocolError(
          ProtocolErrorCode.InvalidParams,
          `Invalid ${method} params: ${path ? `${path}: ` : ''}${issue.message}`,
        );
      }
      return inner(request, ctx);
    };
  }
}

/** A GraphQL result as Yoga returns it. */
export interface OperationResult {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** Runs a generated document through the GraphQL pipeline on behalf of the caller (the port to Yoga). */
export type ExecuteOperation = (
  document: string,
  variables: Record<string, unknown>,
  toolName: string | null,
  idempotencyKey?: string,
) => Promise<OperationResult>;

/** A per-tool budget: a tool's name, `resource:<template>` or `prompt:<name>`. */
export interface ToolBudget {
  name: string;
  readOnly: boolean;
}

export interface McpServerDeps {
  /** Told the outcome of every tool call (for the metrics). */
  observeToolCall?: ((tool: string, outcome: 'ok' | 'error') => void) | null;
  /**
   * The per-tool rate limit (mutations tighter than reads), also per resource template and per
   * prompt; none when the runtime has no limiter.
   */
  limitTool?: ((budget: ToolBudget) => Promise<Decision>) | null;
  catalog: McpCatalog;
  principal: Principal;
  /** The toolsets this request asked for, and whether it is read-only. */
  selection: ToolSelection;
  execute: ExecuteOperation;
  version: string;
  /** How this request's protocol speaks of tasks (src/mcp/tasks.ts); none when unset. */
  tasks?: TaskProtocol;
  /** Where the MCP Apps' pages are read from (src/mcp/apps.ts); none: reading one fails. */
  appPages?: AppPages | null;
}

/** Tools per `tools/list` page (the SDK client walks the pages for its caller). */
export const TOOLS_PAGE_SIZE = 20;

/** An opaque cursor for the page starting at `offset`. */
const cursorFor = (offset: number) => btoa(`tools:${offset}`).replace(/=+$/, '');

/** The offset a cursor stands for; a cursor we did not hand out is the caller's mistake. */
function offsetOf(cursor: string | undefined, total: number): number {
  if (cursor === undefined) return 0;
  let decoded = '';
  try {
    decoded = atob(cursor);
  } catch {
    // not base64: refused below
  }
  const offset = /^tools:(\d{1,6})$/.exec(decoded)?.[1];
  if (offset === undefined || Number(offset) >= total) {
    throw new ProtocolError(
      ProtocolErrorCode.InvalidParams,
      'Invalid cursor: pass a nextCursor from tools/list as it is',
    );
  }
  return Number(offset);
}

const validators = new WeakMap<JsonSchema, Validator>();

function validatorFor(schema: JsonSchema): Validator {
  let v = validators.get(schema);
  if (!v) {
    v = new Validator(schema as never, '2020-12', false);
    validators.set(schema, v);
  }
  return v;
}

function errorResult(code: string, message: string, details: Record<string, unknown> = {}): CallToolResult {
  const error = { code, message, ...details };
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error }) }] };
}

/** The input schema of the value at `path` (property names and array indexes). */
function schemaAt(schema: JsonSchema, path: string[]): JsonSchema | undefined {
  let at: JsonSchema | undefined = schema;
  for (const key of path) at = /^\d+$/.test(key) && at?.items ? at.items : at?.properties?.[key];
  return at;
}

/** Argument errors, each naming the field (`input.title`), from the tool's (or action's) input schema. */
function argumentIssues(inputSchema: JsonSchema, args: unknown) {
  const result = validatorFor(inputSchema).validate(args);
  if (result.valid) return [];
  const seen = new Set<string>();
  const issues: { field: string; message: string }[] = [];
  // cfworker reports the failing leaf and every enclosing schema; keep the most specific ones.
  for (const e of result.errors) {
    // `false` is the additionalProperties schema itself, reported below on the property.
    if (['properties', 'items', '$ref', 'false'].includes(e.keyword)) continue;
    const path = e.instanceLocation.replace(/^#\/?/, '').split('/').filter(Boolean);
    let message = e.error;
    // A missing or unknown property is reported on its parent; name the property itself.
    const property = /property "([^"]+)"/i.exec(e.error)?.[1];
    if (e.keyword === 'required' && property) path.push(property);
    if (e.keyword === 'additionalProperties' && property) {
      const known = Object.keys(schemaAt(inputSchema, path)?.properties ?? {});
      message = `Unknown property "${property}"; expected ${known.length ? `one of: ${known.join(', ')}` : 'none'}`;
      path.push(property);
    }
    const field = path.join('.') || '(arguments)';
    const key = `${field}:${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ field, message });
  }
  return issues;
}

async function callTool(
  deps: McpServerDeps,
  tool: ToolDefinition,
  args: Record<string, unknown>,
  ctx: ServerContext,
  asTask = false,
): Promise<CallToolResult | InputRequiredResult | TaskCreated> {
  if (!scopesAllow(deps.principal, tool.authScopes)) {
    return errorResult(
      'FORBIDDEN',
      `Your roles (${deps.principal.roles.join(', ')}) may not call ${tool.name}`,
    );
  }
  // A tool of several actions checks the action's own arguments and scopes (src/mcp/actions.ts).
  const action = actionOf(tool, args);
  if (action && !scopesAllow(deps.principal, action.authScopes)) {
    return errorResult(
      'FORBIDDEN',
      `Your roles (${deps.principal.roles.join(', ')}) may not call ${tool.name} with action ${String(args[ACTION_ARG])}`,
    );
  }
  const issues = argumentIssues(action?.inputSchema ?? tool.inputSchema, args);
  if (issues.length) {
    const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
    return errorResult('VALIDATION_FAILED', `Invalid arguments: ${summary}`, { issues });
  }
  if (deps.limitTool) {
    const decision = await deps.limitTool({
      name: tool.name,
      readOnly: tool.annotations.readOnlyHint ?? false,
    });
    if (!decision.allowed) {
      return errorResult(
        'RATE_LIMITED',
        `Too many ${tool.name} calls (${decision.limit} per minute); retry after ${decision.retryAfterSeconds} s`,
        { retryAfterSeconds: decision.retryAfterSeconds },
      );
    }
  }
  const gate = await confirmationGate(tool.name, args, deps.execute, ctx);
  if (!gate.proceed) return 'ask' in gate ? gate.ask : errorResult(gate.refuse.code, gate.refuse.message);
  // The idempotency key and the confirmation are properties of the call, not GraphQL arguments.
  const { [IDEMPOTENCY_ARG]: idempotencyKey, [CONFIRM_ARG]: _confirm, ...rest } = args;
  // `action` picks a tool of several's document; it is no GraphQL argument.
  const { [ACTION_ARG]: _action, ...own } = rest;
  const variables = action ? own : rest;
  const run = action ?? tool;
  const result =
    tool.reportsProgress && ctx.mcpReq._meta?.progressToken !== undefined
      ? await waitWithProgress(tool, variables, deps.execute, ctx)
      : await deps.execute(
          run.document,
          variables,
          tool.name,
          typeof idempotencyKey === 'string' ? idempotencyKey : undefined,
        );
  if (result.errors?.length) {
    const [first] = result.errors;
    const code = String(first?.extensions?.code ?? 'GRAPHQL_ERROR');
    const { http: _http, code: _code, ...details } = first?.extensions ?? {};
    return errorResult(code, result.errors.map((e) => e.message).join('; '), details);
  }
  const value = result.data?.[run.fieldName];
  // The run started: a client that supports tasks follows it as one.
  if (asTask) return createdTask(deps, deps.tasks ?? null, String((value as { id: unknown }).id));
  const structured = (run.wrapKey ? { [run.wrapKey]: value } : value) as Record<string, unknown>;
  // Reads that return a page too large are asked for again with a smaller page (src/mcp/bounds.ts).
  return boundToolResult(tool, structured, variables, (first) =>
    deps.execute(tool.document, { ...variables, first }, tool.name),
  );
}

/**
 * A URI component encoded or decoded: malformed percent-encoding or a lone surrogate (a URIError,
 * otherwise an internal error) is the caller's mistake.
 */
function uriComponent(code: (s: string) => string, value: string, what: string): string {
  try {
    return code(value);
  } catch (e) {
    if (!(e instanceof URIError)) throw e;
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `${what} is malformed: ${e.message}`);
  }
}

/** JSON-RPC code of a refusal over a rate limit (as the HTTP 429 body of /mcp). */
export const RATE_LIMITED_RPC_CODE = -32029;

/**
 * Spends one unit of a resource template's or a prompt's budget, as a tool call spends its
 * tool's; over it, a JSON-RPC error (-32029, `data.code` RATE_LIMITED, `retryAfterSeconds`).
 */
async function spend(deps: McpServerDeps, name: string, readOnly = true): Promise<void> {
  if (!deps.limitTool) return;
  const decision = await deps.limitTool({ name, readOnly });
  if (decision.allowed) return;
  throw new ProtocolError(
    RATE_LIMITED_RPC_CODE,
    `Too many ${name} requests (${decision.limit} per minute); retry after ${decision.retryAfterSeconds} s`,
    { code: 'RATE_LIMITED', retryAfterSeconds: decision.retryAfterSeconds },
  );
}

/**
 * The Apps a caller may open: those offered by a tool its roles may call (the page only shows
 * what those tools return, and its buttons call tools that are checked again).
 */
export const appsOpenTo = (catalog: McpCatalog, principal: Principal): McpApp[] =>
  MCP_APPS.filter((app) =>
    catalog.tools.some((t) => t._meta?.ui.resourceUri === app.uri && scopesAllow(principal, t.authScopes)),
  );

async function readApp(deps: McpServerDeps, app: McpApp) {
  if (!appsOpenTo(deps.catalog, deps.principal).includes(app)) {
    throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `Your roles may not read ${app.uri}`);
  }
  await spend(deps, `resource:${app.name}`);
  const html = await deps.appPages?.(app);
  if (!html) {
    // A deployment without its static assets (scripts/buildAssets.mjs did not run): the operator's to fix.
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      `${app.uri} is not available on this server: its page was not deployed with it`,
    );
  }
  return {
    contents: [{ uri: app.uri, mimeType: APP_MIME_TYPE, text: html, _meta: APP_RESOURCE_META }],
  };
}

async function readResource(deps: McpServerDeps, uri: string, budget = true) {
  const app = MCP_APPS.find((a) => a.uri === uri);
  if (app) return readApp(deps, app);
  for (const template of deps.catalog.resourceTemplates) {
    const match = template.pattern.exec(uri);
    if (!match) continue;
    if (!scopesAllow(deps.principal, template.authScopes)) {
      throw new ProtocolError(
        ProtocolErrorCode.InvalidRequest,
        `Your roles may not read ${template.uriTemplate}`,
      );
    }
    if (budget) await spend(deps, `resource:${template.name}`);
    const what = `Resource URI ${JSON.stringify(uri)}`;
    const variables = Object.fromEntries(
      template.variables.map((v, i) => [v, uriComponent(decodeURIComponent, match[i + 1] ?? '', what)]),
    );
    const read = async (vars: Record<string, unknown>) => {
      const result = await deps.execute(template.document, vars, `resource:${template.name}`);
      if (result.errors?.length) {
        const [first] = result.errors;
        const message = `${String(first?.extensions?.code ?? 'ERROR')}: ${first?.message}`;
        if (first?.extensions?.code === 'CHANGE_NOT_FOUND') throw new ResourceNotFoundError(uri, message);
        throw new ProtocolError(ProtocolErrorCode.InvalidRequest, message, { uri });
      }
      return result.data?.[template.fieldName] ?? null;
    };
    const pages = /\$first\b/.test(template.document);
    const bounded = await boundResourceContent(
      await read(variables),
      template.contentSchema,
      pages ? (first) => read({ ...variables, first }) : undefined,
    );
    if (!bounded.ok) {
      throw new ProtocolError(ProtocolErrorCode.InvalidRequest, `${bounded.code}: ${bounded.message}`, {
        uri,
        ...bounded.details,
      });
    }
    const text = JSON.stringify(bounded.value);
    const note = [
      bounded.shorterPage === undefined ? null : `only the first ${bounded.shorterPage} item(s) fit`,
      bounded.note,
    ].filter(Boolean);
    if (!note.length) return { contents: [{ uri, mimeType: template.mimeType, text }] };
    const _meta = {
      [TRUNCATION_META_KEY]: {
        originalBytes: bounded.originalBytes,
        bytes: bounded.bytes,
        note: `Note: ${note.join('; ')}`,
      },
    };
    return { contents: [{ uri, mimeType: template.mimeType, text, _meta }] };
  }
  throw new ResourceNotFoundError(uri);
}

/**
 * How long a client may keep a list: the catalog changes only on deploy. Private, because what a
 * caller sees depends on its roles.
 */
const LIST_CACHE: CacheHint = { ttlMs: 10 * 60_000, cacheScope: 'private' };

/**
 * A stateless MCP server for one request, with the caller's identity bound in. The low-level
 * Server, not McpServer: the tool set is computed per request from the schema-generated catalog
 * and the caller's roles, and arguments are validated against the same JSON Schema we publish.
 */
export function createMcpServer(given: McpServerDeps): Server {
  // Tasks are execute_workflow's: a catalog without it (a schema of its own in tests) has none.
  const deps = { ...given, tasks: given.catalog.toolsByName.has(TASK_TOOL) ? (given.tasks ?? null) : null };
  const server = new CheckedServer(
    { name: 'changeflow', title: 'ChangeFlow', version: deps.version },
    {
      capabilities: { tools: {}, resources: {}, prompts: {}, ...taskCapabilities(deps.tasks ?? null) },
      cacheHints: {
        'server/discover': LIST_CACHE,
        'tools/list': LIST_CACHE,
        'prompts/list': LIST_CACHE,
        'resources/list': LIST_CACHE,
        'resources/templates/list': LIST_CACHE,
      },
      instructions:
        'ChangeFlow manages ITIL change requests. Create a change, submit it (risk is assessed), collect CAB ' +
        'approvals, schedule it, then record implementation. Every call is audited under your identity.',
    },
  );
  const { catalog, principal } = deps;

  const offered = catalog.tools.filter(
    (t) => scopesAllow(principal, t.authScopes) && offers(deps.selection, t),
  );
  server.setRequestHandler('tools/list', (request) => {
    const offset = offsetOf(request.params?.cursor, offered.length);
    const next = offset + TOOLS_PAGE_SIZE;
    return {
      tools: offered.slice(offset, next).map((t) => ({
        name: t.name,
        title: t.title,
        description: t.description,
        inputSchema: t.inputSchema as { type: 'object' },
        outputSchema: t.outputSchema as { type: 'object' },
        annotations: t.annotations,
        ...toolExecution(deps.tasks ?? null, t),
        ...(t._meta ? { _meta: t._meta } : {}),
      })),
      ...(next < offered.length ? { nextCursor: cursorFor(next) } : {}),
    };
  });

  server.setRequestHandler('tools/call', async (request, ctx) => {
    const tool = catalog.toolsByName.get(request.params.name);
    if (!tool)
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
    // Read-only and toolsets are what this connection offers; the roles are checked in callTool.
    if (!offers(deps.selection, tool))
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, notOfferedMessage(deps.selection, tool));
    const asTask = tool.name === TASK_TOOL && wantsTask(deps.tasks ?? null, request.params, ctx);
    const result = await callTool(deps, tool, request.params.arguments ?? {}, ctx, asTask);
    // A round that asks the user is not a call yet: the retry that follows is.
    if (isInputRequiredResult(result)) return result;
    deps.observeToolCall?.(tool.name, result instanceof TaskCreated || !result.isError ? 'ok' : 'error');
    if (result instanceof TaskCreated) throw result;
    return result;
  });
  if (deps.tasks) registerTaskHandlers(server, deps, (name, readOnly) => spend(deps, name, readOnly));

  const visible = () => catalog.resourceTemplates.filter((r) => scopesAllow(principal, r.authScopes));
  // A template without placeholders is one fixed resource (e.g. changeflow://metrics).
  server.setRequestHandler('resources/list', () => ({
    resources: [
      ...visible()
        .filter((r) => r.variables.length === 0)
        .map(({ uriTemplate, name, title, description, mimeType }) => ({
          uri: uriTemplate,
          name,
          title,
          description,
          mimeType,
        })),
      ...appsOpenTo(catalog, principal).map(({ uri, name, title, description }) => ({
        uri,
        name,
        title,
        description,
        mimeType: APP_MIME_TYPE,
        _meta: APP_RESOURCE_META,
      })),
    ],
  }));
  server.setRequestHandler('resources/templates/list', () => ({
    resourceTemplates: visible()
      .filter((r) => r.variables.length > 0)
      .map(({ uriTemplate, name, title, description, mimeType }) => ({
        uriTemplate,
        name,
        title,
        description,
        mimeType,
      })),
  }));
  server.setRequestHandler('resources/read', (request) => readResource(deps, request.params.uri));

  server.setRequestHandler('prompts/list', () => ({ prompts: PROMPTS }));
  server.setRequestHandler('prompts/get', async (request) => {
    const args = request.params.arguments ?? {};
    // Known prompts only: a budget per name an attacker makes up would be a budget per request.
    if (PROMPTS.some((p) => p.name === request.params.name))
      await spend(deps, `prompt:${request.params.name}`);
    const need = (name: string) => {
      const v = args[name];
      if (!v?.trim())
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Prompt argument "${name}" is required`);
      return v;
    };
    if (request.params.name === 'draft_change_request') {
      return {
        description: 'Draft a change request',
        messages: [
          { role: 'user', content: { type: 'text', text: draftChangeRequestText(need('description')) } },
        ],
      };
    }
    if (request.params.name === 'prepare_cab_review') {
      const changeId = need('changeId');
      const uri = `changeflow://changes/${uriComponent(encodeURIComponent, changeId, 'Prompt argument "changeId"')}`;
      // Paid for by the prompt's budget: the read inside it does not count a second time.
      const { contents } = await readResource(deps, uri, false);
      return {
        description: `CAB review of ${changeId}`,
        messages: [
          { role: 'user', content: { type: 'text', text: cabReviewText(changeId) } },
          {
            role: 'user',
            content: { type: 'resource', resource: contents[0] as { uri: string; text: string } },
          },
        ],
      };
    }
    throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown prompt: ${request.params.name}`);
  });

  return server;
}
