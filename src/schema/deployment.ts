import type { DeploymentIntegrationRecord, DeploymentRecord, EnvironmentMapping } from '../db/deployments';
import type { Page } from '../domain/pagination';
import {
  createDeploymentIntegration,
  DEPLOYMENT_TITLE_VARIABLES,
  deploymentIntegrations,
  deployments,
  disableDeploymentIntegration,
  type IntegrationWithSecret,
  MAX_ENVIRONMENTS,
  rotateDeploymentIntegrationSecret,
  updateDeploymentIntegration,
} from '../usecases/deployments/integrations';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';
import { definePage, pageArgs } from './page';

/**
 * Deployment integrations (admin configuration) and the deployments they reported
 * (docs/deployments.md). Not MCP tools: an integration's secret has no business in an agent's
 * context, and the catalog stays within its budget.
 */

const IntegrationKindEnum = builder.enumType('DeploymentIntegrationKind', {
  description:
    'GITHUB: GitHub’s deployment and deployment_status webhooks (X-Hub-Signature-256). GENERIC: the signed JSON shape of docs/deployments.md.',
  values: ['GITHUB', 'GENERIC'] as const,
});

const IntegrationStatusEnum = builder.enumType('DeploymentIntegrationStatus', {
  description: 'ACTIVE: deliveries are accepted; DISABLED: refused, for good.',
  values: ['ACTIVE', 'DISABLED'] as const,
});

