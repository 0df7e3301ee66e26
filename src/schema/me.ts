import { builder } from './builder';

const MeRef = builder
  .objectRef<{ id: string; tenantId: string; roles: string[]; kind: string }>('Principal')
  .implement({
    description: 'The caller, as the server sees it.',
    fields: (t) => ({
      id: t.exposeID('id'),
      tenantId: t.exposeID('tenantId'),
      roles: t.exposeStringList('roles'),
      kind: t.exposeString('kind', { description: '`user` (JWT) or `api_key`.' }),
    }),
  });

builder.queryFields((t) => ({
  me: t.withAuth({ viewer: true }).field({
    type: MeRef,
    description: 'Who the server thinks you are: id, tenant and roles.',
    mcp: { name: 'whoami', toolset: 'changes' },
    resolve: (_r, _a, ctx) => ctx.principal,
  }),
}));
