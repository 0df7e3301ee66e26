import type { Page } from '../domain/pagination';
import { WORKFLOW_STATUSES, type WorkflowRecord, type WorkflowVersionRecord } from '../domain/types';
import { referencedSecrets } from '../domain/workflowSteps';
import { nextCronMatch } from '../engine/cron';
import { readWorkflow, workflowsPage, workflowVersions } from '../usecases/workflows/queries';
import {
  createWorkflow,
  deleteWorkflow,
  setWorkflowStatus,
  updateWorkflow,
} from '../usecases/workflows/workflows';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';
import { definePage, pageArgs } from './page';

function nextCronRun(w: WorkflowRecord, now: Date): string | null {
  if (w.status !== 'ACTIVE') return null;
  const next = w.triggers
    .flatMap((t) => (t.type === 'cron' ? [nextCronMatch(t.expression, now)] : []))
    .filter((d): d is Date => d !== null)
    .sort((a, b) => a.getTime() - b.getTime())[0];
  return next ? next.toISOString() : null;
}

export const WorkflowStatusEnum = builder.enumType('WorkflowStatus', {
  description: 'Only ACTIVE workflows can be started (once executions exist); names are unique among them.',
  values: WORKFLOW_STATUSES,
});

const WorkflowVersionRef = builder.objectRef<WorkflowVersionRecord>('WorkflowVersion').implement({
  description: 'One saved definition of a workflow; kept when the workflow is edited.',
  fields: (t) => ({
    version: t.exposeInt('version'),
    steps: t.field({ type: ['JSON'], resolve: (v) => v.steps }),
    triggers: t.field({ type: ['JSON'], resolve: (v) => v.triggers }),
    createdBy: t.exposeID('createdBy', { description: 'Who saved this version.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const WorkflowRef = builder.objectRef<WorkflowRecord>('Workflow').implement({
  description: 'A runbook: ordered steps (http-request, transform, delay, approval-gate) and its triggers.',
  mcp: { summary: ['id', 'name', 'status', 'version'] },
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    description: t.exposeString('description', { nullable: true }),
    status: t.expose('status', { type: WorkflowStatusEnum }),
    version: t.exposeInt('version', { description: 'Starts at 1; every edit saves a new version.' }),
    steps: t.field({
      type: ['JSON'],
      description: 'The steps in order, with every default filled in.',
      resolve: (w) => w.steps,
    }),
    triggers: t.field({ type: ['JSON'], resolve: (w) => w.triggers }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description:
        'When a cron trigger next starts this workflow (UTC; the earliest of its cron triggers, within a year), ' +
        'or null when it has none or is INACTIVE.',
      resolve: (w) => nextCronRun(w, new Date()),
    }),
    secretNames: t.stringList({
      description:
        'Workflow secrets of this tenant the definition references by name; their values are never part of it.',
      resolve: (w) => referencedSecrets(w),
    }),
    versions: t.field({
      type: [WorkflowVersionRef],
      description: 'Every saved version, newest first (one statement per workflow: ask for one workflow).',
      args: { first: firstArg(t, 20) },
      resolve: async (w, { first }, ctx) => firstOf(await workflowVersions(ctx, w), first),
    }),
    createdBy: t.exposeID('createdBy'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const WorkflowFilterInput = builder.inputType('WorkflowFilter', {
  description: 'All given criteria must match.',
  fields: (t) => ({
    status: t.field({ type: WorkflowStatusEnum, required: false }),
    nameContains: t.string({
      required: false,
      description: 'Text in the name.',
      validate: { maxLength: 100 },
    }),
  }),
});

const WorkflowPageRef = definePage<WorkflowRecord, Page<WorkflowRecord>>('WorkflowPage', WorkflowRef);

builder.queryFields((t) => ({
  workflow: t.withAuth({ viewer: true }).field({
    type: WorkflowRef,
    description: 'One workflow by id, with its steps, triggers and saved versions.',
    mcp: {
      name: 'get_workflow',
      toolset: 'workflows',
      // The definition an agent runs or edits; GraphQL has the authors and the earlier versions.
      selection: 'id name description status version steps triggers secretNames',
    },
    args: { id: t.arg.id({ description: 'The workflow id, e.g. wf_…' }) },
    resolve: (_root, { id }, ctx) => readWorkflow(ctx, id),
  }),
  workflows: t.withAuth({ viewer: true }).field({
    type: WorkflowPageRef,
    description: 'Workflows, newest first, filtered and cursor-paginated.',
    mcp: {
      name: 'list_workflows',
      toolset: 'workflows',
      description: 'List workflows (runbooks), newest first, by status or name; pass endCursor as `after`.',
      // A summary per workflow; get_workflow reads one.
      selection: 'nodes { id name status version } pageInfo { hasNextPage endCursor }',
    },
    args: { filter: t.arg({ type: WorkflowFilterInput, required: false }), ...pageArgs(t) },
    resolve: (_root, { filter, ...page }, ctx) => workflowsPage(ctx, { ...filter }, page),
  }),
}));

/** What an agent needs to write steps: every type, its fields and their defaults. */
const STEPS_DOC =
  'Ordered steps (1–50), each {id (unique; a-z, 0-9, -, _), type, …}. ' +
  '`http-request` {url (http(s), host written literally, placeholders only in path or query; private, ' +
  'metadata and off-allow-list hosts: EGRESS_DENIED), method GET|POST|PUT|PATCH|DELETE|HEAD (default GET), ' +
  'headers {name: value}, body (string template), timeoutMs 1–60000 (default 10000), ' +
  'retry {maxAttempts 1–10 (default 3), baseDelayMs (1000), capMs (30000)}, successStatuses (default ["200-299"])}. ' +
  'Secrets by name, e.g. "Authorization": "Bearer {{ secrets.DEPLOY_TOKEN }}" (a literal credential is refused). ' +
  '`transform` {spec: {pick: {field: path}} | {filter: {from: path, where: {field?, equals|notEquals|in|gt|lt|exists}}} | ' +
  '{map: {from: path, to: {field: subpath}}} | {value: literal}}; paths read earlier outputs, e.g. ' +
  '`steps.fetch.body.items[0].name`, `inputs.env`. ' +
  '`delay` {durationMs 1–86400000}. ' +
  '`approval-gate` {changeId}: waits until that change is APPROVED (fails if REJECTED).';

const TRIGGERS_DOC =
  'How it starts (0–10; default [{"type": "manual"}]): {"type": "manual"}, ' +
  '{"type": "webhook", "secret": "HOOK_SECRET"} (the workflow secret that signs the HMAC), ' +
  '{"type": "cron", "expression": "0 3 * * MON-FRI"}, ' +
  '{"type": "change-approved"} (when a change with it as runbook is approved).';

const NAME = { minLength: 3, maxLength: 100 } as const;
const DESCRIPTION = { maxLength: 2000 } as const;

const CreateWorkflowInput = builder.inputType('CreateWorkflowInput', {
  description: 'A new workflow (ACTIVE at once, version 1).',
  fields: (t) => ({
    name: t.string({ validate: NAME, description: 'Unique among ACTIVE workflows.' }),
    description: t.string({ required: false, validate: DESCRIPTION, description: 'What the workflow does.' }),
    steps: t.field({ type: ['JSON'], description: STEPS_DOC }),
    triggers: t.field({ type: ['JSON'], required: false, description: TRIGGERS_DOC }),
  }),
});

const UpdateWorkflowInput = builder.inputType('UpdateWorkflowInput', {
  description: 'Only given fields change; the result is saved as a new version.',
  fields: (t) => ({
    name: t.string({
      required: false,
      validate: NAME,
      description: 'Unique among ACTIVE workflows.',
    }),
    description: t.string({ required: false, validate: DESCRIPTION, description: 'What the workflow does.' }),
    // The forms are described once, on createWorkflow (create_workflow): both tools are offered
    // to the same roles in the same toolset, so an agent that can update has the form in its list.
    steps: t.field({
      type: ['JSON'],
      required: false,
      description: 'Replaces all steps (1–50), in the form createWorkflow (create_workflow) takes.',
    }),
    triggers: t.field({
      type: ['JSON'],
      required: false,
      description: 'Replaces all triggers (0–10), in the form createWorkflow (create_workflow) takes.',
    }),
  }),
});

/**
 * A workflow's edits and moves, one MCP tool whose `action` picks the move (src/mcp/actions.ts).
 * Creating one is its own tool, create_workflow, a name DESIGN.md promises agents.
 */
const MANAGE_TOOL = {
  name: 'manage_workflow',
  toolset: 'workflows',
  description:
    'update: given fields change, as a new version. activate: INACTIVE to ACTIVE (WORKFLOW-004 if an ' +
    'ACTIVE one has its name). deactivate: triggers stop, definition kept. delete: with its versions.',
} as const;

builder.mutationFields((t) => {
  const id = () => t.arg.id({ description: 'The workflow id.' });
  return {
    createWorkflow: t.withAuth({ changeManager: true }).field({
      type: WorkflowRef,
      description: 'Creates an ACTIVE workflow at version 1 after validating every step and trigger.',
      mcp: {
        name: 'create_workflow',
        toolset: 'workflows',
        description:
          'Creates a workflow (runbook), ACTIVE at version 1; every step and trigger is checked first.',
        // The secrets its steps name, which must exist before it runs.
        changes: ['secretNames'],
        annotations: {
          destructiveHint: false,
          idempotentHint: false,
          openWorldHint: false,
          why: 'Adds a workflow; a repeat with the same name is refused while the first is ACTIVE.',
        },
      },
      args: { input: t.arg({ type: CreateWorkflowInput }) },
      resolve: (_r, { input }, ctx) => createWorkflow(ctx, input),
    }),
    updateWorkflow: t.withAuth({ changeManager: true }).field({
      type: WorkflowRef,
      description: 'Edits a workflow: saves a new version and keeps the earlier ones.',
      mcp: {
        ...MANAGE_TOOL,
        action: 'update',
        changes: ['secretNames'],
        annotations: {
          destructiveHint: true,
          idempotentHint: false,
          openWorldHint: false,
          why: "Replaces the workflow's definition with a new version; every call is a new version.",
        },
      },
      args: {
        id: id(),
        input: t.arg({ type: UpdateWorkflowInput }),
        expectedVersion: t.arg.int({
          required: false,
          description: 'The version you read; WORKFLOW-003 if it has moved on.',
          validate: { min: 1 },
        }),
      },
      resolve: (_r, args, ctx) =>
        updateWorkflow(
          ctx,
          args.id,
          {
            name: args.input.name ?? undefined,
            // An explicit null clears the description; an absent one keeps it.
            description: args.input.description,
            steps: args.input.steps ?? undefined,
            triggers: args.input.triggers ?? undefined,
          },
          args.expectedVersion,
        ),
    }),
    activateWorkflow: t.withAuth({ changeManager: true }).field({
      type: WorkflowRef,
      description: 'INACTIVE → ACTIVE (refused with WORKFLOW-004 if an ACTIVE workflow has its name).',
      mcp: {
        ...MANAGE_TOOL,
        action: 'activate',
        annotations: {
          destructiveHint: false,
          idempotentHint: true,
          openWorldHint: false,
          why: 'Lets the workflow run again; a repeat is refused (already ACTIVE).',
        },
      },
      args: { id: id() },
      resolve: (_r, args, ctx) => setWorkflowStatus(ctx, args.id, 'ACTIVE'),
    }),
    deactivateWorkflow: t.withAuth({ changeManager: true }).field({
      type: WorkflowRef,
      description: 'ACTIVE → INACTIVE: the definition is kept and can be activated again.',
      mcp: {
        ...MANAGE_TOOL,
        action: 'deactivate',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
          why: 'Stops its triggers (schedules and webhooks stop running it); a repeat is refused.',
        },
      },
      args: { id: id() },
      resolve: (_r, args, ctx) => setWorkflowStatus(ctx, args.id, 'INACTIVE'),
    }),
    deleteWorkflow: t.withAuth({ changeManager: true }).field({
      type: WorkflowRef,
      description: 'Deletes a workflow and all its saved versions; returns what was removed.',
      mcp: {
        ...MANAGE_TOOL,
        action: 'delete',
        annotations: {
          destructiveHint: true,
          idempotentHint: true,
          openWorldHint: false,
          why: 'Removes the workflow; a repeat finds nothing to remove.',
        },
      },
      args: { id: id() },
      resolve: (_r, args, ctx) => deleteWorkflow(ctx, args.id),
    }),
  };
});
