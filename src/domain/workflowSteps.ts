import * as z from 'zod';
import { hasControlOrSpace, templatedAuthority, writtenAuthority } from './egress';
import { transformSpecSchema } from './transform';

/**
 * The shape of a workflow definition: its ordered steps and its triggers, validated by type.
 * Secrets are never part of a definition: a step names them (`{{ secrets.DEPLOY_TOKEN }}`) and
 * the engine opens them from the tenant's secret store (src/usecases/workflows/secrets.ts) in the
 * attempt that sends them.
 */

export const STEP_TYPES = ['http-request', 'transform', 'delay', 'approval-gate'] as const;
export const TRIGGER_TYPES = ['manual', 'webhook', 'cron', 'change-approved'] as const;
export const MAX_STEPS = 50;
export const MAX_TRIGGERS = 10;
export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;

export const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,63}$/;
/** `{{ secrets.NAME }}`; the name is checked separately so that a bad one is named. */
const SECRET_REF = /\{\{\s*secrets\.([^\s}]*)\s*\}\}/g;
/** A header value that carries a credential must be exactly a reference, with an optional scheme. */
const CREDENTIAL_VALUE = /^(?:(?:Bearer|Basic|Token|Bot)\s+)?\{\{\s*secrets\.[A-Z][A-Z0-9_]{0,63}\s*\}\}$/i;
const CREDENTIAL_HEADER =
  /^(?:authorization|proxy-authorization|cookie|x-api-key|api-key|apikey)$|token|secret|password|signature|api[-_]?key/i;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^`|~-]{1,100}$/;
const STEP_ID = /^[a-z][a-z0-9_-]{0,62}$/;
const STATUS_RANGE = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/;
export const CHANGE_ID = /^CHG-\d{8}-[A-Z0-9]{6}$/;

/** Every `{{ secrets.X }}` reference in a text; flags names that are not SECRET_NAME. */
export function secretRefs(text: string): string[] {
  return [...text.matchAll(SECRET_REF)].map((m) => m[1] ?? '');
}

function checkSecretRefs(text: string, ctx: z.RefinementCtx, path: (string | number)[]) {
  for (const name of secretRefs(text)) {
    if (!SECRET_NAME.test(name)) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `secret reference "${name}" must be an UPPER_SNAKE_CASE secret name, e.g. {{ secrets.DEPLOY_TOKEN }}`,
      });
    }
  }
}

const template = (max: number) =>
  z
    .string()
    .max(max)
    .superRefine((s, ctx) => checkSecretRefs(s, ctx, []));

const url = z
  .string()
  .max(2048)
  .superRefine((s, ctx) => {
    let parsed: URL;
    try {
      parsed = new URL(s);
    } catch {
      ctx.addIssue({
        code: 'custom',
        message: 'must be an absolute http(s) URL, e.g. https://deploy.example.com/hooks',
      });
      return;
    }
    const httpScheme = parsed.protocol === 'http:' || parsed.protocol === 'https:';
    if (!httpScheme) {
      ctx.addIssue({
        code: 'custom',
        message: `must use http or https, not ${parsed.protocol.slice(0, -1)}`,
      });
    }
    if (parsed.username || parsed.password) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not carry credentials; put them in a header as {{ secrets.NAME }}',
      });
    }
    // Where a request may go is decided by what is written here (egress.ts checks the host):
    // the text must say plainly what the parser will read.
    const written = writtenAuthority(s);
    if (httpScheme && !written.ok) ctx.addIssue({ code: 'custom', message: written.message });
    if (hasControlOrSpace(s)) {
      ctx.addIssue({
        code: 'custom',
        message: 'must not contain spaces or control characters (percent-encode them)',
      });
    }
    const templated = templatedAuthority(s);
    if (templated) ctx.addIssue({ code: 'custom', message: templated });
    checkSecretRefs(s, ctx, []);
  });

const headers = z
  .record(z.string().regex(HEADER_NAME, 'must be an HTTP header name'), z.string().max(8192))
  .superRefine((h, ctx) => {
    const names = Object.keys(h);
    if (names.length > 30) ctx.addIssue({ code: 'custom', message: 'at most 30 headers' });
    for (const [name, value] of Object.entries(h)) {
      checkSecretRefs(value, ctx, [name]);
      if (name.toLowerCase() === 'host') {
        // The egress policy checks the URL's host; a Host header naming another would send the
        // request to a virtual host nobody checked.
        ctx.addIssue({ code: 'custom', path: [name], message: 'must not be set: the URL decides the host' });
      }
      if (CREDENTIAL_HEADER.test(name) && !CREDENTIAL_VALUE.test(value.trim())) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message:
            'carries a credential: reference a workflow secret instead of a literal value, e.g. "Bearer {{ secrets.DEPLOY_TOKEN }}"',
        });
      }
    }
  });

const statusRange = z.string().superRefine((s, ctx) => {
  const m = STATUS_RANGE.exec(s);
  if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
    ctx.addIssue({ code: 'custom', message: 'must be a status (e.g. "204") or a range (e.g. "200-299")' });
  }
});

const retry = z
  .strictObject({
    maxAttempts: z.int().min(1).max(10).default(3),
    baseDelayMs: z.int().min(0).max(60_000).default(1000),
    capMs: z.int().min(0).max(300_000).default(30_000),
  })
  .refine((r) => r.capMs >= r.baseDelayMs, { message: 'must be at least baseDelayMs', path: ['capMs'] });

const stepId = z
  .string()
  .regex(STEP_ID, 'must be a slug: lowercase letters, digits, - and _, starting with a letter');

export const httpRequestStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('http-request'),
  url,
  method: z.enum(HTTP_METHODS).default('GET'),
  headers: headers.default({}),
  body: template(65_536).optional(),
  timeoutMs: z.int().min(1).max(60_000).default(10_000),
  retry: retry.default({ maxAttempts: 3, baseDelayMs: 1000, capMs: 30_000 }),
  successStatuses: z.array(statusRange).min(1).max(20).default(['200-299']),
});

export const transformStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('transform'),
  spec: transformSpecSchema,
});

export const delayStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('delay'),
  durationMs: z.int().min(1).max(86_400_000),
});

export const approvalGateStepSchema = z.strictObject({
  id: stepId,
  type: z.literal('approval-gate'),
  changeId: z.string().regex(CHANGE_ID, 'must be a change id, CHG-YYYYMMDD-XXXXXX'),
});

const STEP_SCHEMAS = {
  'http-request': httpRequestStepSchema,
  transform: transformStepSchema,
  delay: delayStepSchema,
  'approval-gate': approvalGateStepSchema,
} as const;

export type WorkflowStep = z.output<(typeof STEP_SCHEMAS)[keyof typeof STEP_SCHEMAS]>;

/**
 * Minute, hour, day of month, month, day of week: `*`, `a`, `a-b`, any of them `/n`, lists with `,`.
 * Shared with the matcher in cron.ts, so that what validates is exactly what runs.
 */
export const CRON_FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
  },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

export type CronFieldSpec = (typeof CRON_FIELDS)[number];

/** One element of a field's comma list: `*` or `a` or `a-b` (group 1), then an optional `/n` (group 2). */
export const CRON_PART = /^(\*|[A-Za-z0-9]+(?:-[A-Za-z0-9]+)?)(?:\/(\d{1,2}))?$/;

/** The number a cron value stands for in its field (a name such as JAN or MON, or 1-2 digits); NaN if neither. */
export function cronFieldValue(spec: CronFieldSpec, v: string): number {
  const names: readonly string[] = 'names' in spec ? spec.names : [];
  const byName = names.indexOf(v.toUpperCase());
  if (byName >= 0) return byName + (spec.min === 1 ? 1 : 0);
  return /^\d{1,2}$/.test(v) ? Number(v) : Number.NaN;
}

/** Why a 5-field cron expression is invalid, or null when it is valid. */
export function cronProblem(expression: string): string | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5)
    return `must have 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}`;
  for (const [i, spec] of CRON_FIELDS.entries()) {
    const field = fields[i] as string;
    const value = (v: string) => cronFieldValue(spec, v);
    for (const part of field.split(',')) {
      const m = CRON_PART.exec(part);
      const bad = `${spec.name} "${field}" is not valid (allowed ${spec.min}-${spec.max}, *, a-b, */n, lists)`;
      if (!m) return bad;
      const [, range, step] = m as unknown as [string, string, string | undefined];
      if (step !== undefined && Number(step) < 1) return bad;
      if (range === '*') continue;
      const [from, to] = range.split('-').map(value) as [number, number | undefined];
      const ok = (n: number | undefined) => n === undefined || (n >= spec.min && n <= spec.max);
      if (
        Number.isNaN(from) ||
        Number.isNaN(to ?? 0) ||
        !ok(from) ||
        !ok(to) ||
        (to !== undefined && to < from)
      ) {
        return bad;
      }
    }
  }
  return null;
}

export const triggerSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('manual') }),
  z.strictObject({
    type: z.literal('webhook'),
    secret: z
      .string()
      .regex(SECRET_NAME, 'must name a workflow secret (UPPER_SNAKE_CASE), never hold its value'),
  }),
  z.strictObject({
    type: z.literal('cron'),
    expression: z.string().superRefine((s, ctx) => {
      const problem = cronProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  }),
  z.strictObject({ type: z.literal('change-approved') }),
]);

export type WorkflowTrigger = z.output<typeof triggerSchema>;

/** Each step validated by its own type, so that every problem is reported with its step's index. */
export const stepsSchema = z
  .array(z.unknown())
  .min(1)
  .max(MAX_STEPS)
  .transform((steps, ctx) => {
    const out: WorkflowStep[] = [];
    const seen = new Map<string, number>();
    for (const [i, raw] of steps.entries()) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        ctx.addIssue({ code: 'custom', path: [i], message: 'must be an object with an id and a type' });
        continue;
      }
      const { type, id } = raw as { type?: unknown; id?: unknown };
      if (typeof type !== 'string' || !Object.hasOwn(STEP_SCHEMAS, type)) {
        ctx.addIssue({
          code: 'custom',
          path: [i, 'type'],
          message: `must be one of ${STEP_TYPES.join(', ')} (got ${JSON.stringify(type ?? null)})`,
        });
        continue;
      }
      if (typeof id === 'string') {
        const first = seen.get(id);
        if (first !== undefined) {
          ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicates the id of step ${first}` });
        } else seen.set(id, i);
      }
      const parsed = STEP_SCHEMAS[type as keyof typeof STEP_SCHEMAS].safeParse(raw);
      if (parsed.success) out.push(parsed.data);
      else
        for (const issue of parsed.error.issues)
          ctx.addIssue({ ...issue, path: [i, ...issue.path] } as never);
    }
    return out;
  });

export const triggersSchema = z.array(triggerSchema).max(MAX_TRIGGERS);

export const workflowDefinitionSchema = z.strictObject({
  steps: stepsSchema,
  triggers: triggersSchema.default([{ type: 'manual' }]),
});

export type WorkflowDefinition = z.output<typeof workflowDefinitionSchema>;

/** The workflow secrets a definition references, sorted: what an admin must set before it runs. */
export function referencedSecrets(definition: {
  steps: readonly WorkflowStep[];
  triggers: readonly WorkflowTrigger[];
}): string[] {
  const names = new Set<string>();
  for (const step of definition.steps) {
    if (step.type !== 'http-request') continue;
    for (const text of [step.url, step.body ?? '', ...Object.values(step.headers)]) {
      for (const name of secretRefs(text)) names.add(name);
    }
  }
  for (const trigger of definition.triggers) if (trigger.type === 'webhook') names.add(trigger.secret);
  return [...names].sort();
}
