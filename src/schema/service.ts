import type { ServiceInfo } from '../db/services';
import { services, tagService } from '../usecases/services';
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
  services: t.withAuth({ viewer: true }).field({
    type: [ServiceRef],
    description: 'Services known to the tenant (named by changes or tagged).',
    mcp: { name: 'list_services', toolset: 'delivery' },
    args: { first: firstArg(t, 50, 500) },
    resolve: async (_r, { first }, ctx) => firstOf(await services(ctx), first),
  }),
}));

builder.mutationFields((t) => ({
  // Not an MCP tool, on purpose: tags decide which services the compliance checks cover (`pci`),
  // and an agent should not take a service out of the checks its own changes are held to.
  tagService: t.withAuth({ changeManager: true }).field({
    type: ServiceRef,
    description: 'Sets the tags of a service, creating it if needed.',
    args: {
      name: t.arg.string({ validate: { minLength: 1, maxLength: 100 }, description: 'The service name.' }),
      tags: t.arg.stringList({
        validate: { maxLength: 20, items: { minLength: 1, maxLength: 50 } },
        description: 'The service’s tags, replacing the ones it had (at most 20).',
      }),
    },
    resolve: (_r, args, ctx) => tagService(ctx, args),
  }),
}));
