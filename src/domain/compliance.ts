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
  findings: ComplianceFinding[];
  auditChain: ComplianceChainStatus;
}

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

const sox1 = eachChange((c, ctx) =>
  ctx.approved(c).some((a) => a.approverId === c.requesterId)
    ? `${c.id} was approved by its own requester ${c.requesterId}`
    : null,
);

const sox2 = eachChange((c) => {
  const implemented = IMPLEMENTED.includes(c.status) || c.implementedAt !== null;
  const exempt = isOverride(c) || (c.riskLevel !== null && isPreApproved(c.type, c.riskLevel));
  if (!implemented || exempt) return null;
  if (c.approvedAt === null) return `${c.id} was implemented without an approval`;
  if (c.implementedAt !== null && Date.parse(c.approvedAt) > Date.parse(c.implementedAt)) {
    return `${c.id} was implemented at ${c.implementedAt}, before its approval at ${c.approvedAt}`;
  }
  return null;
});

const sox3 = ({ input }: Context): Problem[] => {
  const { valid, brokenAtSeq: seq } = input.auditChain;
  if (valid) return [];
  const message =
    seq === null ? 'The audit chain failed verification' : `The audit chain is broken at seq ${seq}`;
  return [{ changeId: null, message }];
};

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
  return `${c.id} changes PCI service(s) ${touched.join(', ')} but has ${gaps.join(', ')}`;
});

const emergencyReview = eachChange((c, ctx) =>
  isOverride(c) && c.reviewedAt === null && c.reviewDueAt !== null && Date.parse(c.reviewDueAt) < ctx.now
    ? `${c.id} emergency review was due at ${c.reviewDueAt} and is overdue`
    : null,
);

const CHECKS: readonly [string, Framework, string, Severity, (ctx: Context) => Problem[]][] = [
  ['SOX-1', 'SOX', 'Segregation of duties', 'CRITICAL', sox1],
  ['SOX-2', 'SOX', 'Approval before implementation', 'HIGH', sox2],
  ['SOX-3', 'SOX', 'Complete audit chain', 'CRITICAL', sox3],
  ['PCI-6.4', 'PCI_DSS', 'PCI change control: tested, reversible, approved', 'HIGH', pci64],
  ['ITIL-EMERGENCY-REVIEW', 'ITIL', 'Emergency changes reviewed in time', 'MEDIUM', emergencyReview],
];

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
  const score = Math.max(0, 100 - findings.reduce((sum, f) => sum + SEVERITY_WEIGHTS[f.severity], 0));
  const { from, to, now: generatedAt, changes, auditChain } = input;
  return { from, to, generatedAt, score, changesReviewed: changes.length, checks, findings, auditChain };
}
