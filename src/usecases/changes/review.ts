import { overlappingScheduled } from '../../db/changes';
import { listFreezeWindows } from '../../db/freezeWindows';
import { type ApprovalEvaluation, evaluateApprovals } from '../../domain/approvalPolicy';
import { type ScheduleConflict, scheduleConflicts } from '../../domain/schedule';
import type { ChangeRecord, FreezeWindowRecord } from '../../domain/types';
import type { AuthedContext } from '../context';
import { readChange } from './queries';

/** What a CAB reviewer weighs before voting on a change. */
export interface ChangeReview {
  change: ChangeRecord;
  /** Where the votes stand against the CAB policy; null until the change has a risk level. */
  evaluation: ApprovalEvaluation | null;
  /** Scheduled or in-flight changes on a shared service whose windows overlap the planned one. */
  conflicts: ScheduleConflict[];
  /** Freeze windows overlapping the planned window (none until the change has one). */
  freezeWindows: FreezeWindowRecord[];
}

/**
 * One change as the CAB sees it: the same reads the vote (approval policy) and the scheduler
 * (conflicts, freeze windows) make, so the reviewer sees what the rules will see.
 */
export async function reviewChange(ctx: AuthedContext, id: string): Promise<ChangeReview> {
  const change = await readChange(ctx, id);
  const { plannedStart: start, plannedEnd: end } = change;
  const [approvals, freezeWindows, scheduled] = await Promise.all([
    ctx.loaders.approvalsByChange.load(change.id),
    start && end ? listFreezeWindows(ctx.db, change.tenantId, start, end) : Promise.resolve([]),
    start && end
      ? overlappingScheduled(ctx.db, change.tenantId, change.affectedServices, start, end, change.id)
      : Promise.resolve([]),
  ]);
  const conflicts =
    start && end
      ? scheduleConflicts({
          start,
          end,
          services: change.affectedServices,
          changeId: change.id,
          scheduled: scheduled.map((c) => ({
            id: c.id,
            affectedServices: c.affectedServices,
            plannedStart: c.plannedStart ?? '',
            plannedEnd: c.plannedEnd ?? '',
          })),
        })
      : [];
  const evaluation = change.riskLevel ? evaluateApprovals({ riskLevel: change.riskLevel, approvals }) : null;
  return { change, evaluation, conflicts, freezeWindows };
}
