import type { AuditEventRecord } from '../db/audit';
import type { AuditChainVerification } from '../domain/auditChain';
import type { Page } from '../domain/pagination';
import { AUDIT_PAGE_SIZE, auditLogPage, verifyTenantAuditChain } from '../usecases/reports';
import { builder } from './builder';
import { definePage, pageArgs } from './page';

const AuditEventRef = builder.objectRef<AuditEventRecord>('AuditEvent').implement({
  description: 'One entry of the tenant’s hash-chained audit trail.',
  fields: (t) => ({
    id: t.exposeID('id'),
    seq: t.exposeInt('seq', { description: 'Position in the tenant’s chain, from 1.' }),
    actorId: t.exposeID('actorId'),
    actorType: t.exposeString('actorType'),
    source: t.exposeString('source', { description: '`graphql`, `mcp`, `rest` or `system`.' }),
    toolName: t.exposeString('toolName', { nullable: true, description: 'The MCP tool, for source mcp.' }),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeID('targetId'),
    requestId: t.exposeString('requestId'),
    before: t.expose('before', { type: 'JSON', nullable: true }),
    after: t.expose('after', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    prevHash: t.exposeString('prevHash'),
    hash: t.exposeString('hash'),
  }),
});

const AuditDetailEnum = builder.enumType('AuditDetail', {
  description: 'How much of each audit event the page carries.',
  values: {
    SUMMARY: { description: 'Who, what, when and the target; `before` and `after` are null.' },
    FULL: { description: 'With the `before` and `after` payloads.' },
  } as const,
});

/**
 * What an agent reads of an event: no hashes (128 characters of hex per event that nobody checks by
 * reading them; verify_audit_chain does), and the payloads only with detail FULL.
 */
const AUDIT_MCP_SELECTION =
  'nodes { id seq actorId actorType source toolName action targetType targetId requestId createdAt before after } ' +
  'pageInfo { hasNextPage endCursor }';

const AuditPageRef = definePage<AuditEventRecord, Page<AuditEventRecord>>('AuditEventPage', AuditEventRef);

const AuditVerificationRef = builder.objectRef<AuditChainVerification>('AuditChainVerification').implement({
  description: 'The result of recomputing every hash of the tenant’s audit chain.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    checked: t.exposeInt('checked', { description: 'Events verified.' }),
    brokenAtSeq: t.exposeInt('brokenAtSeq', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
  }),
});

builder.queryFields((t) => ({
  auditLog: t.withAuth({ viewer: true }).field({
    type: AuditPageRef,
    description:
      'Audit events, newest first: of one change (or other target) when targetId is given, else of the tenant.',
    mcp: {
      name: 'get_audit_log',
      toolset: 'admin',
      description:
        'Audit events, newest first: of one change (or other target) when targetId is given, else of the ' +
        'tenant. detail SUMMARY (the default) says who did what, when, to which target; FULL adds the ' +
        'before/after payloads. verify_audit_chain checks the hash chain.',
      selection: AUDIT_MCP_SELECTION,
    },
    mcpResource: {
      uriTemplate: 'changeflow://changes/{targetId}/audit',
      name: 'change_audit_log',
      title: 'Audit log of a change',
      description: 'The audit events of one change, newest first (detail SUMMARY).',
      selection: AUDIT_MCP_SELECTION,
    },
    args: {
      targetId: t.arg.id({ required: false, description: 'A change id, approval id, freeze window id…' }),
      ...pageArgs(t, AUDIT_PAGE_SIZE),
      // No GraphQL default: a GraphQL client picks its fields and gets FULL as before; an agent
      // cannot, so through MCP (a tool or resource call) leaving it out means SUMMARY.
      detail: t.arg({
        type: AuditDetailEnum,
        required: false,
        description:
          'SUMMARY: who, what, when, target (before/after null); FULL: with before/after. ' +
          'Default: SUMMARY through MCP, FULL over GraphQL.',
      }),
    },
    resolve: async (_r, { targetId, detail, ...page }, ctx) => {
      const events = await auditLogPage(ctx, targetId || null, page);
      if ((detail ?? (ctx.source === 'mcp' ? 'SUMMARY' : 'FULL')) === 'FULL') return events;
      return { ...events, nodes: events.nodes.map((e) => ({ ...e, before: null, after: null })) };
    },
  }),
  verifyAuditChain: t.withAuth({ changeManager: true }).field({
    type: AuditVerificationRef,
    description: 'Recomputes the tenant’s audit hash chain and reports the first broken link.',
    mcp: { name: 'verify_audit_chain', toolset: 'admin' },
    resolve: (_r, _a, ctx) => verifyTenantAuditChain(ctx),
  }),
}));
