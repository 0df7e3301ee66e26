import {
  deleteWorkflowSecretStatement,
  listWorkflowSecrets,
  sealedWorkflowSecrets,
  upsertWorkflowSecretStatement,
  type WorkflowSecretRecord,
  workflowSecretsNamed,
} from '../../db/workflowSecrets';
import { hostAllowed, hostRefusal, type OpenedSecret } from '../../domain/secretHosts';
import { SECRET_NAME, secretRefs, type WorkflowDefinition } from '../../domain/workflowSteps';
import { AppError } from '../../errors';
import { openSecret, type SecretKeys, sealSecret } from '../../secrets/envelope';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';

/**
 * A tenant's workflow secrets: set (create or rotate) and delete by admins, listed by change
 * managers, never read back. A value leaves this module only sealed (to D1) or, in
 * `openStepSecrets`, to the one HTTP attempt that sends it.
 */

export const MAX_SECRET_VALUE_CHARS = 8192;
export const MAX_ALLOWED_HOSTS = 20;

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
/** A host name or IPv4 address, or `*.` and a name of two labels or more (its subdomains). */
const HOST_PATTERN = new RegExp(
  `^(?:${LABEL}(?:\\.${LABEL})*|\\*\\.${LABEL}(?:\\.${LABEL})+|\\[[0-9a-f:.]+\\])$`,
);

const invalid = (field: string, message: string) =>
  new AppError('VALIDATION_FAILED', `${field}: ${message}`, { issues: [{ field, message }] });

function checkName(name: string): void {
  if (!SECRET_NAME.test(name)) {
    throw invalid(
      'name',
      'must be UPPER_SNAKE_CASE (A-Z, 0-9, _; starting with a letter; at most 64 characters)',
    );
  }
}

/** Lower-cased, each one a host name, an IP address or `*.domain`; duplicates dropped. */
export function normalizeAllowedHosts(hosts: readonly string[]): string[] {
  if (hosts.length > MAX_ALLOWED_HOSTS) throw invalid('allowedHosts', `at most ${MAX_ALLOWED_HOSTS} hosts`);
  const out = new Set<string>();
  for (const [i, raw] of hosts.entries()) {
    const host = raw.trim().toLowerCase();
    if (host.length > 253 || !HOST_PATTERN.test(host)) {
      throw invalid(
        `allowedHosts.${i}`,
        'must be an exact host name (api.example.com), an IP address, or *.example.com for its subdomains; no scheme, port or path',
      );
    }
    out.add(host);
  }
  return [...out];
}

function requireKeys(ctx: AuthedContext): SecretKeys {
  if (!ctx.secretKeys) {
    throw new AppError(
      'SECRETS_NOT_CONFIGURED',
      'Workflow secrets are not available: the deployment has no SECRETS_KEY (see the README, Configuration)',
    );
  }
  return ctx.secretKeys;
}

/** What the audit trail records of a secret: who, when, where it may go; never its value. */
const audited = (r: WorkflowSecretRecord) => ({
  name: r.name,
  allowedHosts: r.allowedHosts,
  keyId: r.keyId,
  updatedAt: r.updatedAt,
  updatedBy: r.updatedBy,
});

/** Creates a secret or replaces its value and hosts; a replacement is sealed under the current key. */
export async function setWorkflowSecret(
  ctx: AuthedContext,
  input: { name: string; value: string; allowedHosts: readonly string[] },
): Promise<WorkflowSecretRecord> {
  checkName(input.name);
  if (input.value.length === 0 || input.value.length > MAX_SECRET_VALUE_CHARS) {
    // The message names the limit, never the value.
    throw invalid('value', `must be 1–${MAX_SECRET_VALUE_CHARS} characters`);
  }
  const allowedHosts = normalizeAllowedHosts(input.allowedHosts);
  const keys = requireKeys(ctx);
  const { tenantId } = ctx.principal;
  const sealed = await sealSecret(keys, tenantId, input.name, input.value);
  return commitWithAudit(ctx, async () => {
    const prev = (await workflowSecretsNamed(ctx.db, tenantId, [input.name])).get(input.name) ?? null;
    const now = ctx.now().toISOString();
    const next: WorkflowSecretRecord = {
      tenantId,
      name: input.name,
      allowedHosts,
      keyId: sealed.keyId,
      createdAt: prev?.createdAt ?? now,
      createdBy: prev?.createdBy ?? ctx.principal.id,
      updatedAt: now,
      updatedBy: ctx.principal.id,
    };
    return {
      statements: [upsertWorkflowSecretStatement(ctx.db, next, sealed)],
      audit: [
        {
          action: prev ? 'workflow_secret.rotated' : 'workflow_secret.created',
          targetType: 'WorkflowSecret',
          targetId: input.name,
          before: prev && audited(prev),
          after: audited(next),
        },
      ],
      result: next,
    };
  });
}

