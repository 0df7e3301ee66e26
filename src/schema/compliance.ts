import type {
  ComplianceChainStatus,
  ComplianceCheck,
  ComplianceFinding,
  ComplianceReport,
} from '../domain/compliance';
import { complianceReport } from '../usecases/reports';
import { builder } from './builder';
import { firstArg, firstAskedOf, firstOf } from './listArgs';

const FrameworkEnum = builder.enumType('ComplianceFramework', {
  values: ['SOX', 'PCI_DSS', 'ITIL'] as const,
});
const SeverityEnum = builder.enumType('FindingSeverity', {
  values: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const,
});

const CheckRef = builder.objectRef<ComplianceCheck>('ComplianceCheck').implement({
  fields: (t) => ({
    id: t.exposeID('id', { description: 'e.g. SOX-1, PCI-6.4, ITIL-EMERGENCY-REVIEW' }),
    framework: t.expose('framework', { type: FrameworkEnum }),
    title: t.exposeString('title'),
    passed: t.exposeBoolean('passed'),
    failures: t.exposeInt('failures'),
  }),
});

const FindingRef = builder.objectRef<ComplianceFinding>('ComplianceFinding').implement({
  fields: (t) => ({
    checkId: t.exposeID('checkId'),
    framework: t.expose('framework', { type: FrameworkEnum }),
    severity: t.expose('severity', { type: SeverityEnum }),
    changeId: t.exposeID('changeId', { nullable: true }),
    message: t.exposeString('message'),
  }),
});

const ChainStatusRef = builder.objectRef<ComplianceChainStatus>('ComplianceAuditChain').implement({
  description: 'The audit chain as a bounded verification from its last anchor found it.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    brokenAtSeq: t.exposeInt('brokenAtSeq', { nullable: true }),
    verifiedToSeq: t.exposeInt('verifiedToSeq', {
      description: 'Verified up to here; below headSeq when more events await (verifyAuditChain continues).',
    }),
    headSeq: t.exposeInt('headSeq'),
  }),
});

const ReportRef = builder.objectRef<ComplianceReport>('ComplianceReport').implement({
  description: 'SOX, PCI DSS 6.4 and emergency-review checks over the changes created in a period.',
  fields: (t) => ({
    from: t.expose('from', { type: 'DateTime' }),
    to: t.expose('to', { type: 'DateTime' }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime' }),
    score: t.exposeInt('score', { description: '0–100; 100 means no findings.' }),
    changesReviewed: t.exposeInt('changesReviewed'),
    auditChain: t.expose('auditChain', { type: ChainStatusRef }),
    checks: t.field({
      type: [CheckRef],
      args: { first: firstArg(t, 20) },
      resolve: (r, { first }) => firstOf(r.checks, first),
    }),
    findings: t.field({
      type: [FindingRef],
      args: { first: firstArg(t, 100, 1000) },
      resolve: (r, { first }) => firstOf(r.findings, first),
    }),
    findingsTruncated: t.exposeBoolean('findingsTruncated', { description: 'More exist than listed.' }),
  }),
});

builder.queryFields((t) => ({
  complianceReport: t.withAuth({ changeManager: true }).field({
    type: ReportRef,
    description: 'Compliance report for changes created in [from, to) (at most 366 days).',
    mcp: { name: 'compliance_report', toolset: 'changes' },
    args: {
      from: t.arg({ type: 'DateTime', description: 'Period start (inclusive).' }),
      to: t.arg({ type: 'DateTime', description: 'Period end (exclusive).' }),
    },
    // Only as many failing changes are read as the query's `findings(first:)` will list.
    resolve: (_r, args, ctx, info) =>
      complianceReport(ctx, args.from, args.to, firstAskedOf(info, 'findings') ?? 0),
  }),
}));
