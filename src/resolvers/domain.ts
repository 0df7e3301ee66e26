import type { WorkflowStep, WorkflowTrigger } from './workflow/stepSchemas';
/** Domain vocabulary shared by the resolvers, the db layer and the schema. */

export const CHANGE_TYPES = ['STANDARD', 'NORMAL', 'EMERGENCY'] as const;
export type ChangeType = (typeof CHANGE_TYPES)[number];

export const LEVELS = ['LOW', 'MEDIUM', 'HIGH'] as const;
export type Level = (typeof LEVELS)[number];

export const PRIORITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const RISK_LEVELS = ['LOW', 'MEDIUM', 'HIGH', 'VERY_HIGH'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const CHANGE_STATUSES = [
  'DRAFT',
  'SUBMITTED',
  'PENDING_APPROVAL',
  'APPROVED',
  'REJECTED',
  'SCHEDULED',
  'IMPLEMENTING',
  'COMPLETED',
  'FAILED',
  'ROLLED_BACK',
  'CANCELLED',
] as const;
export type ChangeStatus = (typeof CHANGE_STATUSES)[number];

export const ROLES = ['viewer', 'requester', 'approver', 'change_manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type ApprovalDecision = 'APPROVED' | 'REJECTED';

export interface RiskFactor {
  /** Stable key, e.g. `type`, `impact`, `services`, `failure_rate`, `no_backout_plan`. */
  key: string;
  /** What a person reads, e.g. "EMERGENCY change". */
  label: string;
  /** Points this factor adds to the 0–100 score. */
  contribution: number;
}

export interface RiskAssessment {
  score: number;
  level: RiskLevel;
  factors: RiskFactor[];
  assessedAt: string;
}

export interface ChangeRecord {
  id: string;
  tenantId: string;
  title: string;
  description: string;
  type: ChangeType;
  impact: Level;
  urgency: Level;
  priority: Priority;
  status: ChangeStatus;
  requesterId: string;
  affectedServices: string[];
  implementationPlan: string | null;
  backoutPlan: string | null;
  testPlan: string | null;
  riskScore: number | null;
  riskLevel: RiskLevel | null;
  riskFactors: RiskFactor[] | null;
  plannedStart: string | null;
  plannedEnd: string | null;
  emergencyJustification: string | null;
  reviewDueAt: string | null;
  reviewedAt: string | null;
  runbookWorkflowId: string | null;
  failureReason: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  submittedAt: string | null;
  approvedAt: string | null;
  implementedAt: string | null;
  completedAt: string | null;
}

export interface ApprovalRecord {
  id: string;
  tenantId: string;
  changeId: string;
  approverId: string;
  approverRoles: Role[];
  decision: ApprovalDecision;
  comment: string | null;
  createdAt: string;
}

export interface FreezeWindowRecord {
  id: string;
  tenantId: string;
  name: string;
  reason: string | null;
  startsAt: string;
  endsAt: string;
  createdBy: string;
  createdAt: string;
}

export const WORKFLOW_STATUSES = ['ACTIVE', 'INACTIVE'] as const;
export type WorkflowStatus = (typeof WORKFLOW_STATUSES)[number];

/** A workflow definition as stored: `version` counts edits of its steps, triggers, name and description. */
export interface WorkflowRecord {
  id: string;
  tenantId: string;
  name: string;
  description: string | null;
  status: WorkflowStatus;
  version: number;
  steps: WorkflowStep[];
  triggers: WorkflowTrigger[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** One saved version of a workflow's steps and triggers (the current one included). */
export interface WorkflowVersionRecord {
  workflowId: string;
  version: number;
  steps: WorkflowStep[];
  triggers: WorkflowTrigger[];
  createdBy: string;
  createdAt: string;
}