export async function deleteWorkflowSecret(ctx: AuthedContext, name: string): Promise<WorkflowSecretRecord> {
  checkName(name);
  const { tenantId } = ctx.principal;
  return commitWithAudit(ctx, async () => {
    const prev = (await workflowSecretsNamed(ctx.db, tenantId, [name])).get(name);
    if (!prev) {
      throw new AppError('WORKFLOW_SECRET_NOT_FOUND', `No workflow secret ${name} in this tenant`, { name });
    }
    return {
      statements: [deleteWorkflowSecretStatement(ctx.db, tenantId, name)],
      audit: [
        {
          action: 'workflow_secret.deleted',
          targetType: 'WorkflowSecret',
          targetId: name,
          before: audited(prev),
          after: null,
        },
      ],
      result: prev,
    };
  });
}

export function workflowSecrets(ctx: AuthedContext): Promise<WorkflowSecretRecord[]> {
  return listWorkflowSecrets(ctx.db, ctx.principal.tenantId);
}

/** The host of a saved URL, or null when a template stands anywhere before the path. */
function literalHost(url: string): string | null {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url)?.[1];
  if (authority === undefined || authority.includes('{{')) return null;
  try {
    return new URL(url).hostname;
  } catch {
    return null;
  }
}

export interface DefinitionIssue {
  field: string;
  message: string;
}

/**
 * Save-time check of the secrets a definition names: each must be set in the caller's tenant,
 * and a step may only send it to a host in its allowedHosts. Another tenant's secrets are not
 * looked at, so a refusal says nothing about them.
 */
export async function secretIssues(
  ctx: AuthedContext,
  definition: WorkflowDefinition,
): Promise<DefinitionIssue[]> {
  const uses: { field: string; name: string; step?: number }[] = [];
  for (const [i, step] of definition.steps.entries()) {
    if (step.type !== 'http-request') continue;
    const texts: [string, string][] = [
      [`steps.${i}.url`, step.url],
      ...Object.entries(step.headers).map(([h, v]): [string, string] => [`steps.${i}.headers.${h}`, v]),
      ...(step.body === undefined ? [] : [[`steps.${i}.body`, step.body] as [string, string]]),
    ];
    for (const [field, text] of texts)
      for (const name of secretRefs(text)) uses.push({ field, name, step: i });
  }
  for (const [j, trigger] of definition.triggers.entries()) {
    if (trigger.type === 'webhook') uses.push({ field: `triggers.${j}.secret`, name: trigger.secret });
  }
  if (uses.length === 0) return [];
  const known = await workflowSecretsNamed(ctx.db, ctx.principal.tenantId, [
    ...new Set(uses.map((u) => u.name)),
  ]);
  const issues: DefinitionIssue[] = [];
  const push = (issue: DefinitionIssue) => {
    if (!issues.some((i) => i.field === issue.field && i.message === issue.message)) issues.push(issue);
  };
  for (const use of uses) {
    const secret = known.get(use.name);
    if (!secret) {
      push({
        field: use.field,
        message: `secret ${use.name} is not set in this tenant; an admin sets it with setWorkflowSecret`,
      });
      continue;
    }
    if (use.step === undefined) continue; // A webhook's signing secret is never sent anywhere.
    const step = definition.steps[use.step] as Extract<
      WorkflowDefinition['steps'][number],
      { type: 'http-request' }
    >;
    const host = literalHost(step.url);
    if (host === null) {
      push({
        field: `steps.${use.step}.url`,
        message: `sends secret ${use.name}, so its scheme and host must be literal (no template before the path)`,
      });
    } else if (!hostAllowed(host, secret.allowedHosts)) {
      push({ field: `steps.${use.step}.url`, message: hostRefusal(use.name, host, secret.allowedHosts) });
    }
  }
  return issues;
}

/**
 * Opens the named secrets of one tenant, for the HTTP attempt (or webhook check) that uses them
 * right away. Names the tenant has not set are absent; nothing is looked up in another tenant.
 * Throws an Error with a message fit for a step's record (no value, no key) when one does not open.
 */
export async function openStepSecrets(
  db: D1Database,
  keys: SecretKeys | null,
  tenantId: string,
  names: readonly string[],
): Promise<Map<string, OpenedSecret>> {
  const rows = await sealedWorkflowSecrets(db, tenantId, names);
  const out = new Map<string, OpenedSecret>();
  if (rows.size === 0) return out;
  if (!keys) throw new Error('workflow secrets cannot be opened: the deployment has no SECRETS_KEY');
  for (const [name, row] of rows) {
    out.set(name, {
      value: await openSecret(keys, tenantId, name, row.sealed),
      allowedHosts: row.allowedHosts,
    });
  }
  return out;
}
