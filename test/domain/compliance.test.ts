import { describe, expect, it } from 'vitest';
import type { ComplianceInput } from '../../src/domain/compliance';
import { buildComplianceReport, SEVERITY_WEIGHTS } from '../../src/domain/compliance';
import type { ApprovalRecord, ChangeRecord } from '../../src/domain/types';
import { changeRecord } from '../helpers/changeRecord';

const NOW = '2025-07-01T00:00:00Z';

function change(id: string, over: Partial<ChangeRecord> = {}): ChangeRecord {
  return changeRecord({
    id,
    tenantId: 't1',
    createdAt: '2025-06-01T00:00:00Z',
    status: 'COMPLETED',
    requesterId: 'alice',
    affectedServices: ['web'],
    implementationPlan: 'deploy',
    backoutPlan: 'roll back',
    testPlan: 'smoke tests',
    riskScore: 30,
    riskLevel: 'MEDIUM',
    plannedStart: '2025-06-10T22:00:00Z',
    plannedEnd: '2025-06-10T23:00:00Z',
    version: 5,
    updatedAt: '2025-06-10T23:00:00Z',
    submittedAt: '2025-06-01T01:00:00Z',
    approvedAt: '2025-06-02T00:00:00Z',
    implementedAt: '2025-06-10T22:00:00Z',
    completedAt: '2025-06-10T23:00:00Z',
    ...over,
  });
}

let approvalSeq = 0;
function approval(changeId: string, approverId: string, decision: ApprovalRecord['decision'] = 'APPROVED') {
  approvalSeq++;
  return {
    id: `apr-${approvalSeq}`,
    tenantId: 't1',
    changeId,
    approverId,
    approverRoles: ['approver'],
    apiKeyId: null,
    decision,
    comment: null,
    createdAt: '2025-06-02T00:00:00Z',
  } satisfies ApprovalRecord;
}

const input = (over: Partial<ComplianceInput>): ComplianceInput => ({
  from: '2025-06-01T00:00:00Z',
  to: '2025-07-01T00:00:00Z',
  now: NOW,
  changes: [],
  approvals: [],
  pciServices: ['payments'],
  auditChain: { valid: true, brokenAtSeq: null, verifiedToSeq: 0, headSeq: 0 },
  ...over,
});

const failing = (report: ReturnType<typeof buildComplianceReport>) =>
  Object.fromEntries(report.checks.filter((c) => !c.passed).map((c) => [c.id, c.failures]));

