import { listServices, type ServiceInfo } from '../db/services';
import { authed } from '../usecases/context';
import { tagService } from '../usecases/services';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';

const ServiceRef = builder.objectRef<ServiceInfo>('Service').implement({
  description: 'A service that changes affect; the `pci` tag brings it under PCI DSS 6.4 checks.',
  fields: (t) => ({
    name: t.exposeString('name'),
    tags: t.exposeStringList('tags'),
  }),
});

builder.queryFields((t) => ({
  services: t.field({
    type: [ServiceRef],
    description: 'Services known to the tenant (named by changes or tagged).',
    authScopes: { viewer: true },
    mcp: { name: 'list_services' },
    args: { first: firstArg(t, 100, 500) },
    resolve: async (_r, { first }, ctx) => {
      const { db, principal } = authed(ctx);
      return firstOf(await listServices(db, principal.tenantId), first);
    },
  }),
}));

builder.mutationFields((t) => ({
  tagService: t.field({
    type: ServiceRef,
    description: 'Sets the tags of a service, creating it if needed.',
    authScopes: { changeManager: true },
    mcp: { name: 'tag_service', annotations: { idempotentHint: true } },
    args: {
      name: t.arg.string({ validate: { minLength: 1, maxLength: 100 } }),
      tags: t.arg.stringList({ validate: { maxLength: 20, items: { minLength: 1, maxLength: 50 } } }),
    },
    resolve: (_r, args, ctx) => tagService(authed(ctx), args),
  }),
}));
