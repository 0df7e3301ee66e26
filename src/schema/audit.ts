import type { AuditEventRecord } from '../db/audit';
import type { Page } from '../domain/pagination';
import {
  type BoundedVerification,
  VERIFICATION_RUNS_LIMIT,
  VERIFY_PAGE_EVENTS,
  type VerificationRunProgress,
  verificationRunsOf,
  verifyTenantAuditChain,
} from '../usecases/auditVerification';
import { AUDIT_PAGE_SIZE, auditLogPage } from '../usecases/reports';
import { builder } from './builder';
import { firstArg } from './listArgs';
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
    hashVersion: t.exposeInt('hashVersion', {
      description:
        'How `hash` was computed: 1 over the payloads as they are (events before retention and erasure), 2 over one hash per payload field, so a field can be redacted (`{"$redacted": "<sha256>"}`) while the chain verifies.',
    }),
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

/** The tool's (in every tools/list): who did what, when, to what, through which tool. */
const AUDIT_TOOL_SELECTION =
  'nodes { id actorId source toolName action targetId createdAt before after } pageInfo { hasNextPage endCursor }';

const AuditPageRef = definePage<AuditEventRecord, Page<AuditEventRecord>>('AuditEventPage', AuditEventRef);

const VerificationModeEnum = builder.enumType('AuditVerificationMode', {
  values: {
    RECENT: { description: 'From the last signed digest (or the last event verified) to the head.' },
    FULL: { description: 'From seq 1, every event and every digest, a page per call.' },
  } as const,
});

const AnchorEnum = builder.enumType('AuditVerificationAnchor', {
  values: {
    GENESIS: { description: 'Seq 1.' },
    DIGEST: { description: 'The last signed digest, its signature checked.' },
    CHECKPOINT: { description: 'The last event an earlier verification reached.' },
  } as const,
});

const AuditVerificationRef = builder.objectRef<BoundedVerification>('AuditChainVerification').implement({
  description: `A bounded check of the tenant’s audit chain: at most ${VERIFY_PAGE_EVENTS} events per call.`,
  fields: (t) => ({
    valid: t.exposeBoolean('valid', {
      description: 'False when this run or an earlier one found a break not verified whole since.',
    }),
    checked: t.exposeInt('checked', { description: 'Events verified by this call.' }),
    brokenAtSeq: t.exposeInt('brokenAtSeq', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
    mode: t.expose('mode', { type: VerificationModeEnum }),
    anchor: t.expose('anchor', { type: AnchorEnum, description: 'Where the run started (at fromSeq - 1).' }),
    fromSeq: t.exposeInt('fromSeq'),
    verifiedToSeq: t.exposeInt('verifiedToSeq', { description: 'The run has verified fromSeq to here.' }),
    toSeq: t.exposeInt('toSeq', { description: 'Where the run ends: the head when it started.' }),
    complete: t.exposeBoolean('complete'),
    cursor: t.exposeString('cursor', {
      nullable: true,
      description: 'Pass back to continue; null when complete.',
    }),
  }),
});

const RunStatusEnum = builder.enumType('AuditVerificationStatus', {
  values: {
    RUNNING: { description: 'More events to check.' },
    VALID: { description: 'Checked to its end, whole.' },
    BROKEN: { description: 'Stopped at the first broken link.' },
  } as const,
});

const VerificationRunRef = builder.objectRef<VerificationRunProgress>('AuditVerificationRun').implement({
  description: 'A verification that continued beyond one call: where it is.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The cursor that continues it while RUNNING.' }),
    mode: t.expose('mode', { type: VerificationModeEnum }),
    status: t.expose('status', { type: RunStatusEnum }),
    continuedByScheduler: t.exposeBoolean('continuedByScheduler', {
      description: 'A FULL run: the scheduler checks a bounded page of it every minute until it ends.',
    }),
    fromSeq: t.exposeInt('fromSeq'),
    toSeq: t.exposeInt('toSeq', { description: 'The chain’s head when it started: where it ends.' }),
    verifiedToSeq: t.exposeInt('verifiedToSeq'),
    checked: t.exposeInt('checked'),
    brokenAtSeq: t.exposeInt('brokenAtSeq', { nullable: true }),
    reason: t.exposeString('reason', { nullable: true }),
    startedBy: t.exposeID('startedBy'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  auditVerificationRuns: t.withAuth({ changeManager: true }).field({
    type: [VerificationRunRef],
    description:
      'The tenant’s verification runs that continued beyond one call, newest first: a FULL run’s progress ' +
      'as the scheduler continues it.',
    args: { first: firstArg(t, 10, VERIFICATION_RUNS_LIMIT) },
    resolve: (_r, { first }, ctx) => verificationRunsOf(ctx, first ?? 10),
  }),
  auditLog: t.withAuth({ viewer: true }).field({
    type: AuditPageRef,
    description:
      'Audit events, newest first: of one change (or other target) when targetId is given, else of the tenant.',
    mcp: {
      name: 'get_audit_log',
      toolset: 'admin',
      description:
        'Audit events, newest first, of one target (targetId) or the tenant; detail FULL adds before/after. ' +
        'verify_audit_chain checks the hash chain.',
      selection: AUDIT_TOOL_SELECTION,
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
    description:
      'Recomputes the tenant’s audit hash chain (a page per call) and reports the first broken link.',
    mcp: {
      name: 'verify_audit_chain',
      toolset: 'admin',
      selection: 'valid checked brokenAtSeq reason verifiedToSeq toSeq complete cursor',
    },
    args: {
      mode: t.arg({ type: VerificationModeEnum, required: false, description: 'Default RECENT.' }),
      cursor: t.arg.string({
        required: false,
        description: 'Continues the run that answered it.',
      }),
    },
    resolve: (_r, { mode, cursor }, ctx) => verifyTenantAuditChain(ctx, { mode, cursor }),
  }),
}));
