import DataLoader from 'dataloader';
import type { ApprovalRecord, ChangeRecord, StepRunRecord } from '../domain/types';
import { approvalsForChanges } from './approvals';
import { getChangesByIds } from './changes';
import { getStepRuns } from './executions';
import { type UserRecord, usersByIds } from './users';

/** D1 binds at most 100 parameters per statement; our IN lists travel as one JSON parameter, but we cap anyway. */
const MAX_BATCH = 100;

function groupBy<T>(rows: T[], key: (row: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

/** Per-request DataLoaders, scoped to one tenant so a loader can never return another tenant's row. */
export function createLoaders(db: D1Database, tenantId: string) {
  return {
    change: new DataLoader<string, ChangeRecord | null>(
      async (ids) => {
        const byId = new Map((await getChangesByIds(db, tenantId, ids)).map((c) => [c.id, c]));
        return ids.map((id) => byId.get(id) ?? null);
      },
      { maxBatchSize: MAX_BATCH },
    ),
    approvalsByChange: new DataLoader<string, ApprovalRecord[]>(
      async (ids) => {
        const byChange = groupBy(await approvalsForChanges(db, tenantId, ids), (a) => a.changeId);
        return ids.map((id) => byChange.get(id) ?? []);
      },
      { maxBatchSize: MAX_BATCH },
    ),
    user: new DataLoader<string, UserRecord>(
      async (ids) => {
        const byId = new Map((await usersByIds(db, tenantId, ids)).map((u) => [u.id, u]));
        // A caller who never wrote anything has no row yet: show the id alone.
        return ids.map((id) => byId.get(id) ?? { id, displayName: null, email: null });
      },
      { maxBatchSize: MAX_BATCH },
    ),
    stepRunsByExecution: new DataLoader<string, StepRunRecord[]>(
      async (ids) => {
        const byExecution = groupBy(await getStepRuns(db, tenantId, ids), (s) => s.executionId);
        return ids.map((id) => byExecution.get(id) ?? []);
      },
      { maxBatchSize: MAX_BATCH },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
