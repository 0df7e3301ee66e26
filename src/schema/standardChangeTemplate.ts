import type { StandardChangeTemplateRecord } from '../db/standardChangeTemplates';
import { readTemplate, standardTemplates, templateVersions } from '../usecases/changes/queries';
import {
  createChangeFromTemplate,
  createTemplate,
  MAX_TITLE_VARIABLES,
  MAX_VARIABLE_VALUE,
  retireTemplate,
  updateTemplate,
} from '../usecases/changes/standardTemplates';
import { builder } from './builder';
import { ChangeRef } from './change/type';
import { LevelEnum, RiskLevelEnum } from './enums';
import { firstArg, firstOf } from './listArgs';

/** Standard change templates: what a change manager pre-authorises, and raising a change from one. */

const TemplateStatusEnum = builder.enumType('StandardChangeTemplateStatus', {
  description:
    'ACTIVE: changes can be raised from it; RETIRED: no longer (and none from it is pre-approved).',
  values: ['ACTIVE', 'RETIRED'] as const,
});

const TEMPLATE_DOC =
  'A pre-authorised, routine change (ITIL standard change): services, plans, a pre-assessed risk and ' +
  'optionally a runbook with its inputs are fixed by a change manager; a change raised from it varies ' +
  'only in its title variables and window.';

export const StandardChangeTemplateRef =
  builder.objectRef<StandardChangeTemplateRecord>('StandardChangeTemplate');

