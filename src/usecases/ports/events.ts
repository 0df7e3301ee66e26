import type { ChangeRecord, ChangeStatus } from '../../domain/types';
import type { ExecutionEvent } from '../../engine/engine';

/** A change's state moved or it got a vote: what subscribers of `changeEvents` receive. */
export interface ChangeEvent {
  tenantId: string;
  changeId: string;
  title: string;
  /** The audit action, e.g. `change.approval_recorded`. */
  action: string;
  status: ChangeStatus;
  previousStatus: ChangeStatus | null;
  version: number;
  actorId: string;
  source: string;
  at: string;
}

/** Where use cases send domain events after their batch commits; each runtime wires it to its hub. */
export interface EventsPort {
  publish(event: ChangeEvent): void;
  /** An execution started, moved a step, or ended. */
  publishExecution?(event: ExecutionEvent): void;
}

export function changeEvent(
  action: string,
  change: ChangeRecord,
  previousStatus: ChangeStatus | null,
  actor: { id: string; source: string },
): ChangeEvent {
  return {
    tenantId: change.tenantId,
    changeId: change.id,
    title: change.title,
    action,
    status: change.status,
    previousStatus,
    version: change.version,
    actorId: actor.id,
    source: actor.source,
    at: change.updatedAt,
  };
}