describe('buildComplianceReport', () => {
  it('scores a clean period 100 with every check passed', () => {
    const changes = [
      change('CHG-1'),
      change('CHG-2', { status: 'DRAFT', approvedAt: null, implementedAt: null }),
    ];
    const r = buildComplianceReport(input({ changes, approvals: [approval('CHG-1', 'bob')] }));
    expect(r).toMatchObject({ score: 100, changesReviewed: 2, generatedAt: NOW, findings: [] });
    expect(r.from).toBe('2025-06-01T00:00:00Z');
    expect(r.to).toBe('2025-07-01T00:00:00Z');
    expect(r.checks.map((c) => [c.id, c.framework, c.passed])).toEqual([
      ['SOX-1', 'SOX', true],
      ['SOX-2', 'SOX', true],
      ['SOX-3', 'SOX', true],
      ['PCI-6.4', 'PCI_DSS', true],
      ['ITIL-EMERGENCY-REVIEW', 'ITIL', true],
    ]);
  });

  it('SOX-1: flags a change approved by its own requester', () => {
    const r = buildComplianceReport(
      input({
        changes: [change('CHG-1')],
        approvals: [approval('CHG-1', 'bob'), approval('CHG-1', 'alice'), approval('CHG-9', 'alice')],
      }),
    );
    expect(failing(r)).toEqual({ 'SOX-1': 1 });
    expect(r.findings).toEqual([
      {
        checkId: 'SOX-1',
        framework: 'SOX',
        severity: 'CRITICAL',
        changeId: 'CHG-1',
        message: 'CHG-1 was approved by its own requester alice',
      },
    ]);
    expect(r.score).toBe(100 - SEVERITY_WEIGHTS.CRITICAL);
  });

  it('SOX-1: a rejection by the requester is not a self-approval', () => {
    const r = buildComplianceReport(
      input({ changes: [change('CHG-1')], approvals: [approval('CHG-1', 'alice', 'REJECTED')] }),
    );
    expect(failing(r)).toEqual({});
  });

  it('SOX-2: flags implementation without or before approval', () => {
    const changes = [
      change('CHG-1', { approvedAt: null }),
      change('CHG-2', { status: 'FAILED', approvedAt: '2025-06-11T00:00:00Z' }),
      change('CHG-3', { status: 'IMPLEMENTING', approvedAt: '2025-06-10T22:00:00Z' }),
    ];
    const r = buildComplianceReport(input({ changes }));
    expect(failing(r)).toEqual({ 'SOX-2': 2 });
    expect(r.findings.map((f) => [f.changeId, f.severity, f.message])).toEqual([
      ['CHG-1', 'HIGH', 'CHG-1 was implemented without an approval'],
      [
        'CHG-2',
        'HIGH',
        'CHG-2 was implemented at 2025-06-10T22:00:00Z, before its approval at 2025-06-11T00:00:00Z',
      ],
    ]);
    expect(r.score).toBe(80);
  });

  it('SOX-2: exempts emergency overrides and pre-approved standard changes', () => {
    const changes = [
      change('CHG-1', {
        type: 'EMERGENCY',
        approvedAt: null,
        emergencyJustification: 'outage',
        reviewedAt: NOW,
      }),
      change('CHG-2', { type: 'STANDARD', riskLevel: 'LOW', approvedAt: null }),
      change('CHG-3', { type: 'STANDARD', riskLevel: 'MEDIUM', approvedAt: null }),
    ];
    const r = buildComplianceReport(input({ changes }));
    expect(r.findings.map((f) => [f.checkId, f.changeId])).toEqual([['SOX-2', 'CHG-3']]);
  });

  it('SOX-3: reports a broken audit chain with the seq and no change', () => {
    const r = buildComplianceReport(
      input({ auditChain: { valid: false, brokenAtSeq: 42, verifiedToSeq: 41, headSeq: 50 } }),
    );
    expect(r.findings).toEqual([
      {
        checkId: 'SOX-3',
        framework: 'SOX',
        severity: 'CRITICAL',
        changeId: null,
        message: 'The audit chain is broken at seq 42',
      },
    ]);
    expect(r.checks.find((c) => c.id === 'SOX-3')).toMatchObject({ passed: false, failures: 1 });
    expect(r.score).toBe(75);
  });

  it('PCI-6.4: changes to PCI services need test and backout plans and an approval', () => {
    const pci = { affectedServices: ['web', 'payments'] };
    const changes = [
      change('CHG-1', { ...pci, testPlan: ' ', backoutPlan: null }),
      change('CHG-2', {
        ...pci,
        status: 'PENDING_APPROVAL',
        approvedAt: null,
        implementedAt: null,
        testPlan: null,
      }),
      change('CHG-3', { ...pci, status: 'DRAFT', testPlan: null, approvedAt: null, implementedAt: null }),
      change('CHG-4', { testPlan: null, backoutPlan: null }),
      change('CHG-5', pci),
      change('CHG-6', {
        ...pci,
        type: 'EMERGENCY',
        emergencyJustification: 'fraud in progress',
        reviewedAt: NOW,
      }),
      change('CHG-7', { ...pci, status: 'CANCELLED', testPlan: null, implementedAt: null }),
    ];
    const approvals = [approval('CHG-5', 'bob'), approval('CHG-4', 'bob')];
    const r = buildComplianceReport(input({ changes, approvals }));
    const pciFindings = r.findings.filter((f) => f.checkId === 'PCI-6.4');
    expect(pciFindings.map((f) => [f.changeId, f.framework, f.severity, f.message])).toEqual([
      [
        'CHG-1',
        'PCI_DSS',
        'HIGH',
        'CHG-1 changes PCI service(s) payments but has no test plan, no backout plan, no recorded approval',
      ],
      ['CHG-2', 'PCI_DSS', 'HIGH', 'CHG-2 changes PCI service(s) payments but has no test plan'],
    ]);
    expect(r.checks.find((c) => c.id === 'PCI-6.4')).toMatchObject({ passed: false, failures: 2 });
  });

  it('ITIL-EMERGENCY-REVIEW: flags overdue post-implementation reviews only', () => {
    const emergency = { type: 'EMERGENCY' as const, emergencyJustification: 'outage' };
    const changes = [
      change('CHG-1', { ...emergency, reviewDueAt: '2025-06-30T00:00:00Z' }),
      change('CHG-2', { ...emergency, reviewDueAt: '2025-07-02T00:00:00Z' }),
      change('CHG-3', {
        ...emergency,
        reviewDueAt: '2025-06-30T00:00:00Z',
        reviewedAt: '2025-06-29T00:00:00Z',
      }),
      change('CHG-4', { type: 'EMERGENCY', reviewDueAt: '2025-06-30T00:00:00Z' }),
    ];
    const r = buildComplianceReport(input({ changes }));
    expect(r.findings).toEqual([
      {
        checkId: 'ITIL-EMERGENCY-REVIEW',
        framework: 'ITIL',
        severity: 'MEDIUM',
        changeId: 'CHG-1',
        message: 'CHG-1 emergency review was due at 2025-06-30T00:00:00Z and is overdue',
      },
    ]);
    expect(r.score).toBe(95);
  });

  it('floors the score at 0', () => {
    const changes = Array.from({ length: 5 }, (_, i) => change(`CHG-${i}`));
    const approvals = changes.map((c) => approval(c.id, 'alice'));
    const r = buildComplianceReport(
      input({
        changes,
        approvals,
        auditChain: { valid: false, brokenAtSeq: null, verifiedToSeq: 0, headSeq: 0 },
      }),
    );
    expect(r.findings).toHaveLength(6);
    expect(r.findings.at(-1)?.message).toBe('The audit chain failed verification');
    expect(r.score).toBe(0);
  });
});
