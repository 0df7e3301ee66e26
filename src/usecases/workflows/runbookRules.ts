import type { ChangeRecord } from '../../domain/types';

/**
 * A runbook runs only when a change manager attached it (recorded on the change) or the
 * standard-change template the change came from carried it (a template change cannot be edited).
 * A runbook anyone else named never starts.
 */
export const runbookVouchedFor = (change: ChangeRecord): boolean =>
  !!change.runbookWorkflowId && (change.templateId !== null || change.runbookAttachedBy !== null);

/** What a runbook runs with: the template's inputs, and the change itself under `change`. */
export const runbookInputs = (change: ChangeRecord) => ({
  ...(change.runbookInputs ?? {}),
  change: { id: change.id, title: change.title, type: change.type, riskLevel: change.riskLevel },
});
