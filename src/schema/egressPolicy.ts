import type { EgressPolicyRecord } from '../db/egressPolicies';
import { MAX_ALLOWED_HOSTS } from '../domain/egress';
import { readEgressPolicy, setEgressPolicy } from '../usecases/workflows/egressPolicy';
import { builder } from './builder';

export const EgressPolicyRef = builder.objectRef<EgressPolicyRecord>('EgressPolicy').implement({
  description:
    'Which hosts the tenant’s workflow HTTP steps may call. Loopback, private (RFC 1918), CGNAT, ' +
    'link-local, metadata and other internal addresses and names are refused whatever this says; ' +
    'when allowedHosts is not empty, a step may only call a host on it.',
  fields: (t) => ({
    allowedHosts: t.exposeStringList('allowedHosts', {
      description:
        'Exact hosts and `*.example.com` patterns (any subdomain, not the domain itself); empty: no allow-list.',
    }),
    restricted: t.boolean({
      description: 'True when the allow-list is in force (allowedHosts is not empty).',
      resolve: (p) => p.allowedHosts.length > 0,
    }),
    updatedBy: t.exposeString('updatedBy', { nullable: true }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  egressPolicy: t.withAuth({ changeManager: true }).field({
    type: EgressPolicyRef,
    description: 'The tenant’s egress allow-list for workflow HTTP steps.',
    mcp: {
      name: 'get_egress_policy',
      toolset: 'workflows',
      // Where steps may go; GraphQL has who changed it and when.
      selection: 'allowedHosts restricted',
    },
    resolve: (_r, _a, ctx) => readEgressPolicy(ctx),
  }),
}));

builder.mutationFields((t) => ({
  setEgressPolicy: t.withAuth({ admin: true }).field({
    type: EgressPolicyRef,
    description:
      'Replaces the tenant’s egress allow-list (admin; audited). Saving a workflow, and every ' +
      'attempt of its HTTP steps, is then refused with EGRESS_DENIED for a host not on it. An empty ' +
      'list clears it.',
    args: {
      allowedHosts: t.arg.stringList({
        description: `Up to ${MAX_ALLOWED_HOSTS} exact hosts (api.example.com, 203.0.113.7) or *.example.com patterns.`,
      }),
    },
    resolve: (_r, args, ctx) => setEgressPolicy(ctx, args.allowedHosts),
  }),
}));
