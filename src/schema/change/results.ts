import type { ApprovalEvaluation } from '../../domain/approvalPolicy';
import type { ScheduleConflict } from '../../domain/schedule';
import type { ApprovalRecord, ChangeRecord, RiskAssessment } from '../../domain/types';
import { builder } from '../builder';
import { RiskLevelEnum } from '../enums';
import { firstArg, firstOf } from '../listArgs';
import { ApprovalRef, ChangeRef, RiskFactorRef } from './type';

/** What the change mutations that decide something answer: the change, with what was decided. */

export const RiskResultRef = builder
  .objectRef<{ change: ChangeRecord; risk: RiskAssessment }>('RiskAssessmentResult')
  .implement({
    description: 'A deterministic risk score with every factor that contributed to it.',
    fields: (t) => ({
      change: t.field({ type: ChangeRef, resolve: (r) => r.change }),
      score: t.int({ resolve: (r) => r.risk.score }),
      level: t.field({ type: RiskLevelEnum, resolve: (r) => r.risk.level }),
      factors: t.field({
        type: [RiskFactorRef],
        args: { first: firstArg(t, 20) },
        resolve: (r, { first }) => firstOf(r.risk.factors, first),
      }),
      assessedAt: t.field({ type: 'DateTime', resolve: (r) => r.risk.assessedAt }),
    }),
  });

export const ApprovalResultRef = builder
  .objectRef<{ change: ChangeRecord; approval: ApprovalRecord; evaluation: ApprovalEvaluation }>(
    'ApprovalResult',
  )
  .implement({
    description: 'The vote just recorded and where the change stands against the CAB policy.',
    fields: (t) => ({
      change: t.field({ type: ChangeRef, resolve: (r) => r.change }),
      approval: t.field({ type: ApprovalRef, resolve: (r) => r.approval }),
      approvalsReceived: t.int({ resolve: (r) => r.evaluation.approvals }),
      approvalsRequired: t.int({ resolve: (r) => r.evaluation.required }),
      changeManagerRequired: t.boolean({ resolve: (r) => r.evaluation.changeManagerRequired }),
      stillNeeded: t.string({
        description: 'What is still missing before approval, or empty.',
        resolve: (r) => r.evaluation.missing,
      }),
    }),
  });

export const ConflictRef = builder.objectRef<ScheduleConflict>('ScheduleConflict').implement({
  description: 'Another scheduled change on a shared service whose window overlaps.',
  fields: (t) => ({
    changeId: t.exposeID('changeId'),
    services: t.exposeStringList('services'),
    plannedStart: t.expose('plannedStart', { type: 'DateTime' }),
    plannedEnd: t.expose('plannedEnd', { type: 'DateTime' }),
  }),
});

export const ScheduleResultRef = builder
  .objectRef<{ change: ChangeRecord; conflicts: ScheduleConflict[]; freezeWindowsOverridden: string[] }>(
    'ScheduleResult',
  )
  .implement({
    fields: (t) => ({
      change: t.field({ type: ChangeRef, resolve: (r) => r.change }),
      conflicts: t.field({
        type: [ConflictRef],
        args: { first: firstArg(t, 50) },
        resolve: (r, { first }) => firstOf(r.conflicts, first),
      }),
      freezeWindowsOverridden: t.idList({
        description: 'Freeze windows this EMERGENCY change was allowed to break.',
        resolve: (r) => r.freezeWindowsOverridden,
      }),
    }),
  });
