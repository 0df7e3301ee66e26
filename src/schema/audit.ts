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
    source: t.exposeString('source', { description: '`graphql`, `mcp` or `system`.' }),
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
    mcp: { name: 'get_audit_log' },
    mcpResource: {
      uriTemplate: 'changeflow://changes/{targetId}/audit',
      name: 'change_audit_log',
      title: 'Audit log of a change',
      description: 'The audit events of one change, newest first.',
    },
    args: {
      targetId: t.arg.id({ required: false, description: 'A change id, approval id, freeze window id…' }),
      ...pageArgs(t, AUDIT_PAGE_SIZE),
    },
    resolve: (_r, { targetId, ...page }, ctx) => auditLogPage(ctx, targetId || null, page),
  }),
  verifyAuditChain: t.withAuth({ changeManager: true }).field({
    type: AuditVerificationRef,
    description: 'Recomputes the tenant’s audit hash chain and reports the first broken link.',
    mcp: { name: 'verify_audit_chain' },
    resolve: (_r, _a, ctx) => verifyTenantAuditChain(ctx),
  }),
}));