const DeploymentStatusEnum = builder.enumType('DeploymentStatus', {
  description:
    'What the pipeline last reported (PENDING, IN_PROGRESS, SUCCEEDED, FAILED, INACTIVE), or BLOCKED when the gate refused it.',
  values: ['PENDING', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED', 'INACTIVE', 'BLOCKED'] as const,
});

const EnvironmentMappingRef = builder
  .objectRef<EnvironmentMapping>('DeploymentEnvironmentMapping')
  .implement({
    description:
      'An environment the pipeline deploys to, and the standard change template its deployments raise.',
    fields: (t) => ({
      environment: t.exposeString('environment'),
      templateId: t.exposeID('templateId'),
    }),
  });

const IntegrationRef = builder.objectRef<DeploymentIntegrationRecord>('DeploymentIntegration').implement({
  description:
    'A pipeline that reports deployments to POST /hooks/deployments/{id}, signed with a secret shown only when created or rotated.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    kind: t.field({ type: IntegrationKindEnum, resolve: (r) => r.kind }),
    environments: t.field({
      type: [EnvironmentMappingRef],
      args: { first: firstArg(t, MAX_ENVIRONMENTS, MAX_ENVIRONMENTS) },
      resolve: (r, { first }) => firstOf(r.environments, first),
    }),
    status: t.field({ type: IntegrationStatusEnum, resolve: (r) => r.status }),
    secretVersion: t.exposeInt('secretVersion', { description: '1 when created, one more per rotation.' }),
    hookPath: t.string({
      description: 'Where the pipeline sends deliveries, relative to this server.',
      resolve: (r) => `/hooks/deployments/${r.id}`,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeID('createdBy'),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeID('updatedBy'),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
  }),
});

const WithSecretRef = builder.objectRef<IntegrationWithSecret>('DeploymentIntegrationSecret').implement({
  fields: (t) => ({
    integration: t.field({ type: IntegrationRef, resolve: (r) => r.integration }),
    secret: t.exposeString('secret', {
      description:
        'The signing secret: set it in the pipeline (GitHub: the webhook’s Secret). Shown only this once.',
    }),
  }),
});

const DeploymentRef = builder.objectRef<DeploymentRecord>('Deployment').implement({
  description: 'A deployment a pipeline reported, and the change it runs under.',
  fields: (t) => ({
    id: t.exposeID('id'),
    integrationId: t.exposeID('integrationId'),
    externalId: t.exposeString('externalId', { description: 'The pipeline’s own id of the deployment.' }),
    environment: t.exposeString('environment'),
    commit: t.exposeString('commit'),
    ref: t.exposeString('ref'),
    url: t.exposeString('url', { nullable: true }),
    status: t.field({ type: DeploymentStatusEnum, resolve: (r) => r.status }),
    changeId: t.exposeID('changeId', { nullable: true }),
    changeCreated: t.exposeBoolean('changeCreated', {
      description: 'Whether the change was raised from the environment’s template for this deployment.',
    }),
    blockedCode: t.exposeString('blockedCode', { nullable: true }),
    blockedReason: t.exposeString('blockedReason', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const DeploymentPageRef = definePage<DeploymentRecord, Page<DeploymentRecord>>(
  'DeploymentPage',
  DeploymentRef,
);

const EnvironmentMappingInput = builder.inputType('DeploymentEnvironmentInput', {
  fields: (t) => ({
    environment: t.string({ validate: { minLength: 1, maxLength: 100 }, description: 'e.g. production' }),
    templateId: t.id({
      description: `An ACTIVE standard change template whose title uses only ${DEPLOYMENT_TITLE_VARIABLES.join(', ')}.`,
    }),
  }),
});

const ENVIRONMENTS_DOC = `Each environment once (at most ${MAX_ENVIRONMENTS}); a deployment elsewhere is blocked.`;

builder.queryFields((t) => ({
  deploymentIntegrations: t.withAuth({ admin: true }).field({
    type: [IntegrationRef],
    description: 'The tenant’s deployment integrations, newest first (never their secrets).',
    args: { first: firstArg(t, 50, 200) },
    resolve: (_r, { first }, ctx) => deploymentIntegrations(ctx, first ?? 50),
  }),
  deployments: t.withAuth({ viewer: true }).field({
    type: DeploymentPageRef,
    description: 'Deployments pipelines reported, newest first, optionally of one change or integration.',
    args: {
      changeId: t.arg.id({ required: false }),
      integrationId: t.arg.id({ required: false }),
      ...pageArgs(t),
    },
    resolve: (_r, { changeId, integrationId, ...page }, ctx) =>
      deployments(ctx, { changeId, integrationId }, page),
  }),
}));

builder.mutationFields((t) => ({
  createDeploymentIntegration: t.withAuth({ admin: true }).field({
    type: WithSecretRef,
    description: 'Creates a deployment integration and its signing secret (shown once).',
    returnsSecret: { createdId: (r) => r.integration.id },
    args: {
      name: t.arg.string({ validate: { minLength: 3, maxLength: 100 } }),
      kind: t.arg({ type: IntegrationKindEnum }),
      environments: t.arg({
        type: [EnvironmentMappingInput],
        validate: { maxLength: MAX_ENVIRONMENTS },
        description: ENVIRONMENTS_DOC,
      }),
    },
    resolve: (_r, args, ctx) => createDeploymentIntegration(ctx, args),
  }),
  rotateDeploymentIntegrationSecret: t.withAuth({ admin: true }).field({
    type: WithSecretRef,
    description: 'Replaces the signing secret (shown once); the old one stops verifying at once.',
    returnsSecret: { createdId: (r) => r.integration.id },
    args: { id: t.arg.id() },
    resolve: (_r, { id }, ctx) => rotateDeploymentIntegrationSecret(ctx, id),
  }),
  updateDeploymentIntegration: t.withAuth({ admin: true }).field({
    type: IntegrationRef,
    description: 'Renames an integration or replaces its environment mapping.',
    args: {
      id: t.arg.id(),
      name: t.arg.string({ required: false, validate: { minLength: 3, maxLength: 100 } }),
      environments: t.arg({
        type: [EnvironmentMappingInput],
        required: false,
        validate: { maxLength: MAX_ENVIRONMENTS },
        description: ENVIRONMENTS_DOC,
      }),
    },
    resolve: (_r, { id, name, environments }, ctx) =>
      updateDeploymentIntegration(ctx, id, { name, environments }),
  }),
  disableDeploymentIntegration: t.withAuth({ admin: true }).field({
    type: IntegrationRef,
    description: 'Disables an integration for good: its deliveries are refused from now on.',
    args: { id: t.arg.id() },
    resolve: (_r, { id }, ctx) => disableDeploymentIntegration(ctx, id),
  }),
}));
