import type { WorkflowStep, WorkflowTrigger } from './workflowSteps';
/** Domain vocabulary shared by the use cases, the engine, the db layer and the schema. */

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
  /** What the runbook runs with beyond the change itself (fixed by the template that carried it). */
  runbookInputs: Record<string, unknown> | null;
  /** The change manager (or admin) who attached the runbook; null when a template carried it, or nobody vouched. */
  runbookAttachedBy: string | null;
  /** The standard-change template (and its version) this change was created from; null for any other change. */
  templateId: string | null;
  templateVersion: number | null;
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
  /** The person who voted (through a delegated key: its owner). */
  approverId: string;
  /** The roles the person voted with. */
  approverRoles: Role[];
  /** The delegated API key the vote came through, if any. */
  apiKeyId: string | null;
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

export const EXECUTION_STATUSES = ['PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
/**
 * How an execution started: by hand, a signed webhook, a cron schedule, the approval of a change
 * naming the workflow (CHANGE_APPROVED), or the implementation of such a change (RUNBOOK, whose
 * outcome completes or fails the change).
 */
export const EXECUTION_TRIGGERS = ['MANUAL', 'WEBHOOK', 'CRON', 'CHANGE_APPROVED', 'RUNBOOK'] as const;
export type ExecutionTrigger = (typeof EXECUTION_TRIGGERS)[number];
export const STEP_RUN_STATUSES = ['RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type StepRunStatus = (typeof STEP_RUN_STATUSES)[number];

export const isTerminalExecution = (s: ExecutionStatus): boolean =>
  s === 'SUCCEEDED' || s === 'FAILED' || s === 'CANCELLED';

/** Why an execution or a step failed, classified (see workflow/errorClass.ts). */
export interface ExecutionErrorRecord {
  code: string;
  class: string;
  message: string;
  /** The step that failed, for an execution's error. */
  stepId?: string | null;
  /** The HTTP status, for HTTP_STATUS errors. */
  status?: number | null;
}

/** One run of a workflow, pinned to the version it started with. */
export interface ExecutionRecord {
  id: string;
  tenantId: string;
  workflowId: string;
  workflowVersion: number;
  status: ExecutionStatus;
  trigger: ExecutionTrigger;
  triggerRef: string | null;
  changeId: string | null;
  inputs: unknown;
  outputs: unknown;
  error: ExecutionErrorRecord | null;
  currentStep: number | null;
  wakeAt: string | null;
  cancelRequestedAt: string | null;
  cancelRequestedBy: string | null;
  createdBy: string;
  /** The person whose act started it (who ran it, approved or implemented the change); null for cron and webhooks. */
  causedBy: string | null;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  updatedAt: string;
}

/** One attempt of an http-request step (or the single run of another step type). */
export interface AttemptRecord {
  at: string;
  ms: number;
  status?: number;
  error?: string;
  /** The pause before the next attempt, when one followed. */
  retryInMs?: number;
}

export interface StepRunRecord {
  executionId: string;
  index: number;
  stepId: string;
  type: string;
  status: StepRunStatus;
  attempts: number;
  attemptLog: AttemptRecord[];
  startedAt: string;
  endedAt: string | null;
  output: unknown;
  outputTruncated: boolean;
  error: ExecutionErrorRecord | null;
  waitingOnChange: string | null;
}
