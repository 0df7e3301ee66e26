import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import ZodPlugin from '@pothos/plugin-zod';
import { hasScope } from '../domain/principal';
import { AppError } from '../errors';
import type { AuthedContext, RequestContext } from '../usecases/context';
import McpPlugin from './plugins/mcp';
import SecretResultPlugin from './plugins/secretResult';
import { zodErrorToAppError } from './validationError';

export const builder = new SchemaBuilder<{
  Context: RequestContext;
  AuthScopes: {
    viewer: boolean;
    requester: boolean;
    approver: boolean;
    changeManager: boolean;
    admin: boolean;
  };
  // Every scope needs a principal, so a field behind one (t.withAuth) resolves with it typed.
  AuthContexts: {
    viewer: AuthedContext;
    requester: AuthedContext;
    approver: AuthedContext;
    changeManager: AuthedContext;
    admin: AuthedContext;
  };
  Scalars: {
    // GraphQL's ID parses a literal or variable to a string whichever way it was sent.
    ID: { Input: string; Output: string | number };
    DateTime: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}>({
  plugins: [ScopeAuthPlugin, ZodPlugin, McpPlugin, SecretResultPlugin],
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  scopeAuth: {
    // Check a subscription's scopes when it starts, before its feed is opened with the typed
    // (authenticated) context, rather than on each event.
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      viewer: hasScope(ctx.principal, 'viewer'),
      requester: hasScope(ctx.principal, 'requester'),
      approver: hasScope(ctx.principal, 'approver'),
      changeManager: hasScope(ctx.principal, 'changeManager'),
      admin: hasScope(ctx.principal, 'admin'),
    }),
    unauthorizedError: (_parent, ctx, info) =>
      ctx.principal
        ? new AppError(
            'FORBIDDEN',
            `Your roles (${ctx.principal.roles.join(', ')}) may not use ${info.fieldName}`,
          )
        : new AppError('UNAUTHENTICATED', 'Authentication required'),
  },
  zod: { validationError: (error) => zodErrorToAppError(error) },
});

builder.queryType({ description: 'Read the change calendar, audit trail, compliance and KPIs.' });
builder.mutationType({ description: 'Move changes through their lifecycle; every mutation is audited.' });
builder.subscriptionType({ description: 'Live data: KPI snapshots and change events of your tenant.' });
