import { MAX_STEPS, MAX_TRIGGERS } from '../../src/domain/workflowSteps';
import { MAX_BODY_BYTES } from '../../src/http/bodyLimit';
import type { ToolDefinition } from '../../src/mcp/catalog';
import type { JsonSchema } from '../../src/mcp/jsonSchema';
import { MAX_RUNBOOK_INPUT_BYTES } from '../../src/usecases/changes/standardTemplates';
import { MAX_INPUT_BYTES } from '../../src/usecases/workflows/executions';

/**
 * The largest result each MCP tool can return, built from its output schema and the limits the
 * schema and the use cases enforce: page sizes from the tool's own `first`, the longest string each
 * field accepts, 50-step executions, JSON values at their caps. A field (or a tool) without a
 * bound here throws, so a new tool or field cannot go unmeasured.
 */

type Tool = Pick<ToolDefinition, 'name' | 'inputSchema' | 'outputSchema' | 'wrapKey'>;

/** The longest value of each string field, by property name (the largest any type allows). */
const STRINGS: Record<string, number> = {
  // Ids the service makes (prefix + UUID), and references to them.
  id: 40,
  changeId: 40,
  apiKeyId: 40,
  templateId: 40,
  runbookWorkflowId: 40,
  workflowId: 40,
  waitingOnChange: 40,
  keyId: 40,
  // A verification run's cursor: its row id (src/usecases/auditVerification.ts, a UUID).
  cursor: 36,
  // Who: a token's `sub` (OIDC: at most 255 ASCII characters), a JWT's name and email.
  actorId: 255,
  createdBy: 255,
  updatedBy: 255,
  runbookAttachedBy: 255,
  causedBy: 255,
  cancelRequestedBy: 255,
  tenantId: 255,
  displayName: 255,
  email: 254,
  // Texts, at the longest the inputs accept (src/schema/change/mutations.ts and the others).
  title: 200,
  titlePattern: 200,
  name: 200,
  description: 5000,
  implementationPlan: 10_000,
  backoutPlan: 10_000,
  testPlan: 10_000,
  emergencyJustification: 5000,
  failureReason: 2000,
  reason: 2000,
  comment: 2000,
  message: 2000,
  affectedServices: 100,
  services: 100,
  freezeWindowsOverridden: 40,
  stillNeeded: 40,
  tags: 50,
  titleVariables: 32,
  secretNames: 64,
  allowedHosts: 253,
  host: 253,
  // Short words the code writes.
  key: 40,
  label: 120,
  approverRoles: 20,
  roles: 20,
  kind: 10,
  actorType: 10,
  source: 10,
  state: 10,
  toolName: 73, // resource:<name>
  tool: 73,
  action: 40,
  targetType: 40,
  targetId: 100, // a service name
  requestId: 128, // src/http/requestId.ts
  checkId: 40,
  errorCode: 40,
  code: 20,
  class: 20,
  type: 20,
  stepId: 63,
  triggerRef: 40,
  endCursor: 120,
  prevHash: 64, // SHA-256 hex
  hash: 64,
  outputPreview: 120,
  outputUri: 140,
  openedAt: 24,
  updatedAt: 24,
};

/** The most items of each nested list (page lists take the tool's `first`). */
const LISTS: Record<string, number> = {
  affectedServices: 20,
  services: 20,
  tags: 20,
  allowedTransitions: 11,
  riskFactors: 20,
  factors: 20,
  approvals: 20,
  approverRoles: 5,
  roles: 5,
  titleVariables: 10,
  secretNames: 100,
  allowedHosts: 100,
  steps: MAX_STEPS,
  attemptLog: 10, // retry.maxAttempts is at most 10
  triggers: MAX_TRIGGERS,
  changesByStatus: 11,
  toolCalls: 60,
  checks: 20,
  // Not bounded by any input: as many as a busy tenant could have (workflow versions each carry
  // up to 100 KB of steps in the mutation results: 20 of them is a 2 MB result to cut).
  versions: 20,
  findings: 2000,
  conflicts: 200,
  // review_change's freeze windows over the planned window (its `first` allows at most 50).
  freezeWindows: 50,
  freezeWindowsOverridden: 50,
  stillNeeded: 5,
};

const filler = (n: number) => 'x'.repeat(n);
/** A JSON value of about `bytes` bytes. */
const jsonOf = (bytes: number) => ({ data: filler(Math.max(0, bytes - 11)) });

/** Opaque JSON fields at their caps. */
const JSON_VALUES: Record<string, () => unknown> = {
  // A workflow definition is sent in one request body.
  // One step of a workflow (a list of MAX_STEPS), all of which come in one request body.
  steps: () => jsonOf(MAX_BODY_BYTES / MAX_STEPS),
  triggers: () => ({ type: 'cron', expression: '*/5 * * * *', timezone: 'America/Argentina/ComodRivadavia' }),
  runbookInputs: () => jsonOf(MAX_RUNBOOK_INPUT_BYTES),
  inputs: () => jsonOf(MAX_INPUT_BYTES),
  output: () => jsonOf(16 * 1024),
  outputs: () =>
    Object.fromEntries(Array.from({ length: MAX_STEPS }, (_, i) => [`step-${i}`, jsonOf(16 * 1024)])),
  // A change or a workflow as it was and became.
  before: () => jsonOf(40_000),
  after: () => jsonOf(40_000),
};

