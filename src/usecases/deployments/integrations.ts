import {
  type DeploymentIntegrationKind,
  type DeploymentIntegrationRecord,
  type DeploymentRecord,
  type EnvironmentMapping,
  getDeploymentIntegration,
  insertIntegrationStatement,
  integrationSecretName,
  listDeploymentIntegrations,
  listDeployments,
  updateIntegrationStatement,
} from '../../db/deployments';
import { newId } from '../../db/ids';
import { getTemplate } from '../../db/standardChangeTemplates';
import { byCreatedAt, PAGE_SIZE, type Page, type PageRequest, paginate } from '../../domain/pagination';
import { AppError } from '../../errors';
import { type SecretKeys, sealSecret } from '../../secrets/envelope';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';

/**
 * Deployment integrations: a tenant admin creates one per pipeline (GitHub, or a generic signed
 * JSON sender), maps each environment it deploys to onto a standard change template, and hands
 * the pipeline the signing secret, shown once. The secret is sealed like workflow secrets and
 * never read back; the audit trail records its key id and version, never the value.
 */

export const MAX_ENVIRONMENTS = 20;
export const MAX_ENVIRONMENT_CHARS = 100;
/** The title variables a deployment fills in when it raises a change from a template. */
export const DEPLOYMENT_TITLE_VARIABLES = ['environment', 'ref', 'commit', 'deployment'] as const;

const invalid = (field: string, message: string) =>
  new AppError('VALIDATION_FAILED', `${field}: ${message}`, { issues: [{ field, message }] });

export function integrationNotFound(id: string): AppError {
  return new AppError('DEPLOYMENT_INTEGRATION_NOT_FOUND', `No deployment integration ${id} in this tenant`, {
    integrationId: id,
  });
}

function requireKeys(ctx: AuthedContext): SecretKeys {
  if (!ctx.secretKeys) {
    throw new AppError(
      'SECRETS_NOT_CONFIGURED',
      'Deployment integrations need SECRETS_KEY to seal their signing secrets (see the README, Configuration)',
    );
  }
  return ctx.secretKeys;
}

/** 32 random bytes as hex, recognisable in a secret scanner by its prefix. */
function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `cfdep_${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

function checkName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 3 || trimmed.length > 100 || /\p{Cc}/u.test(trimmed)) {
    throw invalid('name', 'must be 3–100 characters without control characters');
  }
  return trimmed;
}

/**
 * Each environment once (case-insensitively: GitHub treats `Production` and `production` alike),
 * each mapped onto an ACTIVE template of the tenant whose title uses only the variables a
 * deployment fills in.
 */
async function checkEnvironments(
  ctx: AuthedContext,
  environments: readonly EnvironmentMapping[],
): Promise<EnvironmentMapping[]> {
  if (environments.length > MAX_ENVIRONMENTS) {
    throw invalid('environments', `at most ${MAX_ENVIRONMENTS} environments`);
  }
  const seen = new Set<string>();
  const out: EnvironmentMapping[] = [];
  for (const [i, m] of environments.entries()) {
    const environment = m.environment.trim();
    if (
      environment.length === 0 ||
      environment.length > MAX_ENVIRONMENT_CHARS ||
      /\p{Cc}/u.test(environment)
    ) {
      throw invalid(
        `environments.${i}.environment`,
        `must be 1–${MAX_ENVIRONMENT_CHARS} characters without control characters`,
      );
    }
    if (seen.has(environment.toLowerCase())) {
      throw invalid(`environments.${i}.environment`, `${environment} is mapped twice`);
    }
    seen.add(environment.toLowerCase());
    const template = await getTemplate(ctx.db, ctx.principal.tenantId, m.templateId);
    if (!template) {
      throw invalid(
        `environments.${i}.templateId`,
        `standard change template ${m.templateId} does not exist`,
      );
    }
    if (template.status !== 'ACTIVE') {
      throw invalid(`environments.${i}.templateId`, `standard change template ${m.templateId} is retired`);
    }
    const unknown = template.titleVariables.filter(
      (v) => !(DEPLOYMENT_TITLE_VARIABLES as readonly string[]).includes(v),
    );
    if (unknown.length) {
      throw invalid(
        `environments.${i}.templateId`,
        `the template's title uses ${unknown.join(', ')}; a deployment fills in only ${DEPLOYMENT_TITLE_VARIABLES.join(', ')}`,
      );
    }
    out.push({ environment, templateId: template.id });
  }
  return out;
}

/** What the audit trail records of an integration: everything but the secret. */
const audited = (r: DeploymentIntegrationRecord) => ({
  name: r.name,
  kind: r.kind,
  environments: r.environments,
  status: r.status,
  keyId: r.keyId,
  secretVersion: r.secretVersion,
  updatedAt: r.updatedAt,
  updatedBy: r.updatedBy,
  disabledAt: r.disabledAt,
});

export interface IntegrationWithSecret {
  integration: DeploymentIntegrationRecord;
  /** The signing secret: in this answer only, never stored in the clear nor shown again. */
  secret: string;
}

