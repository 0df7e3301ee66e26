import { ERRORS } from '../../errors';
import { type IdempotencyClaim, withIdempotency } from '../idempotency';
import type { RouteContext } from '../routes';
import {
  checkTenant,
  EXECUTION_STATUS_IN,
  executionOut,
  type Json,
  LegacyError,
  legacyCode,
  legacyErrorResponse,
  pageIn,
  type Resource,
  statusIn,
  stepsIn,
  triggersIn,
  workflowOut,
} from './orchestratorShapes';

/**
 * The workflow orchestrator's routes, served as it documented them so that its clients work
 * unchanged: `/api/workflows[/:id]`, `/api/executions[/:id][/cancel]`. Each runs GraphQL
 * operations through Yoga (authentication, roles, limits, audit with source `rest`), and its
 * errors carry the orchestrator's codes, mapped from ours, with the HTTP status of our error.
 */

const WORKFLOW = 'id name description steps triggers status createdAt updatedAt';
const EXECUTION =
  'id workflowId status inputs outputs error { code message } trigger startedAt endedAt createdAt updatedAt';

interface Call {
  ctx: RouteContext;
  resource: Resource;
  creating: boolean;
  claim?: IdempotencyClaim;
}

/** Runs one operation through Yoga; its first error becomes a LegacyError. */
async function run(call: Call, query: string, variables: Json): Promise<Json> {
  const { ctx } = call;
  const response = await ctx.yoga.fetch(
    new Request('http://changeflow.internal/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query, variables }),
    }),
    { ...ctx.serverContext, source: 'rest', ...(call.claim ? { idempotency: call.claim } : {}) },
  );
  const body = (await response.json()) as {
    data?: Json | null;
    errors?: { message: string; extensions?: Json }[];
  };
  const error = body.errors?.[0];
  if (error || !body.data) {
    const ours = String(error?.extensions?.code ?? 'INTERNAL');
    const status = ERRORS[ours as keyof typeof ERRORS]?.status ?? response.status;
    const { code: _c, http: _h, ...details } = error?.extensions ?? {};
    const code = legacyCode(call.resource, ours, status, call.creating);
    throw new LegacyError(code, error?.message ?? 'Unexpected error', status, { code: ours, ...details });
  }
  return body.data;
}

async function jsonBody(request: Request, code: string): Promise<Json> {
  const text = await request.text();
  let body: unknown;
  try {
    body = JSON.parse(text || '{}');
  } catch {
    throw new LegacyError(code, 'The body is not JSON', 400);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new LegacyError(code, 'The body must be a JSON object', 400);
  }
  return body as Json;
}

const answer = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });

function tenantOf(ctx: RouteContext): string {
  const { principal } = ctx.auth;
  if (!principal) {
    const message =
      ctx.auth.error?.message ??
      'Authentication required: send "X-API-Key" or "Authorization: Bearer <token>"';
    throw new LegacyError('UNAUTHENTICATED', message, 401);
  }
  return principal.tenantId;
}

/** The workflow fields of a create (all required but description) or an update (all optional). */
function workflowInput(body: Json, creating: boolean): Json {
  if (creating) {
    const missing = ['name', 'steps'].filter((f) => body[f] === undefined || body[f] === null);
    if (missing.length) {
      throw new LegacyError('WORKFLOW-001', `Missing required fields: ${missing.join(', ')}`, 400, {
        missing,
      });
    }
  }
  const input: Json = {};
  if (body.name !== undefined) input.name = body.name;
  if (body.description !== undefined) input.description = body.description;
  if (body.steps !== undefined) input.steps = stepsIn(body.steps, 'WORKFLOW-003');
  if (body.triggers !== undefined) input.triggers = triggersIn(body.triggers, 'WORKFLOW-003');
  return input;
}

