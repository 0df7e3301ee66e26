import { isPreApproved } from './approvalPolicy';
import type { ApprovalRecord, ChangeRecord, ChangeStatus } from './types';

export type Framework = 'SOX' | 'PCI_DSS' | 'ITIL';
export type Severity = 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

export interface ComplianceCheck {
  id: string;
  framework: Framework;
  title: string;
  passed: boolean;
  failures: number;
}

export interface ComplianceFinding {
  checkId: string;
  framework: Framework;
  severity: Severity;
  changeId: string | null;
  message: string;
}

export interface ComplianceReport {
  from: string;
  to: string;
  generatedAt: string;
  score: number;
  changesReviewed: number;
  checks: ComplianceCheck[];
  /** Most severe first, at most MAX_REPORT_FINDINGS of them. */
  findings: ComplianceFinding[];
  /** More findings exist than the list holds (each check's failures still counts them all). */
  findingsTruncated: boolean;
  auditChain: ComplianceChainStatus;
}

/** The most findings a report lists; the checks' failure counts and the score count them all. */
export const MAX_REPORT_FINDINGS = 1000;

/**
 * The audit chain as the report found it: a bounded verification from the last anchor (see
 * src/usecases/auditVerification.ts), so the newest events may not all be verified yet.
 */
export interface ComplianceChainStatus {
  valid: boolean;
  brokenAtSeq: number | null;
  /** Verified from a trusted anchor up to here. */
  verifiedToSeq: number;
  /** The chain's head when the report was made. */
  headSeq: number;
}

export interface ComplianceInput {
  from: string;
  to: string;
  now: string;
  /** The changes of the period; the caller selects them, every one given is reviewed. */
  changes: ChangeRecord[];
  approvals: ApprovalRecord[];
  /** Names of the services tagged `pci`. */
  pciServices: string[];
  auditChain: ComplianceChainStatus;
}

/**
 * Points a finding takes off the score of 100. A single CRITICAL finding (self-approval, a
 * broken audit chain) costs as much as several missing reviews, because it voids the evidence.
 */
export const SEVERITY_WEIGHTS: Readonly<Record<Severity, number>> = {
  CRITICAL: 25,
  HIGH: 10,
  MEDIUM: 5,
  LOW: 2,
};

const IMPLEMENTED: readonly ChangeStatus[] = ['IMPLEMENTING', 'COMPLETED', 'FAILED', 'ROLLED_BACK'];
/** Past SUBMITTED and headed for production: CAB vote under way or done, not rejected/cancelled. */
const PCI_IN_SCOPE: readonly ChangeStatus[] = ['PENDING_APPROVAL', 'APPROVED', 'SCHEDULED', ...IMPLEMENTED];
/** States in which the CAB vote is over, so an approval must be on record. */
const PCI_NEEDS_APPROVAL: readonly ChangeStatus[] = ['APPROVED', 'SCHEDULED', ...IMPLEMENTED];

const blank = (s: string | null): boolean => s === null || s.trim() === '';
const isOverride = (c: ChangeRecord): boolean => !blank(c.emergencyJustification);

interface Context {
  input: ComplianceInput;
  now: number;
  pci: Set<string>;
  approved: (c: ChangeRecord) => ApprovalRecord[];
}
type Problem = { changeId: string | null; message: string };

/** Runs a per-change rule (returning what is wrong, or null) over every change reviewed. */
const eachChange =
  (rule: (c: ChangeRecord, ctx: Context) => string | null) =>
  (ctx: Context): Problem[] =>
    ctx.input.changes.flatMap((c) => {
      const message = rule(c, ctx);
      return message === null ? [] : [{ changeId: c.id, message }];
    });

// The findings' messages, shared with the report built from aggregates (complianceReportFromFacts).
const sox1Message = (id: string, requesterId: string) =>
  `${id} was approved by its own requester ${requesterId}`;
const unapprovedMessage = (id: string) => `${id} was implemented without an approval`;
const earlyMessage = (id: string, implementedAt: string, approvedAt: string) =>
  `${id} was implemented at ${implementedAt}, before its approval at ${approvedAt}`;
