import { newId } from '../../db/ids';
import {
  getTemplate,
  insertTemplateStatements,
  type StandardChangeTemplateRecord,
  updateTemplateStatements,
} from '../../db/standardChangeTemplates';
import { getWorkflow } from '../../db/workflows';
import { parseInstant } from '../../domain/schedule';
import type { ChangeRecord } from '../../domain/types';
import { AppError } from '../../errors';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';
import { createChange, type TemplateOrigin } from './lifecycle';

/**
 * Standard changes as ITIL defines them: a change manager writes down, once, a routine change
 * that is low-risk, well understood and pre-authorised (services, plans, runbook, risk). A
 * requester then raises one from the template, choosing only the title variables and the window.
 */

/** `{{name}}` in a title pattern; names are identifiers. Anything else in `{{ }}` is refused. */
const PLACEHOLDER = /\{\{\s*([A-Za-z][A-Za-z0-9_]{0,31})\s*\}\}/g;
const VARIABLE_NAME = /^[A-Za-z][A-Za-z0-9_]{0,31}$/;
export const MAX_TITLE_VARIABLES = 10;
export const MAX_VARIABLE_VALUE = 100;
const TITLE_MIN = 3;
const TITLE_MAX = 200;
/** Runbook inputs are stored with every change and execution: keep them small. */
export const MAX_RUNBOOK_INPUT_BYTES = 16 * 1024;
/** The runbook always gets the change itself under this key; a template may not shadow it. */
const RESERVED_INPUT = 'change';

/** What a change manager writes: the record's own fields; the runbook's inputs arrive unchecked. */
export type TemplateDraft = Pick<
  StandardChangeTemplateRecord,
  | 'name'
  | 'titlePattern'
  | 'titleVariables'
  | 'description'
  | 'affectedServices'
  | 'impact'
  | 'urgency'
  | 'implementationPlan'
  | 'backoutPlan'
  | 'testPlan'
  | 'riskLevel'
> & { runbookWorkflowId?: string | null; runbookInputs?: unknown };

/** Absent fields are kept; `runbookWorkflowId: null` removes the runbook (and its inputs). */
export type TemplatePatch = Partial<TemplateDraft>;

interface Issue {
  field: string;
  message: string;
}

function invalid(issues: Issue[]): AppError {
  const summary = issues.map((i) => `${i.field}: ${i.message}`).join('; ');
  return new AppError('VALIDATION_FAILED', `Invalid standard change: ${summary}`, { issues });
}

export function templateNotFound(id: string): AppError {
  return new AppError('TEMPLATE_NOT_FOUND', `Standard change template ${id} does not exist`, {
    templateId: id,
  });
}

function retired(t: StandardChangeTemplateRecord): AppError {
  return new AppError(
    'TEMPLATE_RETIRED',
    `Standard change template ${t.id} was retired on ${t.retiredAt}; it can no longer be edited or used`,
    { templateId: t.id, retiredAt: t.retiredAt },
  );
}