/** Sets a workflow's status when the request asks for another than it has. */
async function settleStatus(call: Call, workflow: Json, wanted: string | undefined): Promise<Json> {
  if (!wanted || workflow.status === wanted) return workflow;
  const field = wanted === 'ACTIVE' ? 'activateWorkflow' : 'deactivateWorkflow';
  const data = await run(call, `mutation($id: ID!) { ${field}(id: $id) { ${WORKFLOW} } }`, {
    id: workflow.id,
  });
  return data[field] as Json;
}

async function workflows(ctx: RouteContext, call: Call, id: string | null): Promise<Response> {
  const tenantId = tenantOf(ctx);
  const { method } = ctx.request;
  if (id === null && method === 'GET') {
    const url = new URL(ctx.request.url);
    const { first, after } = pageIn(url, 'WORKFLOW-003');
    const status = statusIn(url.searchParams.get('status') ?? undefined, 'WORKFLOW-003');
    const data = await run(
      call,
      `query($first: Int, $after: String, $filter: WorkflowFilter) { workflows(first: $first, after: $after, filter: $filter) { nodes { ${WORKFLOW} } pageInfo { hasNextPage endCursor } } }`,
      { first, after, filter: status ? { status } : null },
    );
    const page = data.workflows as {
      nodes: Json[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
    const items = page.nodes.map((w) => workflowOut(w, tenantId));
    return answer({ items, nextCursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null });
  }
  if (id === null) {
    const body = await jsonBody(ctx.request, 'WORKFLOW-003');
    checkTenant(body, tenantId, 'WORKFLOW-003');
    const input = workflowInput(body, true);
    const wanted = statusIn(body.status, 'WORKFLOW-003');
    const data = await run(
      call,
      `mutation($input: CreateWorkflowInput!) { createWorkflow(input: $input) { ${WORKFLOW} } }`,
      { input },
    );
    return answer(workflowOut(await settleStatus(call, data.createWorkflow as Json, wanted), tenantId), 201);
  }
  if (method === 'GET') {
    const data = await run(call, `query($id: ID!) { workflow(id: $id) { ${WORKFLOW} } }`, { id });
    return answer(workflowOut(data.workflow as Json, tenantId));
  }
  if (method === 'DELETE') {
    const data = await run(call, `mutation($id: ID!) { deleteWorkflow(id: $id) { ${WORKFLOW} } }`, { id });
    return answer(workflowOut(data.deleteWorkflow as Json, tenantId));
  }
  const body = await jsonBody(ctx.request, 'WORKFLOW-003');
  checkTenant(body, tenantId, 'WORKFLOW-003');
  const input = workflowInput(body, false);
  const wanted = statusIn(body.status, 'WORKFLOW-003');
  const data = Object.keys(input).length
    ? await run(
        call,
        `mutation($id: ID!, $input: UpdateWorkflowInput!) { updateWorkflow(id: $id, input: $input) { ${WORKFLOW} } }`,
        { id, input },
      )
    : await run(call, `query($id: ID!) { updateWorkflow: workflow(id: $id) { ${WORKFLOW} } }`, { id });
  return answer(workflowOut(await settleStatus(call, data.updateWorkflow as Json, wanted), tenantId));
}

async function executions(
  ctx: RouteContext,
  call: Call,
  id: string | null,
  cancel: boolean,
): Promise<Response> {
  const tenantId = tenantOf(ctx);
  if (id !== null) {
    const data = cancel
      ? await run(call, `mutation($id: ID!) { execution: cancelExecution(id: $id) { ${EXECUTION} } }`, { id })
      : await run(call, `query($id: ID!) { execution(id: $id) { ${EXECUTION} } }`, { id });
    return answer(executionOut(data.execution as Json));
  }
  if (ctx.request.method === 'GET') {
    const url = new URL(ctx.request.url);
    const { first, after } = pageIn(url, 'EXECUTION-003');
    const rawStatus = url.searchParams.get('status');
    const status = rawStatus === null ? undefined : EXECUTION_STATUS_IN[rawStatus];
    if (rawStatus !== null && !status) {
      throw new LegacyError(
        'EXECUTION-003',
        `\`status\` must be one of ${Object.keys(EXECUTION_STATUS_IN).join(', ')}`,
        400,
      );
    }
    const workflowId = url.searchParams.get('workflowId');
    const filter = { ...(status ? { status } : {}), ...(workflowId ? { workflowId } : {}) };
    const data = await run(
      call,
      `query($first: Int, $after: String, $filter: ExecutionFilter) { executions(first: $first, after: $after, filter: $filter) { nodes { ${EXECUTION} } pageInfo { hasNextPage endCursor } } }`,
      { first, after, filter },
    );
    const page = data.executions as {
      nodes: Json[];
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
    return answer({
      items: page.nodes.map(executionOut),
      nextCursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
    });
  }
  const body = await jsonBody(ctx.request, 'EXECUTION-003');
  checkTenant(body, tenantId, 'EXECUTION-003');
  if (typeof body.workflowId !== 'string' || !body.workflowId) {
    throw new LegacyError('EXECUTION-003', 'Missing required field: workflowId', 400, {
      missing: ['workflowId'],
    });
  }
  if (
    body.inputs !== undefined &&
    (typeof body.inputs !== 'object' || body.inputs === null || Array.isArray(body.inputs))
  ) {
    throw new LegacyError('EXECUTION-003', '`inputs` must be a JSON object', 400);
  }
  const data = await run(
    { ...call, creating: true },
    `mutation($workflowId: ID!, $inputs: JSON) { execution: executeWorkflow(workflowId: $workflowId, inputs: $inputs) { ${EXECUTION} } }`,
    { workflowId: body.workflowId, inputs: body.inputs ?? null },
  );
  return answer(executionOut(data.execution as Json), 201);
}

function decodeSegment(segment: string, resource: Resource): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    const code = resource === 'workflow' ? 'WORKFLOW-003' : 'EXECUTION-003';
    throw new LegacyError(code, 'The id in the path is not valid percent-encoding', 400);
  }
}

/** Runs a route's work; a refusal is answered in the orchestrator's shape. */
async function handle(ctx: RouteContext, resource: Resource, claim?: IdempotencyClaim): Promise<Response> {
  const call: Call = { ctx, resource, creating: false, ...(claim ? { claim } : {}) };
  try {
    const id = ctx.params[0] === undefined ? null : decodeSegment(ctx.params[0], resource);
    if (resource === 'workflow') return await workflows(ctx, call, id);
    return await executions(ctx, call, id, ctx.params[1] !== undefined);
  } catch (e) {
    if (e instanceof LegacyError) return legacyErrorResponse(e);
    throw e;
  }
}

/**
 * One orchestrator route (the path's groups: the id, then `cancel`), under its Idempotency-Key
 * when a write sends one: a retry gets the first answer back, as on every other route.
 */
export function orchestratorRoute(resource: Resource) {
  return async (ctx: RouteContext): Promise<Response> => {
    const { request } = ctx;
    const key = request.headers.get('idempotency-key');
    const { principal } = ctx.auth;
    if (key === null || !principal || request.method === 'GET' || request.method === 'HEAD') {
      return handle(ctx, resource);
    }
    const body = await request.text();
    const path = new URL(request.url).pathname;
    let ran = false;
    const response = await withIdempotency({
      db: ctx.env.DB,
      principal,
      key,
      requestId: ctx.requestId,
      body: JSON.stringify({ route: `${request.method} ${path}`, body }),
      secretKeys: ctx.config.secretKeys,
      run: (claim) => {
        ran = true;
        const replay = new Request(request.url, { method: request.method, headers: request.headers, body });
        return handle({ ...ctx, request: replay }, resource, claim);
      },
    });
    if (ran || response.ok) return response;
    // A refusal of the key itself comes in GraphQL's shape: the same code, in the orchestrator's.
    const { errors } = (await response.json()) as { errors: { message: string; extensions?: Json }[] };
    const { code, ...details } = errors[0]?.extensions ?? {};
    const refusal = new LegacyError(String(code), errors[0]?.message ?? '', response.status, details);
    return legacyErrorResponse(refusal);
  };
}