interface Worst {
  /** Opaque JSON fields this tool's result carries differently (e.g. null in a summary). */
  json?: Record<string, () => unknown>;
  /** The same, for the call without paging arguments. */
  defaultJson?: Record<string, () => unknown>;
}

/** A worst case per tool; `{}` takes every field at the bounds above. */
export const WORST: Record<string, Worst> = {
  get_audit_log: {
    // detail FULL carries the payloads; the default (SUMMARY) does not.
    defaultJson: { before: () => null, after: () => null },
  },
};
const ALL_AT_BOUNDS: Worst = {};

/** Output schemas carry no formats (src/mcp/selection.ts): a date-time field is known by its name. */
const DATE_TIME_KEY = /(At|^plannedStart|^plannedEnd|^from|^to)$/;

const typesOf = (s: JsonSchema) => (s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type]);

/** Builds the largest value `schema` admits under the bounds; a field without one throws. */
function build(
  s: JsonSchema,
  key: string,
  path: string,
  ctx: {
    json: Record<string, () => unknown>;
    page: number;
    pageKey: string | null;
    defs: Record<string, JsonSchema>;
  },
): unknown {
  // A shape the schema defines once (src/mcp/jsonSchema.ts): build what the reference names.
  if (s.$ref) {
    const def = ctx.defs[s.$ref.replace('#/$defs/', '')];
    if (!def) throw new Error(`unresolved ${s.$ref} at ${path}`);
    return build(def, key, path, ctx);
  }
  if (s.type === undefined && !s.properties) {
    const make = ctx.json[key];
    if (!make) throw new Error(`no worst-case JSON for ${path}`);
    return make();
  }
  const types = typesOf(s).filter((t) => t !== 'null');
  const [type] = types;
  if (type === 'object') {
    return Object.fromEntries(
      Object.entries(s.properties ?? {}).map(([k, v]) => [k, build(v, k, `${path}.${k}`, ctx)]),
    );
  }
  if (type === 'array') {
    const n = key === ctx.pageKey ? ctx.page : LISTS[key];
    if (n === undefined) throw new Error(`no worst-case length for ${path}`);
    return Array.from({ length: n }, () => build(s.items ?? {}, key, `${path}[]`, ctx));
  }
  if (type === 'string') {
    if (s.enum)
      return (s.enum.filter((v) => v !== null) as string[]).reduce((a, b) => (b.length > a.length ? b : a));
    if (s.format === 'date-time' || DATE_TIME_KEY.test(key)) return '2026-12-06T18:26:33.123Z';
    const n = STRINGS[key];
    if (n === undefined) throw new Error(`no worst-case length for ${path}`);
    return filler(n);
  }
  if (type === 'integer') return -2_147_483_648;
  if (type === 'number') return -1.234567890123456e-300;
  if (type === 'boolean') return false;
  throw new Error(`no worst case for ${path} (${JSON.stringify(s.type)})`);
}

/** The list a `first` argument sizes: a cursor page's nodes, or the tool's top-level list. */
function pageKeyOf(tool: Tool): string | null {
  if (!tool.inputSchema.properties?.first) return null;
  const props = tool.outputSchema.properties ?? {};
  const top = tool.wrapKey ? props[tool.wrapKey] : tool.outputSchema;
  if (top?.properties?.nodes) return 'nodes';
  if (tool.wrapKey && typesOf(top ?? {}).includes('array')) return tool.wrapKey;
  throw new Error(`${tool.name} takes first but returns no page`);
}

export function worstCase(tool: Tool, which: 'max' | 'default', first?: number) {
  const worst = WORST[tool.name] ?? (KNOWN.has(tool.name) ? ALL_AT_BOUNDS : undefined);
  if (!worst) throw new Error(`no worst-case builder for ${tool.name}: add it to KNOWN or WORST`);
  const firstSchema = tool.inputSchema.properties?.first;
  const page = first ?? Number(which === 'max' ? firstSchema?.maximum : firstSchema?.default);
  const json = { ...JSON_VALUES, ...worst.json, ...(which === 'default' ? worst.defaultJson : {}) };
  const defs = tool.outputSchema.$defs ?? {};
  return build(tool.outputSchema, '', tool.name, { json, page, pageKey: pageKeyOf(tool), defs }) as Record<
    string,
    unknown
  >;
}

/** The tools whose worst case is every field at its bound (a new tool must be added here). */
export const KNOWN = new Set([
  'get_audit_log',
  'get_change_status',
  'review_change',
  'list_changes',
  'list_standard_change_templates',
  'list_freeze_windows',
  'get_workflow',
  'list_workflows',
  'list_workflow_secrets',
  'get_egress_policy',
  'verify_audit_chain',
  'compliance_report',
  'list_services',
  'whoami',
  'metrics_dashboard',
  'get_execution',
  'wait_for_execution',
  'list_executions',
  'create_change_request',
  'update_change_request',
  'transition_change',
  'assess_risk',
  'approve_change',
  'reject_change',
  'schedule_change',
  'emergency_override',
  'create_standard_change',
  'create_freeze_window',
  'create_workflow',
  'manage_workflow',
  'execute_workflow',
  'cancel_execution',
]);
