import type {
  ApprovalRecord,
  ChangeRecord,
  ChangeStatus,
  ChangeType,
  FreezeWindowRecord,
  Level,
  Priority,
  RiskFactor,
  RiskLevel,
  Role,
} from '../domain/types';

/** Column lists and row ↔ record mapping for change requests, approvals and freeze windows. */

export interface ChangeRow {
  id: string;
  tenant_id: string;
  title: string;
  description: string;
  type: string;
  impact: string;
  urgency: string;
  priority: string;
  status: string;
  requester_id: string;
  affected_services: string;
  implementation_plan: string | null;
  backout_plan: string | null;
  test_plan: string | null;
  risk_score: number | null;
  risk_level: string | null;
  risk_factors: string | null;
  planned_start: string | null;
  planned_end: string | null;
  emergency_justification: string | null;
  review_due_at: string | null;
  reviewed_at: string | null;
  runbook_workflow_id: string | null;
  runbook_inputs: string | null;
  runbook_attached_by: string | null;
  template_id: string | null;
  template_version: number | null;
  failure_reason: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  submitted_at: string | null;
  approved_at: string | null;
  implemented_at: string | null;
  completed_at: string | null;
}

export const CHANGE_COLUMNS = [
  'id',
  'tenant_id',
  'title',
  'description',
  'type',
  'impact',
  'urgency',
  'priority',
  'status',
  'requester_id',
  'affected_services',
  'implementation_plan',
  'backout_plan',
  'test_plan',
  'risk_score',
  'risk_level',
  'risk_factors',
  'planned_start',
  'planned_end',
  'emergency_justification',
  'review_due_at',
  'reviewed_at',
  'runbook_workflow_id',
  'runbook_inputs',
  'runbook_attached_by',
  'template_id',
  'template_version',
  'failure_reason',
  'version',
  'created_at',
  'updated_at',
  'submitted_at',
  'approved_at',
  'implemented_at',
  'completed_at',
] as const satisfies readonly (keyof ChangeRow)[];

export function changeFromRow(r: ChangeRow): ChangeRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    title: r.title,
    description: r.description,
    type: r.type as ChangeType,
    impact: r.impact as Level,
    urgency: r.urgency as Level,
    priority: r.priority as Priority,
    status: r.status as ChangeStatus,
    requesterId: r.requester_id,
    affectedServices: JSON.parse(r.affected_services) as string[],
    implementationPlan: r.implementation_plan,
    backoutPlan: r.backout_plan,
    testPlan: r.test_plan,
    riskScore: r.risk_score,
    riskLevel: r.risk_level as RiskLevel | null,
    riskFactors: r.risk_factors === null ? null : (JSON.parse(r.risk_factors) as RiskFactor[]),
    plannedStart: r.planned_start,
    plannedEnd: r.planned_end,
    emergencyJustification: r.emergency_justification,
    reviewDueAt: r.review_due_at,
    reviewedAt: r.reviewed_at,
    runbookWorkflowId: r.runbook_workflow_id,
    runbookInputs:
      r.runbook_inputs === null ? null : (JSON.parse(r.runbook_inputs) as Record<string, unknown>),
    runbookAttachedBy: r.runbook_attached_by,
    templateId: r.template_id,
    templateVersion: r.template_version,
    failureReason: r.failure_reason,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    submittedAt: r.submitted_at,
    approvedAt: r.approved_at,
    implementedAt: r.implemented_at,
    completedAt: r.completed_at,
  };
}

export function changeToRow(c: ChangeRecord): ChangeRow {
  return {
    id: c.id,
    tenant_id: c.tenantId,
    title: c.title,
    description: c.description,
    type: c.type,
    impact: c.impact,
    urgency: c.urgency,
    priority: c.priority,
    status: c.status,
    requester_id: c.requesterId,
    affected_services: JSON.stringify(c.affectedServices),
    implementation_plan: c.implementationPlan,
    backout_plan: c.backoutPlan,
    test_plan: c.testPlan,
    risk_score: c.riskScore,
    risk_level: c.riskLevel,
    risk_factors: c.riskFactors === null ? null : JSON.stringify(c.riskFactors),
    planned_start: c.plannedStart,
    planned_end: c.plannedEnd,
    emergency_justification: c.emergencyJustification,
    review_due_at: c.reviewDueAt,
    reviewed_at: c.reviewedAt,
    runbook_workflow_id: c.runbookWorkflowId,
    runbook_inputs: c.runbookInputs === null ? null : JSON.stringify(c.runbookInputs),
    runbook_attached_by: c.runbookAttachedBy,
    template_id: c.templateId,
    template_version: c.templateVersion,
    failure_reason: c.failureReason,
    version: c.version,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
    submitted_at: c.submittedAt,
    approved_at: c.approvedAt,
    implemented_at: c.implementedAt,
    completed_at: c.completedAt,
  };
}

export interface ApprovalRow {
  id: string;
  tenant_id: string;
  change_id: string;
  approver_id: string;
  approver_roles: string;
  api_key_id: string | null;
  decision: string;
  comment: string | null;
  created_at: string;
}

export const approvalFromRow = (r: ApprovalRow): ApprovalRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  changeId: r.change_id,
  approverId: r.approver_id,
  approverRoles: JSON.parse(r.approver_roles) as Role[],
  apiKeyId: r.api_key_id,
  decision: r.decision as ApprovalRecord['decision'],
  comment: r.comment,
  createdAt: r.created_at,
});

export interface FreezeWindowRow {
  id: string;
  tenant_id: string;
  name: string;
  reason: string | null;
  starts_at: string;
  ends_at: string;
  created_by: string;
  created_at: string;
}

export const freezeWindowFromRow = (r: FreezeWindowRow): FreezeWindowRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  reason: r.reason,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  createdBy: r.created_by,
  createdAt: r.created_at,
});
