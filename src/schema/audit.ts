import { type AuditEventRecord, listAuditEvents } from '../db/audit';
import type { AuditChainVerification } from '../domain/auditChain';
import { decodeCursor, type Page, toPage } from '../domain/pagination';
import { authed } from '../usecases/context';
import { verifyTenantAuditChain } from '../usecases/reports';
import { builder } from './builder';
import { definePage } from './page';

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

const isSeqCursor = (v: unknown): v is { seq: number } =>
  typeof v === 'object' && v !== null && Number.isInteger((v as { seq: unknown }).seq);

builder.queryFields((t) => ({
  auditLog: t.field({
    type: AuditPageRef,
    description:
      'Audit events, newest first: of one change (or other target) when targetId is given, else of the tenant.',
    authScopes: { viewer: true },
    mcp: { name: 'get_audit_log' },
    mcpResource: {
      uriTemplate: 'changeflow://changes/{targetId}/audit',
      name: 'change_audit_log',
      title: 'Audit log of a change',
      description: 'The audit events of one change, newest first.',
    },
    args: {
      targetId: t.arg.id({ required: false, description: 'A change id, approval id, freeze window id…' }),
      first: t.arg.int({ required: false, defaultValue: 50, validate: { min: 1, max: 200 } }),
      after: t.arg.string({ required: false }),
    },
    resolve: async (_r, args, ctx) => {
      const { db, principal } = authed(ctx);
      const limit = args.first ?? 50;
      const cursor = args.after ? decodeCursor(args.after, isSeqCursor) : null;
      const rows = await listAuditEvents(db, principal.tenantId, {
        targetId: args.targetId ? String(args.targetId) : null,
        limit: limit + 1,
        beforeSeq: cursor?.seq ?? null,
      });
      return toPage(rows, limit, (e) => ({ seq: e.seq }));
    },
  }),
  verifyAuditChain: t.field({
    type: AuditVerificationRef,
    description: 'Recomputes the tenant’s audit hash chain and reports the first broken link.',
    authScopes: { changeManager: true },
    mcp: { name: 'verify_audit_chain' },
    resolve: (_r, _a, ctx) => verifyTenantAuditChain(authed(ctx)),
  }),
}));
