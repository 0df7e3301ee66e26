import type { ChangeRecord } from '../../src/domain/types';

/**
 * A change row as the db layer writes it, every optional field empty: tests that write changes
 * straight through src/db give only what they are about.
 */
export function changeRecord(
  over: Pick<ChangeRecord, 'id' | 'tenantId' | 'createdAt'> & Partial<ChangeRecord>,
): ChangeRecord {
  return {
    title: `Change ${over.id}`,
    description: '',
    type: 'NORMAL',
    impact: 'MEDIUM',
    urgency: 'MEDIUM',
    priority: 'P3',
    status: 'DRAFT',
    requesterId: 'rita',
    affectedServices: [],
    implementationPlan: null,
    backoutPlan: null,
    testPlan: null,
    riskScore: null,
    riskLevel: null,
    riskFactors: [],
    plannedStart: null,
    plannedEnd: null,
    emergencyJustification: null,
    reviewDueAt: null,
    reviewedAt: null,
    runbookWorkflowId: null,
    runbookInputs: null,
    runbookAttachedBy: null,
    templateId: null,
    templateVersion: null,
    failureReason: null,
    version: 1,
    updatedAt: over.createdAt,
    submittedAt: null,
    approvedAt: null,
    implementedAt: null,
    completedAt: null,
    ...over,
  };
}