/** The variable names a pattern uses, in order of first use; throws on a malformed placeholder. */
export function patternVariables(pattern: string): string[] {
  const issues: Issue[] = [];
  const names = [...pattern.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
  if (/\{\{|\}\}/.test(pattern.replace(PLACEHOLDER, ''))) {
    issues.push({
      field: 'titlePattern',
      message: 'placeholders are {{name}} with a name of letters, digits and _ (starting with a letter)',
    });
  }
  if (issues.length) throw invalid(issues);
  return [...new Set(names)];
}

/** The pattern and the declared variables must agree exactly: each declared one used, each used one declared. */
function checkPattern(pattern: string, declared: string[]): Issue[] {
  const issues: Issue[] = [];
  const used = patternVariables(pattern);
  const bad = declared.filter((n) => !VARIABLE_NAME.test(n));
  if (bad.length) issues.push({ field: 'titleVariables', message: `not a variable name: ${bad.join(', ')}` });
  if (new Set(declared).size !== declared.length) {
    issues.push({ field: 'titleVariables', message: 'a variable is declared twice' });
  }
  if (declared.length > MAX_TITLE_VARIABLES) {
    issues.push({ field: 'titleVariables', message: `at most ${MAX_TITLE_VARIABLES} variables` });
  }
  const undeclared = used.filter((n) => !declared.includes(n));
  if (undeclared.length) {
    issues.push({ field: 'titlePattern', message: `uses undeclared variable(s): ${undeclared.join(', ')}` });
  }
  const unused = declared.filter((n) => !used.includes(n));
  if (unused.length) {
    issues.push({
      field: 'titleVariables',
      message: `declared but not in the pattern: ${unused.join(', ')}`,
    });
  }
  const fixedLength = pattern.replace(PLACEHOLDER, '').trim().length;
  if (used.length === 0 && fixedLength < TITLE_MIN) {
    issues.push({
      field: 'titlePattern',
      message: `a title without variables needs ${TITLE_MIN} characters`,
    });
  }
  return issues;
}

function checkRunbookInputs(inputs: unknown, hasRunbook: boolean): Issue[] {
  if (inputs === null || inputs === undefined) return [];
  if (!hasRunbook) return [{ field: 'runbookInputs', message: 'inputs need a runbookWorkflowId' }];
  if (typeof inputs !== 'object' || Array.isArray(inputs)) {
    return [{ field: 'runbookInputs', message: 'must be a JSON object' }];
  }
  if (Object.hasOwn(inputs, RESERVED_INPUT)) {
    return [{ field: 'runbookInputs.change', message: 'is reserved: the runbook gets the change under it' }];
  }
  const size = new TextEncoder().encode(JSON.stringify(inputs)).byteLength;
  if (size > MAX_RUNBOOK_INPUT_BYTES) {
    return [{ field: 'runbookInputs', message: `at most ${MAX_RUNBOOK_INPUT_BYTES} bytes of JSON` }];
  }
  return [];
}

/** A template's runbook must be an ACTIVE workflow of the tenant when the template is saved. */
async function checkRunbook(ctx: AuthedContext, workflowId: string | null): Promise<Issue[]> {
  if (!workflowId) return [];
  const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, workflowId);
  if (!workflow) return [{ field: 'runbookWorkflowId', message: `workflow ${workflowId} does not exist` }];
  if (workflow.status !== 'ACTIVE') {
    return [
      { field: 'runbookWorkflowId', message: `workflow ${workflowId} is ${workflow.status}, not ACTIVE` },
    ];
  }
  return [];
}

const unique = (xs: string[]) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))];

async function validated(
  ctx: AuthedContext,
  t: StandardChangeTemplateRecord,
  rawInputs: unknown,
): Promise<StandardChangeTemplateRecord> {
  const issues = [
    ...checkPattern(t.titlePattern, t.titleVariables),
    ...checkRunbookInputs(rawInputs, !!t.runbookWorkflowId),
    ...(await checkRunbook(ctx, t.runbookWorkflowId)),
  ];
  if (issues.length) throw invalid(issues);
  return {
    ...t,
    affectedServices: unique(t.affectedServices),
    runbookInputs: t.runbookWorkflowId ? ((rawInputs as Record<string, unknown> | null) ?? null) : null,
  };
}

export async function createTemplate(
  ctx: AuthedContext,
  draft: TemplateDraft,
): Promise<StandardChangeTemplateRecord> {
  const now = ctx.now().toISOString();
  const template = await validated(
    ctx,
    {
      id: newId('sct'),
      tenantId: ctx.principal.tenantId,
      name: draft.name,
      titlePattern: draft.titlePattern,
      titleVariables: draft.titleVariables,
      description: draft.description,
      affectedServices: draft.affectedServices,
      impact: draft.impact,
      urgency: draft.urgency,
      implementationPlan: draft.implementationPlan,
      backoutPlan: draft.backoutPlan,
      testPlan: draft.testPlan,
      riskLevel: draft.riskLevel,
      runbookWorkflowId: draft.runbookWorkflowId ?? null,
      runbookInputs: null,
      status: 'ACTIVE',
      version: 1,
      createdBy: ctx.principal.id,
      createdAt: now,
      updatedBy: ctx.principal.id,
      updatedAt: now,
      retiredAt: null,
    },
    draft.runbookInputs,
  );
  return commitWithAudit(ctx, async () => ({
    statements: insertTemplateStatements(ctx.db, template),
    audit: [
      {
        action: 'standard_change_template.created',
        targetType: 'StandardChangeTemplate',
        targetId: template.id,
        before: null,
        after: template,
      },
    ],
    result: template,
  }));
}

