import { listServices, type ServiceInfo, upsertServiceStatement } from '../db/services';
import { commitWithAudit } from './commit';
import type { AuthedContext } from './context';

/** Sets a service's tags (e.g. `pci`, which brings it under the PCI DSS 6.4 checks). */
export async function tagService(ctx: AuthedContext, service: ServiceInfo): Promise<ServiceInfo> {
  const tags = [...new Set(service.tags.map((t) => t.trim().toLowerCase()).filter(Boolean))].sort();
  const next = { name: service.name, tags };
  return commitWithAudit(ctx, async () => ({
    statements: [upsertServiceStatement(ctx.db, ctx.principal.tenantId, next, ctx.now().toISOString())],
    audit: [
      { action: 'service.tagged', targetType: 'Service', targetId: next.name, before: null, after: next },
    ],
    result: next,
  }));
}

/** Services known to the tenant: named by its changes or tagged. */
export function services(ctx: AuthedContext): Promise<ServiceInfo[]> {
  return listServices(ctx.db, ctx.principal.tenantId);
}