const pciMessage = (id: string, touched: string[], gaps: string[]) =>
  `${id} changes PCI service(s) ${touched.join(', ')} but has ${gaps.join(', ')}`;
const reviewMessage = (id: string, dueAt: string) =>
  `${id} emergency review was due at ${dueAt} and is overdue`;

const sox1 = eachChange((c, ctx) =>
  ctx.approved(c).some((a) => a.approverId === c.requesterId) ? sox1Message(c.id, c.requesterId) : null,
);

const sox2 = eachChange((c) => {
  const implemented = IMPLEMENTED.includes(c.status) || c.implementedAt !== null;
  const exempt = isOverride(c) || (c.riskLevel !== null && isPreApproved(c.type, c.riskLevel));
  if (!implemented || exempt) return null;
  if (c.approvedAt === null) return unapprovedMessage(c.id);
  if (c.implementedAt !== null && Date.parse(c.approvedAt) > Date.parse(c.implementedAt)) {
    return earlyMessage(c.id, c.implementedAt, c.approvedAt);
  }
  return null;
});

const chainProblems = (chain: ComplianceChainStatus): Problem[] => {
  const { valid, brokenAtSeq: seq } = chain;
  if (valid) return [];
  const message =
    seq === null ? 'The audit chain failed verification' : `The audit chain is broken at seq ${seq}`;
  return [{ changeId: null, message }];
};
const sox3 = ({ input }: Context): Problem[] => chainProblems(input.auditChain);

const pci64 = eachChange((c, ctx) => {
  const touched = c.affectedServices.filter((s) => ctx.pci.has(s));
  if (touched.length === 0 || !PCI_IN_SCOPE.includes(c.status)) return null;
  const gaps: string[] = [];
  if (blank(c.testPlan)) gaps.push('no test plan');
  if (blank(c.backoutPlan)) gaps.push('no backout plan');
  if (PCI_NEEDS_APPROVAL.includes(c.status) && !isOverride(c) && ctx.approved(c).length === 0) {
    gaps.push('no recorded approval');
  }
  if (gaps.length === 0) return null;
  return pciMessage(c.id, touched, gaps);
});

const emergencyReview = eachChange((c, ctx) =>
  isOverride(c) && c.reviewedAt === null && c.reviewDueAt !== null && Date.parse(c.reviewDueAt) < ctx.now
    ? reviewMessage(c.id, c.reviewDueAt)
    : null,
);

const CHECKS: readonly [string, Framework, string, Severity, (ctx: Context) => Problem[]][] = [
  ['SOX-1', 'SOX', 'Segregation of duties', 'CRITICAL', sox1],
  ['SOX-2', 'SOX', 'Approval before implementation', 'HIGH', sox2],
  ['SOX-3', 'SOX', 'Complete audit chain', 'CRITICAL', sox3],
  ['PCI-6.4', 'PCI_DSS', 'PCI change control: tested, reversible, approved', 'HIGH', pci64],
  ['ITIL-EMERGENCY-REVIEW', 'ITIL', 'Emergency changes reviewed in time', 'MEDIUM', emergencyReview],
];

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3 };
/** Most severe first; within a severity, in the checks' order, then the changes' (creation) order. */
const bySeverity = (a: ComplianceFinding, b: ComplianceFinding) =>
  SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity];
const scoreOf = (checks: ComplianceCheck[]) =>
  Math.max(
    0,
    100 -
      checks.reduce(
        (sum, c) => sum + c.failures * SEVERITY_WEIGHTS[CHECKS.find(([id]) => id === c.id)?.[3] ?? 'LOW'],
        0,
      ),
  );

/**
 * The reference computation over every change of the period, kept to check the report built from
 * aggregates against (test/usecases/complianceAggregates.test.ts). Lists every finding.
 */
