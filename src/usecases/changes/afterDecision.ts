import { getChange } from '../../db/changes';
import { changeHasDeployment } from '../../db/deployments';
import { executionOfOutbox } from '../../db/executions';
import type { FollowUp } from '../../db/outbox';
import { getWorkflow } from '../../db/workflows';
import type { ChangeRecord, ChangeStatus } from '../../domain/types';
import { createLogger } from '../../log';
import type { AuthedContext } from '../context';
import { handOverNow, recordExecution } from '../workflows/executions';
import { runbookInputs, runbookVouchedFor } from '../workflows/runbookRules';

const logger = createLogger({ service: 'changeflow', component: 'runbooks' });

/**
 * What follows a CAB decision (a vote, a pre-approval on submit, or an emergency override):
 * approval gates waiting on the change look again, and an approved change's runbook may start.
 * Queued in the decision's own batch (outbox.ts runs them once it committed).
 */
export function decisionFollowUps(current: ChangeRecord, next: ChangeRecord): FollowUp[] {
  if (current.status === next.status) return [];
  if (next.status !== 'APPROVED' && next.status !== 'REJECTED') return [];
  const followUps: FollowUp[] = [{ kind: 'wake-gates', changeId: next.id }];
  if (next.status === 'APPROVED' && next.runbookWorkflowId) {
    followUps.push({ kind: 'change-approved', changeId: next.id });
  }
  return followUps;
}

/** A change in these states is still on its way: its approval's runbook may start (late, on a retry). */
const STILL_APPROVED: readonly ChangeStatus[] = ['APPROVED', 'SCHEDULED', 'IMPLEMENTING'];

/**
 * The change-approved follow-up: starts the change's runbook if the workflow asks to run on
 * approval. Keyed by the outbox row: the execution it records carries the row's id (unique), so
 * a second run finds that execution and only hands it over again if the first hand-over was lost.
 */
export async function startApprovedRunbook(
  ctx: AuthedContext,
  changeId: string,
  outboxId: string,
): Promise<string> {
  const tenantId = ctx.principal.tenantId;
  const started = await executionOfOutbox(ctx.db, tenantId, outboxId);
  if (started) return handOverNow(ctx, started);
  if (!ctx.executions) return 'no workflow engine in this runtime';
  const change = await getChange(ctx.db, tenantId, changeId);
  if (!change?.runbookWorkflowId) return 'no runbook';
  if (!STILL_APPROVED.includes(change.status)) return `not started: the change is ${change.status}`;
  // A deployment implements it (src/usecases/deployments): a runbook would do the same work twice.
  if (await changeHasDeployment(ctx.db, tenantId, change.id))
    return 'not started: a deployment implements it';
  if (!runbookVouchedFor(change)) {
    logger.log('warn', 'runbook not started: attached by neither a change manager nor a template', {
      changeId: change.id,
      workflowId: change.runbookWorkflowId,
    });
    return 'not started: runbook not vouched for';
  }
  const workflow = await getWorkflow(ctx.db, tenantId, change.runbookWorkflowId);
  if (workflow?.status !== 'ACTIVE') return 'not started: the workflow is not active';
  if (!workflow.triggers.some((t) => t.type === 'change-approved')) return 'no change-approved trigger';
  const execution = await recordExecution(
    ctx,
    workflow.id,
    { trigger: 'CHANGE_APPROVED', triggerRef: change.id, changeId: change.id, inputs: runbookInputs(change) },
    outboxId,
  );
  return handOverNow(ctx, execution);
}