/** Fields an edit may change; the audit records only those that did, with the version. */
const EDITABLE = [
  'name',
  'titlePattern',
  'titleVariables',
  'description',
  'affectedServices',
  'impact',
  'urgency',
  'implementationPlan',
  'backoutPlan',
  'testPlan',
  'riskLevel',
  'runbookWorkflowId',
  'runbookInputs',
] as const;

/** Reads the template fresh and checks the version the caller read; a RETIRED one is final. */
async function currentTemplate(ctx: AuthedContext, id: string, expectedVersion: number | null | undefined) {
  const t = await getTemplate(ctx.db, ctx.principal.tenantId, id);
  if (!t) throw templateNotFound(id);
  if (expectedVersion != null && expectedVersion !== t.version) {
    throw new AppError(
      'TEMPLATE_VERSION_CONFLICT',
      `Template ${id} is at version ${t.version}, not ${expectedVersion}; read it again and retry`,
      { templateId: id, currentVersion: t.version, expectedVersion },
    );
  }
  if (t.status === 'RETIRED') throw retired(t);
  return t;
}

function diff(prev: StandardChangeTemplateRecord, next: StandardChangeTemplateRecord) {
  const before: Record<string, unknown> = { version: prev.version };
  const after: Record<string, unknown> = { version: next.version };
  for (const key of [...EDITABLE, 'status', 'retiredAt'] as const) {
    if (JSON.stringify(prev[key]) !== JSON.stringify(next[key])) {
      before[key] = prev[key];
      after[key] = next[key];
    }
  }
  return { before, after };
}

export async function updateTemplate(
  ctx: AuthedContext,
  id: string,
  patch: TemplatePatch,
  expectedVersion?: number | null,
): Promise<StandardChangeTemplateRecord> {
  if (EDITABLE.every((k) => patch[k] === undefined)) {
    throw invalid([{ field: 'input', message: 'nothing to update: give at least one field' }]);
  }
  return commitWithAudit(ctx, async () => {
    const prev = await currentTemplate(ctx, id, expectedVersion);
    const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
    const runbookWorkflowId =
      patch.runbookWorkflowId === undefined ? prev.runbookWorkflowId : patch.runbookWorkflowId;
    // A new or removed runbook takes the inputs given with it; the old ones belonged to the old runbook.
    const inputs =
      patch.runbookInputs !== undefined
        ? patch.runbookInputs
        : runbookWorkflowId === prev.runbookWorkflowId
          ? prev.runbookInputs
          : null;
    const now = ctx.now().toISOString();
    const next = await validated(
      ctx,
      {
        ...prev,
        ...defined,
        runbookWorkflowId,
        runbookInputs: null,
        version: prev.version + 1,
        updatedBy: ctx.principal.id,
        updatedAt: now,
      } as StandardChangeTemplateRecord,
      inputs,
    );
    return {
      statements: updateTemplateStatements(ctx.db, next),
      audit: [
        {
          action: 'standard_change_template.updated',
          targetType: 'StandardChangeTemplate',
          targetId: id,
          ...diff(prev, next),
        },
      ],
      result: next,
    };
  });
}

/** ACTIVE → RETIRED, as a new version: no new change can come from it, and none from it is pre-approved. */
export async function retireTemplate(
  ctx: AuthedContext,
  id: string,
  expectedVersion?: number | null,
): Promise<StandardChangeTemplateRecord> {
  return commitWithAudit(ctx, async () => {
    const prev = await currentTemplate(ctx, id, expectedVersion);
    const now = ctx.now().toISOString();
    const next: StandardChangeTemplateRecord = {
      ...prev,
      status: 'RETIRED',
      retiredAt: now,
      version: prev.version + 1,
      updatedBy: ctx.principal.id,
      updatedAt: now,
    };
    return {
      statements: updateTemplateStatements(ctx.db, next),
      audit: [
        {
          action: 'standard_change_template.retired',
          targetType: 'StandardChangeTemplate',
          targetId: id,
          ...diff(prev, next),
        },
      ],
      result: next,
    };
  });
}

export interface TitleVariable {
  name: string;
  value: string;
}

