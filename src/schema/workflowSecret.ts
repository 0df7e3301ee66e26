import type { WorkflowSecretRecord } from '../db/workflowSecrets';
import {
  deleteWorkflowSecret,
  MAX_ALLOWED_HOSTS,
  setWorkflowSecret,
  workflowSecrets,
} from '../usecases/workflows/secrets';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';

/**
 * A tenant's workflow secrets. No field, argument echo or error ever carries a value. Only the
 * listing is an MCP tool: a value typed into an agent would pass through its context, so setting
 * and deleting stay GraphQL mutations for admins.
 */
const WorkflowSecretRef = builder.objectRef<WorkflowSecretRecord>('WorkflowSecret').implement({
  description:
    'A credential workflow steps use as {{ secrets.NAME }}. Its value is encrypted at rest and can never be read back.',
  fields: (t) => ({
    name: t.exposeString('name'),
    allowedHosts: t.exposeStringList('allowedHosts', {
      description:
        'The only hosts a step may send this secret to: exact names, or *.example.com for subdomains. ' +
        'Not used for a webhook trigger’s signing secret.',
    }),
    keyId: t.exposeString('keyId', {
      description:
        'The encryption key the value is sealed under; changes when the value is saved after a key rotation.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    createdBy: t.exposeID('createdBy'),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    updatedBy: t.exposeID('updatedBy'),
  }),
});

builder.queryFields((t) => ({
  workflowSecrets: t.withAuth({ changeManager: true }).field({
    type: [WorkflowSecretRef],
    description: 'The tenant’s workflow secrets by name, with where they may be sent (never their values).',
    mcp: {
      name: 'list_workflow_secrets',
      toolset: 'workflows',
      // What a step author needs: the name to reference and the hosts it may go to.
      selection: 'name allowedHosts',
    },
    args: { first: firstArg(t, 25, 500) },
    resolve: async (_r, { first }, ctx) => firstOf(await workflowSecrets(ctx), first),
  }),
}));

builder.mutationFields((t) => ({
  setWorkflowSecret: t.withAuth({ admin: true }).field({
    type: WorkflowSecretRef,
    description:
      'Creates a workflow secret, or replaces its value and allowed hosts (a rotation). The value is ' +
      'encrypted and never shown again.',
    args: {
      name: t.arg.string({ description: 'UPPER_SNAKE_CASE, as steps name it: {{ secrets.NAME }}.' }),
      value: t.arg.string({ description: 'The credential; write-only.' }),
      allowedHosts: t.arg.stringList({
        description: `Hosts steps may send it to (at most ${MAX_ALLOWED_HOSTS}): api.example.com, or *.example.com for subdomains.`,
      }),
    },
    resolve: (_r, args, ctx) => setWorkflowSecret(ctx, args),
  }),
  deleteWorkflowSecret: t.withAuth({ admin: true }).field({
    type: WorkflowSecretRef,
    description: 'Deletes a workflow secret; steps that name it fail from now on. Returns what was removed.',
    args: { name: t.arg.string() },
    resolve: (_r, args, ctx) => deleteWorkflowSecret(ctx, args.name),
  }),
}));
