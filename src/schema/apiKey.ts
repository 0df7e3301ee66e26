import type { ApiKeyRecord } from '../db/apiKeys';
import { ROLES } from '../domain/types';
import { apiKeys, createApiKey, revokeApiKey } from '../usecases/apiKeys';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';

const RoleEnum = builder.enumType('Role', {
  description: 'viewer < requester, approver < change_manager < admin.',
  values: ROLES,
});

const ApiKeyRef = builder.objectRef<ApiKeyRecord>('ApiKey').implement({
  description: 'A credential for an integration; the secret itself is only shown when created.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    prefix: t.exposeString('prefix', { description: 'The first characters of the key, to recognise it.' }),
    roles: t.field({ type: [RoleEnum], resolve: (k) => k.roles }),
    createdBy: t.exposeID('createdBy'),
    ownerId: t.exposeID('ownerId', {
      description:
        'The person the key belongs to. For segregation of duties the key is its owner: it never votes on the owner’s change, and the owner and all their keys are one vote.',
    }),
    ownerRoles: t.field({
      type: [RoleEnum],
      description:
        'The owner’s roles when the key was created; a vote through the key carries only the key roles these cover.',
      resolve: (k) => k.ownerRoles,
    }),
    delegatedVoting: t.exposeBoolean('delegatedVoting', {
      description:
        'Whether the key may cast its owner’s CAB votes and emergency overrides. Without it those acts are refused with APPROVAL_REQUIRES_PERSON.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    expiresAt: t.expose('expiresAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

const CreatedRef = builder.objectRef<{ apiKey: ApiKeyRecord; secret: string }>('ApiKeyCreated').implement({
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, resolve: (r) => r.apiKey }),
    secret: t.exposeString('secret', {
      description: 'The key: send it as `X-API-Key` or `Authorization: Bearer`. Shown only this once.',
    }),
  }),
});

builder.queryFields((t) => ({
  apiKeys: t.withAuth({ admin: true }).field({
    type: [ApiKeyRef],
    description: 'The tenant’s API keys, newest first (never their secrets).',
    args: { first: firstArg(t, 100, 500) },
    resolve: async (_r, { first }, ctx) => firstOf(await apiKeys(ctx), first),
  }),
}));

builder.mutationFields((t) => ({
  createApiKey: t.withAuth({ admin: true }).field({
    type: CreatedRef,
    description: 'Creates an API key for an integration, acting with the given roles.',
    // The key's value is in the answer: never kept for an idempotent replay.
    returnsSecret: { createdId: (created) => created.apiKey.id },
    args: {
      name: t.arg.string({ validate: { minLength: 3, maxLength: 100 } }),
      roles: t.arg({ type: [RoleEnum], validate: { minLength: 1, maxLength: 5 } }),
      expiresAt: t.arg({ type: 'DateTime', required: false }),
      delegatedVoting: t.arg.boolean({
        required: false,
        description:
          'Let the key cast your CAB votes and emergency overrides as your own one vote (default false). Only an admin signed in with a token (not a key) may set it.',
      }),
    },
    resolve: (_r, args, ctx) => createApiKey(ctx, args),
  }),
  revokeApiKey: t.withAuth({ admin: true }).field({
    type: ApiKeyRef,
    description: 'Revokes an API key at once; requests with it are refused from now on.',
    args: { id: t.arg.id() },
    resolve: (_r, args, ctx) => revokeApiKey(ctx, args.id),
  }),
}));