export function buildComplianceReport(input: ComplianceInput): ComplianceReport {
  const byChange = new Map<string, ApprovalRecord[]>();
  for (const a of input.approvals) byChange.set(a.changeId, [...(byChange.get(a.changeId) ?? []), a]);
  const approved = (c: ChangeRecord) => (byChange.get(c.id) ?? []).filter((a) => a.decision === 'APPROVED');
  const ctx: Context = { input, now: Date.parse(input.now), pci: new Set(input.pciServices), approved };

  const checks: ComplianceCheck[] = [];
  const findings: ComplianceFinding[] = [];
  for (const [id, framework, title, severity, review] of CHECKS) {
    const problems = review(ctx);
    checks.push({ id, framework, title, passed: problems.length === 0, failures: problems.length });
    findings.push(...problems.map((p) => ({ checkId: id, framework, severity, ...p })));
  }
  const { from, to, now: generatedAt, changes, auditChain } = input;
  return {
    from,
    to,
    generatedAt,
    score: scoreOf(checks),
    changesReviewed: changes.length,
    checks,
    findings: findings.sort(bySeverity),
    findingsTruncated: false,
    auditChain,
  };
}

/** A per-change check's failing changes, as the facts kept on write give them (migration 0020). */
export type PerChangeCheck = 'SOX-1' | 'SOX-2' | 'PCI-6.4' | 'ITIL-EMERGENCY-REVIEW';

export interface ComplianceFactsInput {
  from: string;
  to: string;
  now: string;
  changesReviewed: number;
  /** Every failing change of the period, per check. */
  failures: Readonly<Record<PerChangeCheck, number>>;
  /** The first failing changes of each check, in creation order (at least `limit` when there are). */
  sox1: { changeId: string; requesterId: string }[];
  sox2: { changeId: string; approvedAt: string | null; implementedAt: string | null }[];
  pci: { changeId: string; affectedServices: string[]; gaps: number }[];
  overdueReviews: { changeId: string; reviewDueAt: string }[];
  pciServices: string[];
  auditChain: ComplianceChainStatus;
  limit: number;
}

/** Bits of change_compliance.pci_gaps, in the order the finding names them. */
const PCI_GAPS: readonly [number, string][] = [
  [1, 'no test plan'],
  [2, 'no backout plan'],
  [4, 'no recorded approval'],
];

/**
 * The same report as buildComplianceReport, from the counts and first failing changes the facts
 * kept on write give: the checks count every failure, the findings list the first `limit`, most
 * severe first, and say whether more exist.
 */
export function complianceReportFromFacts(input: ComplianceFactsInput): ComplianceReport {
  const pci = new Set(input.pciServices);
  const problems: Record<string, Problem[]> = {
    'SOX-1': input.sox1.map((r) => ({
      changeId: r.changeId,
      message: sox1Message(r.changeId, r.requesterId),
    })),
    'SOX-2': input.sox2.map((r) => ({
      changeId: r.changeId,
      message:
        r.approvedAt === null || r.implementedAt === null
          ? unapprovedMessage(r.changeId)
          : earlyMessage(r.changeId, r.implementedAt, r.approvedAt),
    })),
    'SOX-3': chainProblems(input.auditChain),
    'PCI-6.4': input.pci.map((r) => ({
      changeId: r.changeId,
      message: pciMessage(
        r.changeId,
        r.affectedServices.filter((s) => pci.has(s)),
        PCI_GAPS.filter(([bit]) => (r.gaps & bit) !== 0).map(([, text]) => text),
      ),
    })),
    'ITIL-EMERGENCY-REVIEW': input.overdueReviews.map((r) => ({
      changeId: r.changeId,
      message: reviewMessage(r.changeId, r.reviewDueAt),
    })),
  };
  const checks: ComplianceCheck[] = [];
  const findings: ComplianceFinding[] = [];
  for (const [id, framework, title, severity] of CHECKS) {
    const failures =
      id === 'SOX-3' ? (problems[id]?.length ?? 0) : (input.failures[id as PerChangeCheck] ?? 0);
    checks.push({ id, framework, title, passed: failures === 0, failures });
    findings.push(...(problems[id] ?? []).map((p) => ({ checkId: id, framework, severity, ...p })));
  }
  const listed = findings.sort(bySeverity).slice(0, input.limit);
  const total = checks.reduce((n, c) => n + c.failures, 0);
  const { from, to, now: generatedAt, changesReviewed, auditChain } = input;
  return {
    from,
    to,
    generatedAt,
    score: scoreOf(checks),
    changesReviewed,
    checks,
    findings: listed,
    findingsTruncated: total > listed.length,
    auditChain,
  };
}
