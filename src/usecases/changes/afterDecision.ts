import { getWorkflow } from '../../db/workflows';
import type { ChangeRecord } from '../../domain/types';
import { createLogger } from '../../log';
import type { AuthedContext } from '../context';
import { executeWorkflow, wakeGatesOf } from '../workflows/executions';
import { runbookInputs, runbookVouchedFor } from '../workflows/runbookRules';

const logger = createLogger({ service: 'changeflow', component: 'runbooks' });

/**
 * What follows a CAB decision (a vote, a pre-approval on submit, or an emergency override), once
 * it is committed: approval gates waiting on the change look again, and an approved change's
 * runbook may start.
 */
export async function afterChangeDecided(ctx: AuthedContext, change: ChangeRecord): Promise<void> {
  if (change.status !== 'APPROVED' && change.status !== 'REJECTED') return;
  await wakeGatesOf(ctx, change.id);
  if (change.status === 'APPROVED') await onChangeApproved(ctx, change);
}

/** After a change was approved: start its runbook if the workflow asks to run on approval. */
async function onChangeApproved(ctx: AuthedContext, change: ChangeRecord): Promise<void> {
  if (!change.runbookWorkflowId || !ctx.executions) return;
  if (!runbookVouchedFor(change)) {
    logger.log('warn', 'runbook not started: attached by neither a change manager nor a template', {
      changeId: change.id,
      workflowId: change.runbookWorkflowId,
    });
    return;
  }
  const workflow = await getWorkflow(ctx.db, ctx.principal.tenantId, change.runbookWorkflowId);
  if (workflow?.status !== 'ACTIVE') return;
  if (!workflow.triggers.some((t) => t.type === 'change-approved')) return;
  await executeWorkflow(ctx, workflow.id, {
    trigger: 'CHANGE_APPROVED',
    triggerRef: change.id,
    changeId: change.id,
    inputs: runbookInputs(change),
  });
}
