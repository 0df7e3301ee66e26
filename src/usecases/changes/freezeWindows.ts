import {
  deleteFreezeWindowStatement,
  getFreezeWindow,
  insertFreezeWindowStatement,
} from '../../db/freezeWindows';
import { newId } from '../../db/ids';
import type { FreezeWindowRecord } from '../../domain/types';
import { AppError } from '../../errors';
import { commitWithAudit } from '../commit';
import type { AuthedContext } from '../context';

export async function createFreezeWindow(
  ctx: AuthedContext,
  input: { name: string; reason?: string | null; startsAt: string; endsAt: string },
): Promise<FreezeWindowRecord> {
  if (Date.parse(input.endsAt) <= Date.parse(input.startsAt)) {
    throw new AppError('SCHEDULE_INVALID_WINDOW', 'endsAt must be after startsAt', {
      issues: [{ field: 'endsAt', message: 'must be after startsAt' }],
    });
  }
  const now = ctx.now().toISOString();
  const window: FreezeWindowRecord = {
    id: newId('frz'),
    tenantId: ctx.principal.tenantId,
    name: input.name,
    reason: input.reason ?? null,
    startsAt: input.startsAt,
    endsAt: input.endsAt,
    createdBy: ctx.principal.id,
    createdAt: now,
  };
  return commitWithAudit(ctx, async () => ({
    statements: [insertFreezeWindowStatement(ctx.db, window)],
    audit: [
      {
        action: 'freeze_window.created',
        targetType: 'FreezeWindow',
        targetId: window.id,
        before: null,
        after: window,
      },
    ],
    result: window,
  }));
}

export async function deleteFreezeWindow(ctx: AuthedContext, id: string): Promise<FreezeWindowRecord> {
  return commitWithAudit(ctx, async () => {
    const window = await getFreezeWindow(ctx.db, ctx.principal.tenantId, id);
    if (!window) throw new AppError('FREEZE_WINDOW_NOT_FOUND', `Freeze window ${id} does not exist`);
    return {
      statements: [deleteFreezeWindowStatement(ctx.db, ctx.principal.tenantId, id)],
      audit: [
        {
          action: 'freeze_window.deleted',
          targetType: 'FreezeWindow',
          targetId: id,
          before: window,
          after: null,
        },
      ],
      result: window,
    };
  });
}