export async function createDeploymentIntegration(
  ctx: AuthedContext,
  input: { name: string; kind: DeploymentIntegrationKind; environments: readonly EnvironmentMapping[] },
): Promise<IntegrationWithSecret> {
  const name = checkName(input.name);
  const keys = requireKeys(ctx);
  const environments = await checkEnvironments(ctx, input.environments);
  const id = newId('dpi');
  const { tenantId } = ctx.principal;
  const secret = newSigningSecret();
  const sealed = await sealSecret(keys, tenantId, integrationSecretName(id), secret);
  const now = ctx.now().toISOString();
  const integration: DeploymentIntegrationRecord = {
    id,
    tenantId,
    name,
    kind: input.kind,
    environments,
    status: 'ACTIVE',
    keyId: sealed.keyId,
    secretVersion: 1,
    createdAt: now,
    createdBy: ctx.principal.id,
    updatedAt: now,
    updatedBy: ctx.principal.id,
    disabledAt: null,
  };
  await commitWithAudit(ctx, async () => ({
    statements: [insertIntegrationStatement(ctx.db, integration, sealed)],
    audit: [
      {
        action: 'deployment_integration.created',
        targetType: 'DeploymentIntegration',
        targetId: id,
        before: null,
        after: audited(integration),
      },
    ],
    result: integration,
  }));
  return { integration, secret };
}

async function current(ctx: AuthedContext, id: string): Promise<DeploymentIntegrationRecord> {
  const found = await getDeploymentIntegration(ctx.db, ctx.principal.tenantId, id);
  if (!found) throw integrationNotFound(id);
  return found;
}

function assertActive(r: DeploymentIntegrationRecord): void {
  if (r.status !== 'ACTIVE') {
    throw new AppError(
      'DEPLOYMENT_INTEGRATION_DISABLED',
      `Deployment integration ${r.id} was disabled on ${r.disabledAt}; create another`,
      { integrationId: r.id, disabledAt: r.disabledAt },
    );
  }
}

/** A new secret, shown once; the old one stops verifying at once. */
export async function rotateDeploymentIntegrationSecret(
  ctx: AuthedContext,
  id: string,
): Promise<IntegrationWithSecret> {
  const keys = requireKeys(ctx);
  const secret = newSigningSecret();
  const sealed = await sealSecret(keys, ctx.principal.tenantId, integrationSecretName(id), secret);
  const integration = await commitWithAudit(ctx, async () => {
    const prev = await current(ctx, id);
    assertActive(prev);
    const next: DeploymentIntegrationRecord = {
      ...prev,
      keyId: sealed.keyId,
      secretVersion: prev.secretVersion + 1,
      updatedAt: ctx.now().toISOString(),
      updatedBy: ctx.principal.id,
    };
    return {
      statements: [updateIntegrationStatement(ctx.db, next, sealed)],
      audit: [
        {
          action: 'deployment_integration.secret_rotated',
          targetType: 'DeploymentIntegration',
          targetId: id,
          before: audited(prev),
          after: audited(next),
        },
      ],
      result: next,
    };
  });
  return { integration, secret };
}

export async function updateDeploymentIntegration(
  ctx: AuthedContext,
  id: string,
  patch: { name?: string | null; environments?: readonly EnvironmentMapping[] | null },
): Promise<DeploymentIntegrationRecord> {
  if (patch.name == null && patch.environments == null) {
    throw invalid('input', 'nothing to update: give name or environments');
  }
  const name = patch.name == null ? null : checkName(patch.name);
  const environments = patch.environments == null ? null : await checkEnvironments(ctx, patch.environments);
  return commitWithAudit(ctx, async () => {
    const prev = await current(ctx, id);
    assertActive(prev);
    const next: DeploymentIntegrationRecord = {
      ...prev,
      name: name ?? prev.name,
      environments: environments ?? prev.environments,
      updatedAt: ctx.now().toISOString(),
      updatedBy: ctx.principal.id,
    };
    return {
      statements: [updateIntegrationStatement(ctx.db, next, null)],
      audit: [
        {
          action: 'deployment_integration.updated',
          targetType: 'DeploymentIntegration',
          targetId: id,
          before: audited(prev),
          after: audited(next),
        },
      ],
      result: next,
    };
  });
}

/** ACTIVE → DISABLED, for good: deliveries to it are refused from now on. */
export async function disableDeploymentIntegration(
  ctx: AuthedContext,
  id: string,
): Promise<DeploymentIntegrationRecord> {
  return commitWithAudit(ctx, async () => {
    const prev = await current(ctx, id);
    assertActive(prev);
    const now = ctx.now().toISOString();
    const next: DeploymentIntegrationRecord = {
      ...prev,
      status: 'DISABLED',
      disabledAt: now,
      updatedAt: now,
      updatedBy: ctx.principal.id,
    };
    return {
      statements: [updateIntegrationStatement(ctx.db, next, null)],
      audit: [
        {
          action: 'deployment_integration.disabled',
          targetType: 'DeploymentIntegration',
          targetId: id,
          before: audited(prev),
          after: audited(next),
        },
      ],
      result: next,
    };
  });
}

export function deploymentIntegrations(
  ctx: AuthedContext,
  first: number,
): Promise<DeploymentIntegrationRecord[]> {
  return listDeploymentIntegrations(ctx.db, ctx.principal.tenantId, first);
}

export function deployments(
  ctx: AuthedContext,
  filter: { changeId?: string | null; integrationId?: string | null },
  request: PageRequest,
): Promise<Page<DeploymentRecord>> {
  return paginate(request, PAGE_SIZE, byCreatedAt, (limit, cursor) =>
    listDeployments(ctx.db, ctx.principal.tenantId, filter, limit, cursor),
  );
}
