import {
  getWorkflow,
  listWorkflows,
  listWorkflowVersions,
  type WorkflowCursor,
  type WorkflowFilter,
} from '../db/workflows';
import { decodeCursor, type Page, toPage } from '../domain/pagination';
import { WORKFLOW_STATUSES, type WorkflowRecord, type WorkflowVersionRecord } from '../domain/types';
import { referencedSecrets } from '../domain/workflowSteps';
import { nextCronMatch } from '../engine/cron';
import { authed } from '../usecases/context';
import { workflowNotFound } from '../usecases/workflows/workflows';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';
import { definePage } from './page';

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
      resolve: async (w, { first }, ctx) =>
        firstOf(await listWorkflowVersions(ctx.db, w.tenantId, w.id), first),
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

const isWorkflowCursor = (v: unknown): v is WorkflowCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as WorkflowCursor).createdAt === 'string' &&
  typeof (v as WorkflowCursor).id === 'string';

builder.queryFields((t) => ({
  workflow: t.field({
    type: WorkflowRef,
    description: 'One workflow by id, with its steps, triggers and saved versions.',
    authScopes: { viewer: true },
    mcp: {
      name: 'get_workflow',
      selection:
        'id name description status version steps triggers secretNames createdBy createdAt updatedAt ' +
        'versions { version createdBy createdAt }',
    },
    args: { id: t.arg.id({ description: 'The workflow id, e.g. wf_…' }) },
    resolve: async (_root, { id }, ctx) => {
      const { db, principal } = authed(ctx);
      const workflow = await getWorkflow(db, principal.tenantId, String(id));
      if (!workflow) throw workflowNotFound(String(id));
      return workflow;
    },
  }),
  workflows: t.field({
    type: WorkflowPageRef,
    description: 'Workflows, newest first, filtered and cursor-paginated.',
    authScopes: { viewer: true },
    mcp: {
      name: 'list_workflows',
      description:
        'List workflows (runbooks), newest first, by status or text in the name; ' +
        'pass pageInfo.endCursor as `after` for the next page.',
      selection:
        'nodes { id name description status version triggers secretNames updatedAt } ' +
        'pageInfo { hasNextPage endCursor }',
    },
    args: {
      filter: t.arg({ type: WorkflowFilterInput, required: false }),
      first: t.arg.int({ required: false, defaultValue: 20, validate: { min: 1, max: 100 } }),
      after: t.arg.string({ required: false, description: 'endCursor of the previous page.' }),
    },
    resolve: async (_root, args, ctx) => {
      const { principal, db } = authed(ctx);
      const filter: WorkflowFilter = { ...args.filter };
      const limit = args.first ?? 20;
      const cursor = args.after ? decodeCursor(args.after, isWorkflowCursor) : null;
      const rows = await listWorkflows(db, principal.tenantId, filter, limit + 1, cursor);
      return toPage(rows, limit, (w) => ({ createdAt: w.createdAt, id: w.id }));
    },
  }),
}));
