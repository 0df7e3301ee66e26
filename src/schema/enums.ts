import { CHANGE_STATUSES, CHANGE_TYPES, LEVELS, PRIORITIES, RISK_LEVELS } from '../domain/types';
import { builder } from './builder';

export const ChangeTypeEnum = builder.enumType('ChangeType', {
  description:
    'STANDARD: pre-authorised routine work, created from a standard change template; NORMAL: goes to the CAB; EMERGENCY: urgent fix.',
  values: CHANGE_TYPES,
});

export const LevelEnum = builder.enumType('Level', {
  description: 'Impact or urgency on the ITIL three-point scale.',
  values: LEVELS,
});

export const PriorityEnum = builder.enumType('Priority', {
  description: 'ITIL priority from the impact × urgency matrix; P1 is the most urgent.',
  values: PRIORITIES,
});

export const RiskLevelEnum = builder.enumType('RiskLevel', {
  description: 'LOW < 25 ≤ MEDIUM < 50 ≤ HIGH < 75 ≤ VERY_HIGH (risk score).',
  values: RISK_LEVELS,
});

export const ChangeStatusEnum = builder.enumType('ChangeStatus', {
  description:
    'DRAFT → SUBMITTED → PENDING_APPROVAL → APPROVED | REJECTED; APPROVED → SCHEDULED → IMPLEMENTING → ' +
    'COMPLETED | FAILED; FAILED → ROLLED_BACK; CANCELLED from any state before IMPLEMENTING.',
  values: CHANGE_STATUSES,
});

export const ApprovalDecisionEnum = builder.enumType('ApprovalDecision', {
  description: 'A recorded CAB vote.',
  values: ['APPROVED', 'REJECTED'] as const,
});
