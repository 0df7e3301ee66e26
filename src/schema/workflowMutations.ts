import { authed } from '../usecases/context';
import {
  createWorkflow,
  deleteWorkflow,
  setWorkflowStatus,
  updateWorkflow,
} from '../usecases/workflows/workflows';
import { builder } from './builder';
import { WorkflowRef } from './workflow';

/** What an agent needs to write steps: every type, its fields and their defaults. */
const STEPS_DOC =
  'Ordered steps (1–50), each a JSON object with a unique `id` (slug: a-z, 0-9, -, _) and a `type`: ' +
  '`http-request` {url (http:// or https://; scheme, host and port written literally, placeholders only in ' +
  'the path or query; loopback, private, link-local and metadata hosts and hosts off the tenant’s egress ' +
  'allow-list are refused with EGRESS_DENIED), method GET|POST|PUT|PATCH|DELETE|HEAD (default GET), ' +
  'headers {name: value}, body (string template), timeoutMs 1–60000 (default 10000), ' +
  'retry {maxAttempts 1–10 (default 3), baseDelayMs (default 1000), capMs (default 30000)}, ' +
  'successStatuses e.g. ["200-299", "304"] (default ["200-299"])}. Secrets are referenced by name, ' +
  'never written: "Authorization": "Bearer {{ secrets.DEPLOY_TOKEN }}"; a literal credential in ' +
  'Authorization, Cookie, X-API-Key or a *token*/*secret*/*password* header is refused. ' +
  '`transform` {spec: one of {pick: {field: path}}, {filter: {from: path, where: {field?, equals|notEquals|in|gt|lt|exists}}}, ' +
  '{map: {from: path, to: {field: subpath}}}, {value: literal}}; paths read earlier outputs, e.g. ' +
  '`steps.fetch.body.items[0].name` or `inputs.env`. ' +
  '`delay` {durationMs 1–86400000}. ' +
  '`approval-gate` {changeId CHG-YYYYMMDD-XXXXXX}: waits until that change is APPROVED, fails if REJECTED.';

const TRIGGERS_DOC =
  'How the workflow starts (0–10; default [{"type": "manual"}]): {"type": "manual"}, ' +
  '{"type": "webhook", "secret": "HOOK_SECRET"} (the name of this tenant’s workflow secret that signs the HMAC), ' +
  '{"type": "cron", "expression": "0 3 * * MON-FRI"} (5 fields), ' +
  '{"type": "change-approved"} (when a change naming this workflow as its runbook is approved).';

const NAME = { minLength: 3, maxLength: 100 } as const;
const DESCRIPTION = { maxLength: 2000 } as const;

const CreateWorkflowInput = builder.inputType('CreateWorkflowInput', {
  fields: (t) => ({
    name: t.string({ validate: NAME, description: 'Unique among the tenant’s ACTIVE workflows.' }),
    description: t.string({ required: false, validate: DESCRIPTION }),
    steps: t.field({ type: ['JSON'], description: STEPS_DOC }),
    triggers: t.field({ type: ['JSON'], required: false, description: TRIGGERS_DOC }),
  }),
});

const UpdateWorkflowInput = builder.inputType('UpdateWorkflowInput', {
  description: 'Only given fields change; the result is saved as a new version.',
  fields: (t) => ({
    name: t.string({ required: false, validate: NAME }),
    description: t.string({ required: false, validate: DESCRIPTION }),
    steps: t.field({ type: ['JSON'], required: false, description: `Replaces all steps. ${STEPS_DOC}` }),
    triggers: t.field({
      type: ['JSON'],
      required: false,
      description: `Replaces all triggers. ${TRIGGERS_DOC}`,
    }),
  }),
});

builder.mutationFields((t) => {
  const id = () => t.arg.id({ description: 'The workflow id.' });
  return {
    createWorkflow: t.field({
      type: WorkflowRef,
      description: 'Creates an ACTIVE workflow at version 1 after validating every step and trigger.',
      authScopes: { changeManager: true },
      mcp: { name: 'create_workflow' },
      args: { input: t.arg({ type: CreateWorkflowInput }) },
      resolve: (_r, { input }, ctx) => createWorkflow(authed(ctx), input),
    }),
    updateWorkflow: t.field({
      type: WorkflowRef,
      description: 'Edits a workflow: saves a new version and keeps the earlier ones.',
      authScopes: { changeManager: true },
      mcp: { name: 'update_workflow' },
      args: {
        id: id(),
        input: t.arg({ type: UpdateWorkflowInput }),
        expectedVersion: t.arg.int({
          required: false,
          description: 'The version you read; the mutation fails with WORKFLOW-003 if it moved on.',
          validate: { min: 1 },
        }),
      },
      resolve: (_r, args, ctx) =>
        updateWorkflow(
          authed(ctx),
          String(args.id),
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
    activateWorkflow: t.field({
      type: WorkflowRef,
      description: 'INACTIVE → ACTIVE (refused with WORKFLOW-004 if an ACTIVE workflow has its name).',
      authScopes: { changeManager: true },
      mcp: { name: 'activate_workflow' },
      args: { id: id() },
      resolve: (_r, args, ctx) => setWorkflowStatus(authed(ctx), String(args.id), 'ACTIVE'),
    }),
    deactivateWorkflow: t.field({
      type: WorkflowRef,
      description: 'ACTIVE → INACTIVE: the definition is kept and can be activated again.',
      authScopes: { changeManager: true },
      mcp: { name: 'deactivate_workflow' },
      args: { id: id() },
      resolve: (_r, args, ctx) => setWorkflowStatus(authed(ctx), String(args.id), 'INACTIVE'),
    }),
    deleteWorkflow: t.field({
      type: WorkflowRef,
      description: 'Deletes a workflow and all its saved versions; returns what was removed.',
      authScopes: { changeManager: true },
      mcp: { name: 'delete_workflow', annotations: { destructiveHint: true } },
      args: { id: id() },
      resolve: (_r, args, ctx) => deleteWorkflow(authed(ctx), String(args.id)),
    }),
  };
});
