import { overlappingScheduled } from '../../db/changes';
import { listFreezeWindows } from '../../db/freezeWindows';
import { checkSchedule, type ScheduleCheck } from '../../domain/schedule';
import { assertTransition } from '../../domain/stateMachine';
import type { ChangeRecord } from '../../domain/types';
import type { AuthedContext } from '../context';
import { mutateChange } from './writes';

export async function scheduleChange(
  ctx: AuthedContext,
  id: string,
  plannedStart: string,
  plannedEnd: string,
  expectedVersion?: number | null,
) {
  const { change, result } = await mutateChange<ScheduleCheck>(
    ctx,
    id,
    expectedVersion,
    async (current, now) => {
      assertTransition(current.status, 'SCHEDULED');
      const [freezeWindows, scheduled] = await Promise.all([
        listFreezeWindows(ctx.db, current.tenantId, plannedStart, plannedEnd),
        overlappingScheduled(
          ctx.db,
          current.tenantId,
          current.affectedServices,
          plannedStart,
          plannedEnd,
          id,
        ),
      ]);
      const check = checkSchedule({
        type: current.type,
        start: plannedStart,
        end: plannedEnd,
        now,
        freezeWindows,
        services: current.affectedServices,
        changeId: id,
        scheduled: scheduled.map((c) => ({
          id: c.id,
          affectedServices: c.affectedServices,
          plannedStart: c.plannedStart ?? '',
          plannedEnd: c.plannedEnd ?? '',
        })),
      });
      const next: ChangeRecord = {
        ...current,
        status: 'SCHEDULED',
        plannedStart: new Date(plannedStart).toISOString(),
        plannedEnd: new Date(plannedEnd).toISOString(),
      };
      const overridden = check.freezeWindowsOverridden.length > 0;
      return {
        next,
        action: overridden ? 'change.scheduled.freeze_overridden' : 'change.scheduled',
        result: check,
      };
    },
  );
  return { change, ...result };
}