StandardChangeTemplateRef.implement({
  description: TEMPLATE_DOC,
  mcp: { summary: ['id', 'name', 'status', 'version'] },
  fields: (t) => ({
    id: t.exposeID('id', { description: '`sct_…`' }),
    name: t.exposeString('name'),
    titlePattern: t.exposeString('titlePattern', {
      description:
        'The change title, with `{{variable}}` placeholders, e.g. "Rotate TLS cert for {{service}}".',
    }),
    titleVariables: t.exposeStringList('titleVariables', {
      description: 'The variables the pattern uses; a change from the template gives a value for each.',
    }),
    description: t.exposeString('description'),
    affectedServices: t.exposeStringList('affectedServices'),
    impact: t.expose('impact', { type: LevelEnum }),
    urgency: t.expose('urgency', { type: LevelEnum }),
    implementationPlan: t.exposeString('implementationPlan'),
    backoutPlan: t.exposeString('backoutPlan'),
    testPlan: t.exposeString('testPlan'),
    riskLevel: t.expose('riskLevel', {
      type: RiskLevelEnum,
      description: 'Pre-assessed risk: a change from the template is at least this risky.',
    }),
    runbookWorkflowId: t.exposeString('runbookWorkflowId', { nullable: true }),
    runbookInputs: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the runbook runs with (beside `change`, which it always gets).',
      resolve: (x) => x.runbookInputs as never,
    }),
    status: t.expose('status', { type: TemplateStatusEnum }),
    version: t.exposeInt('version', {
      description: 'Every edit (and the retirement) is a new version; pass it back as expectedVersion.',
    }),
    versions: t.field({
      type: [StandardChangeTemplateRef],
      description: 'Every saved version as it was, newest first (one statement: ask for one template).',
      args: { first: firstArg(t, 20) },
      resolve: async (x, { first }, ctx) => firstOf(await templateVersions(ctx, x), first),
    }),
    createdBy: t.exposeID('createdBy'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedBy: t.exposeID('updatedBy', { description: 'Who saved this version.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    retiredAt: t.expose('retiredAt', { type: 'DateTime', nullable: true }),
  }),
});

const NAME = { minLength: 3, maxLength: 100 } as const;
const PATTERN = { minLength: 3, maxLength: 200 } as const;
const TEXT = { minLength: 1, maxLength: 5000 } as const;
const PLAN = { minLength: 1, maxLength: 10000 } as const;
const SERVICES = { minLength: 1, maxLength: 20, items: { minLength: 1, maxLength: 100 } } as const;
const VARIABLES = { maxLength: MAX_TITLE_VARIABLES, items: { minLength: 1, maxLength: 32 } } as const;
const PATTERN_DOC =
  'Title with {{name}} placeholders declared in titleVariables, e.g. "Rotate TLS cert for {{service}}".';
const VARIABLES_DOC = 'The names of titlePattern’s placeholders (a change gives each a value).';
const RUNBOOK_DOC =
  'An ACTIVE workflow that implements the change (runs on approval and startImplementation).';
const INPUTS_DOC = 'JSON object (≤ 16 KiB) the runbook gets beside `change`.';

const CreateTemplateInput = builder.inputType('CreateStandardChangeTemplateInput', {
  description: 'A new template, ACTIVE at once.',
  fields: (t) => ({
    name: t.string({ validate: NAME, description: 'Unique in the tenant.' }),
    titlePattern: t.string({ validate: PATTERN, description: PATTERN_DOC }),
    titleVariables: t.stringList({
      required: false,
      defaultValue: [],
      validate: VARIABLES,
      description: VARIABLES_DOC,
    }),
    description: t.string({ validate: TEXT, description: 'What a change from this template does.' }),
    affectedServices: t.stringList({ validate: SERVICES, description: 'Names of the services touched.' }),
    impact: t.field({ type: LevelEnum, defaultValue: 'LOW' }),
    urgency: t.field({ type: LevelEnum, defaultValue: 'LOW' }),
    implementationPlan: t.string({ validate: PLAN, description: 'How the change is carried out.' }),
    backoutPlan: t.string({ validate: PLAN, description: 'How to undo the change.' }),
    testPlan: t.string({ validate: PLAN, description: 'How success is verified.' }),
    riskLevel: t.field({ type: RiskLevelEnum, description: 'The pre-assessed risk.' }),
    runbookWorkflowId: t.id({ required: false, description: RUNBOOK_DOC }),
    runbookInputs: t.field({ type: 'JSON', required: false, description: INPUTS_DOC }),
  }),
});

const UpdateTemplateInput = builder.inputType('UpdateStandardChangeTemplateInput', {
  description: 'Only given fields change, as a new version; runbookWorkflowId: null removes the runbook.',
  fields: (t) => ({
    name: t.string({
      required: false,
      validate: NAME,
      description: 'Unique in the tenant.',
    }),
    titlePattern: t.string({ required: false, validate: PATTERN, description: PATTERN_DOC }),
    titleVariables: t.stringList({ required: false, validate: VARIABLES, description: VARIABLES_DOC }),
    description: t.string({
      required: false,
      validate: TEXT,
      description: 'What a change from this template does.',
    }),
    affectedServices: t.stringList({
      required: false,
      validate: SERVICES,
      description: 'Names of the services touched.',
    }),
    impact: t.field({ type: LevelEnum, required: false }),
    urgency: t.field({ type: LevelEnum, required: false }),
    implementationPlan: t.string({
      required: false,
      validate: PLAN,
      description: 'How the change is carried out.',
    }),
    backoutPlan: t.string({ required: false, validate: PLAN, description: 'How to undo the change.' }),
    testPlan: t.string({ required: false, validate: PLAN, description: 'How success is verified.' }),
    riskLevel: t.field({ type: RiskLevelEnum, required: false, description: 'The pre-assessed risk.' }),
    runbookWorkflowId: t.id({ required: false, description: RUNBOOK_DOC }),
    runbookInputs: t.field({ type: 'JSON', required: false, description: INPUTS_DOC }),
  }),
});

const TitleVariableInput = builder.inputType('TitleVariableInput', {
  fields: (t) => ({
    name: t.string({
      validate: { minLength: 1, maxLength: 32 },
      description: 'One of the template’s titleVariables.',
    }),
    value: t.string({
      validate: { minLength: 1, maxLength: MAX_VARIABLE_VALUE },
      description: 'Plain text: no line breaks, control characters, {{ or }}.',
    }),
  }),
});

const FromTemplateInput = builder.inputType('CreateChangeFromTemplateInput', {
  description: 'All a standard change may vary: its title variables and its window.',
  fields: (t) => ({
    titleVariables: t.field({
      type: [TitleVariableInput],
      required: false,
      defaultValue: [],
      description: 'A value for each of the template’s titleVariables, and no others.',
    }),
    plannedStart: t.field({
      type: 'DateTime',
      description: 'When the window opens (ISO 8601, in the future).',
    }),
    plannedEnd: t.field({ type: 'DateTime', description: 'When the window closes (after plannedStart).' }),
  }),
});

/** What an agent picks a template by, and what create_standard_change needs from it. */
const TEMPLATE_SELECTION = 'id name titlePattern titleVariables status';

builder.queryFields((t) => ({
  standardChangeTemplates: t.withAuth({ viewer: true }).field({
    type: [StandardChangeTemplateRef],
    description:
      'Standard change templates, newest first: raise a change from one with createChangeFromTemplate.',
    mcp: {
      name: 'list_standard_change_templates',
      toolset: 'delivery',
      description:
        'Pre-authorised standard change templates (ACTIVE unless includeRetired) with what create_standard_change needs.',
      selection: TEMPLATE_SELECTION,
    },
    args: {
      includeRetired: t.arg.boolean({
        required: false,
        defaultValue: false,
        description: 'Also list RETIRED templates (they can no longer be used).',
      }),
      first: firstArg(t, 20),
    },
    resolve: (_root, args, ctx) => standardTemplates(ctx, !!args.includeRetired, args.first ?? 20),
  }),
  standardChangeTemplate: t.withAuth({ viewer: true }).field({
    type: StandardChangeTemplateRef,
    description: 'One standard change template by id, with its saved versions.',
    args: { id: t.arg.id({ description: 'The template id, e.g. sct_…' }) },
    resolve: (_root, { id }, ctx) => readTemplate(ctx, id),
  }),
}));

/*
 * Authoring templates is not an MCP tool, on purpose: a template pre-authorises every change raised
 * from it (a LOW-risk one skips the CAB), so an agent that could write one and then raise changes
 * from it would approve its own work. Agents list templates and raise changes from them; people
 * author them over GraphQL (docs/mcp.md, "What agents are not offered").
 */
builder.mutationFields((t) => {
  const id = () => t.arg.id({ description: 'The template id.' });
  const expectedVersion = () =>
    t.arg.int({
      required: false,
      description: 'The version you read; TEMPLATE_VERSION_CONFLICT if it has moved on.',
      validate: { min: 1 },
    });
  return {
    createStandardChangeTemplate: t.withAuth({ changeManager: true }).field({
      type: StandardChangeTemplateRef,
      description: `Change managers: creates an ACTIVE template at version 1. ${TEMPLATE_DOC}`,
      args: { input: t.arg({ type: CreateTemplateInput }) },
      resolve: (_r, { input }, ctx) =>
        createTemplate(ctx, {
          ...input,
          titleVariables: input.titleVariables ?? [],
          runbookWorkflowId: input.runbookWorkflowId ?? null,
          runbookInputs: input.runbookInputs ?? null,
        }),
    }),
    updateStandardChangeTemplate: t.withAuth({ changeManager: true }).field({
      type: StandardChangeTemplateRef,
      description: 'Change managers: edits an ACTIVE template as a new version; earlier versions are kept.',
      args: { id: id(), input: t.arg({ type: UpdateTemplateInput }), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => {
        const given = <T>(v: T | null | undefined) => (v === null ? undefined : v);
        const { input } = args;
        return updateTemplate(
          ctx,
          args.id,
          {
            name: given(input.name),
            titlePattern: given(input.titlePattern),
            titleVariables: given(input.titleVariables),
            description: given(input.description),
            affectedServices: given(input.affectedServices),
            impact: given(input.impact),
            urgency: given(input.urgency),
            implementationPlan: given(input.implementationPlan),
            backoutPlan: given(input.backoutPlan),
            testPlan: given(input.testPlan),
            riskLevel: given(input.riskLevel),
            // An explicit null removes the runbook; an absent one keeps it.
            runbookWorkflowId: input.runbookWorkflowId,
            runbookInputs: input.runbookInputs === undefined ? undefined : input.runbookInputs,
          },
          args.expectedVersion,
        );
      },
    }),
    retireStandardChangeTemplate: t.withAuth({ changeManager: true }).field({
      type: StandardChangeTemplateRef,
      description:
        'Change managers: retires a template (a new version). No change can be raised from it any more, and ' +
        'changes already raised from it go to the CAB when submitted.',
      args: { id: id(), expectedVersion: expectedVersion() },
      resolve: (_r, args, ctx) => retireTemplate(ctx, args.id, args.expectedVersion),
    }),
    createChangeFromTemplate: t.withAuth({ requester: true }).field({
      type: ChangeRef,
      description:
        'Raises a STANDARD change in DRAFT from an ACTIVE template: only the title variables and the window ' +
        'are yours; services, plans, runbook and its inputs are the template’s and cannot be edited. Submit ' +
        'it: it is pre-approved when its risk (the higher of the template’s and the computed one) is LOW.',
      mcp: {
        name: 'create_standard_change',
        description:
          'Raises a STANDARD change in DRAFT from an ACTIVE template: you give only the title variables ' +
          'and the window. Submitted, it is pre-approved if its risk is LOW.',
        toolset: 'delivery',
        changes: ['title', 'priority'],
        annotations: {
          destructiveHint: false,
          idempotentHint: false,
          openWorldHint: false,
          why: 'Adds a change from a template; a repeat adds another (send an idempotencyKey to retry safely).',
        },
      },
      args: {
        templateId: t.arg.id({
          description: 'From standardChangeTemplates (list_standard_change_templates).',
        }),
        input: t.arg({ type: FromTemplateInput }),
      },
      resolve: (_r, args, ctx) =>
        createChangeFromTemplate(ctx, args.templateId, {
          titleVariables: args.input.titleVariables ?? [],
          plannedStart: args.input.plannedStart,
          plannedEnd: args.input.plannedEnd,
        }),
    }),
  };
});
