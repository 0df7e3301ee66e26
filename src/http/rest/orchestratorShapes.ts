/**
 * The workflow orchestrator's REST shapes (its routes are served unchanged for its clients), mapped
 * onto ours: a step `{id, type, config: {...}, order}` is our `{id, type, ...config}` in order;
 * triggers are names (`"webhook"`, `"schedule"`: our `cron`) or our own trigger objects; status
 * is lower case. Pure functions: the routes are in orchestrator.ts.
 */

export type Json = Record<string, unknown>;

/** A refusal in the orchestrator's shape: `{"error": {"code", "message", "details"?}}`. */
export class LegacyError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly details?: Json,
  ) {
    super(message);
  }
}

export function legacyErrorResponse(e: LegacyError, headers: Record<string, string> = {}): Response {
  const error = { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) };
  return new Response(JSON.stringify({ error }), {
    status: e.status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const invalid = (code: string, message: string, details?: Json) =>
  new LegacyError(code, message, 400, details);

const TRIGGER_IN: Record<string, string> = { schedule: 'cron' };
const TRIGGER_OUT: Record<string, string> = { cron: 'schedule' };

/** Its steps as ours: sorted by `order` (else as listed), `config` spread into the step. */
export function stepsIn(steps: unknown, code: string): Json[] {
  if (!Array.isArray(steps)) throw invalid(code, '`steps` must be a list of steps');
  const parsed = steps.map((step, index) => {
    if (!isObject(step)) throw invalid(code, `steps[${index}] must be an object {id, type, config, order}`);
    const { id, type, config = {}, order = index } = step;
    if (typeof id !== 'string' || typeof type !== 'string') {
      throw invalid(code, `steps[${index}] needs a string id and type`, { index });
    }
    if (!isObject(config)) throw invalid(code, `steps[${index}].config must be an object`, { index });
    if (typeof order !== 'number' || !Number.isFinite(order)) {
      throw invalid(code, `steps[${index}].order must be a number`, { index });
    }
    return { order, step: { ...config, id, type } };
  });
  return parsed.sort((a, b) => a.order - b.order).map((p) => p.step);
}

/** Its trigger names (or our trigger objects, `schedule` for `cron`) as ours. */
export function triggersIn(triggers: unknown, code: string): Json[] {
  if (!Array.isArray(triggers))
    throw invalid(code, '`triggers` must be a list such as ["webhook", "schedule"]');
  return triggers.map((t, index) => {
    if (typeof t === 'string') return { type: TRIGGER_IN[t] ?? t };
    if (isObject(t) && typeof t.type === 'string') return { ...t, type: TRIGGER_IN[t.type] ?? t.type };
    throw invalid(code, `triggers[${index}] must be a trigger name or {type, ...}`, { index });
  });
}

export function statusIn(status: unknown, code: string): 'ACTIVE' | 'INACTIVE' | undefined {
  if (status === undefined) return undefined;
  if (status === 'active' || status === 'inactive') return status === 'active' ? 'ACTIVE' : 'INACTIVE';
  throw invalid(code, '`status` must be "active" or "inactive"');
}

/** `tenantId` may be sent, but only as the caller's own tenant. */
export function checkTenant(body: Json, tenantId: string, code: string): void {
  if (body.tenantId !== undefined && body.tenantId !== tenantId) {
    throw new LegacyError(code, "`tenantId` must be the caller's own tenant", 403, {
      tenantId: body.tenantId,
    });
  }
}

/** Our workflow as the orchestrator's row. */
export function workflowOut(w: Json, tenantId: string): Json {
  const steps = (w.steps as Json[]).map((s, order) => {
    const { id, type, ...config } = s;
    return { id, type, config, order };
  });
  const triggers = (w.triggers as Json[]).map((t) => {
    const name = TRIGGER_OUT[t.type as string] ?? (t.type as string);
    const { type: _type, ...rest } = t;
    // A bare trigger is its name, as the orchestrator wrote it; one with settings keeps them.
    return Object.keys(rest).length ? { ...rest, type: name } : name;
  });
  return {
    id: w.id,
    tenantId,
    name: w.name,
    description: w.description ?? null,
    steps,
    triggers,
    status: String(w.status).toLowerCase(),
    createdAt: w.createdAt,
    updatedAt: w.updatedAt,
  };
}

const EXECUTION_STATUS_OUT: Record<string, string> = { SUCCEEDED: 'completed' };
export const EXECUTION_STATUS_IN: Record<string, string> = {
  pending: 'PENDING',
  running: 'RUNNING',
  completed: 'SUCCEEDED',
  failed: 'FAILED',
  cancelled: 'CANCELLED',
};

/** Our execution as the orchestrator's row (`completedAt` is when it ended, whatever the outcome). */
export function executionOut(e: Json): Json {
  const status = String(e.status);
  const error = e.error as { message?: string } | null;
  return {
    id: e.id,
    workflowId: e.workflowId,
    status: EXECUTION_STATUS_OUT[status] ?? status.toLowerCase(),
    inputs: e.inputs ?? {},
    outputs: e.outputs ?? null,
    error: error?.message ?? null,
    trigger: String(e.trigger).toLowerCase(),
    startedAt: e.startedAt ?? null,
    completedAt: e.endedAt ?? null,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

/** `limit` (1–100, default 20) and `cursor` of a list request. */
export function pageIn(url: URL, code: string): { first: number; after: string | null } {
  const raw = url.searchParams.get('limit');
  const first = raw === null ? 20 : Number(raw);
  if (!Number.isInteger(first) || first < 1 || first > 100) {
    throw invalid(code, '`limit` must be an integer from 1 to 100');
  }
  return { first, after: url.searchParams.get('cursor') };
}

export type Resource = 'workflow' | 'execution';

/** Our code on these routes as the orchestrator's, which it documented per resource. */
export function legacyCode(resource: Resource, ours: string, status: number, creating: boolean): string {
  // Who may call and how often are ours everywhere: the orchestrator had no codes for them.
  if (status === 401 || status === 403 || status === 413 || status === 429 || status >= 500) return ours;
  if (resource === 'workflow') return ours === 'WORKFLOW-001' ? 'WORKFLOW-002' : 'WORKFLOW-003';
  if (ours === 'EXECUTION-010') return 'EXECUTION-002';
  if (creating) return 'EXECUTION-001';
  return 'EXECUTION-003';
}