/**
 * Fills the title pattern in one pass: a value is text, never read as a pattern again, and may
 * not contain braces pairs, line breaks or control characters. Unknown, missing and repeated
 * names are refused, each named.
 */
export function renderTitle(t: StandardChangeTemplateRecord, variables: TitleVariable[]): string {
  const issues: Issue[] = [];
  const given = new Map<string, string>();
  for (const [i, v] of variables.entries()) {
    if (given.has(v.name))
      issues.push({ field: `titleVariables.${i}.name`, message: `${v.name} given twice` });
    given.set(v.name, v.value);
  }
  const unknown = [...given.keys()].filter((n) => !t.titleVariables.includes(n));
  if (unknown.length) {
    issues.push({ field: 'titleVariables', message: `unknown variable(s): ${unknown.join(', ')}` });
  }
  const missing = t.titleVariables.filter((n) => !given.has(n));
  if (missing.length) {
    issues.push({ field: 'titleVariables', message: `missing variable(s): ${missing.join(', ')}` });
  }
  for (const [name, value] of given) {
    if (!t.titleVariables.includes(name)) continue;
    const problem =
      value.trim() === ''
        ? 'must not be blank'
        : value.length > MAX_VARIABLE_VALUE
          ? `at most ${MAX_VARIABLE_VALUE} characters`
          : /\p{Cc}/u.test(value)
            ? 'must not contain line breaks or control characters'
            : /\{\{|\}\}/.test(value)
              ? 'must not contain {{ or }}'
              : null;
    if (problem) issues.push({ field: `titleVariables.${name}`, message: problem });
  }
  if (issues.length) throw invalid(issues);
  const title = t.titlePattern.replace(PLACEHOLDER, (_m, name: string) => given.get(name) as string).trim();
  if (title.length < TITLE_MIN || title.length > TITLE_MAX) {
    throw invalid([
      { field: 'titleVariables', message: `the title must be ${TITLE_MIN}–${TITLE_MAX} characters` },
    ]);
  }
  return title;
}

function checkWindow(start: string, end: string, now: string): void {
  const startMs = parseInstant(start);
  const endMs = parseInstant(end);
  const fail = (message: string) => new AppError('SCHEDULE_INVALID_WINDOW', message, { start, end });
  if (startMs === null || endMs === null)
    throw fail('plannedStart and plannedEnd must be ISO-8601 date-times');
  if (endMs <= startMs) throw fail(`plannedEnd ${end} must be after plannedStart ${start}`);
  if (startMs < Date.parse(now)) throw fail(`plannedStart ${start} is in the past (now ${now})`);
}

export interface FromTemplateInput {
  titleVariables: TitleVariable[];
  plannedStart: string;
  plannedEnd: string;
  /** Committed with the change (TemplateOrigin.alsoCommit): a deployment's link to it. */
  alsoCommit?: TemplateOrigin['alsoCommit'];
}

/**
 * A DRAFT STANDARD change with everything but its title variables and window taken from the
 * template's current version, which it records. Submitting it pre-approves it only if its risk
 * (the higher of the template's and the computed one) is LOW and the template is still ACTIVE.
 */
export async function createChangeFromTemplate(
  ctx: AuthedContext,
  templateId: string,
  input: FromTemplateInput,
): Promise<ChangeRecord> {
  const t = await getTemplate(ctx.db, ctx.principal.tenantId, templateId);
  if (!t) throw templateNotFound(templateId);
  if (t.status !== 'ACTIVE') throw retired(t);
  const title = renderTitle(t, input.titleVariables);
  checkWindow(input.plannedStart, input.plannedEnd, ctx.now().toISOString());
  return createChange(
    ctx,
    {
      title,
      description: t.description,
      type: 'STANDARD',
      impact: t.impact,
      urgency: t.urgency,
      affectedServices: t.affectedServices,
      implementationPlan: t.implementationPlan,
      backoutPlan: t.backoutPlan,
      testPlan: t.testPlan,
      runbookWorkflowId: t.runbookWorkflowId,
    },
    {
      templateId: t.id,
      templateVersion: t.version,
      runbookInputs: t.runbookInputs,
      plannedStart: input.plannedStart,
      plannedEnd: input.plannedEnd,
      ...(input.alsoCommit ? { alsoCommit: input.alsoCommit } : {}),
    },
  );
}
