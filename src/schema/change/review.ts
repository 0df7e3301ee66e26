import { reviewChange } from '../../usecases/changes/review';
import { builder } from '../builder';
import { FreezeWindowRef } from '../freezeWindow';
import { firstArg, firstOf } from '../listArgs';
import { APPROVAL_CARD_URI } from '../mcpApps';
import { ConflictRef } from './results';
import { ChangeRef } from './type';

const ChangeReviewRef = builder
  .objectRef<Awaited<ReturnType<typeof reviewChange>>>('ChangeReview')
  .implement({
    description: 'A change as its CAB reviewer weighs it: risk, votes against the policy, schedule clashes.',
    fields: (t) => ({
      change: t.field({ type: ChangeRef, resolve: (r) => r.change }),
      approvalsReceived: t.int({ resolve: (r) => r.evaluation?.approvals ?? 0 }),
      approvalsRequired: t.int({
        nullable: true,
        description: 'The CAB quorum for its risk level; null until risk is assessed.',
        resolve: (r) => r.evaluation?.required ?? null,
      }),
      changeManagerRequired: t.boolean({ resolve: (r) => r.evaluation?.changeManagerRequired ?? false }),
      stillNeeded: t.string({
        nullable: true,
        description:
          'What is still missing before approval, empty when nothing; null until risk is assessed.',
        resolve: (r) => r.evaluation?.missing ?? null,
      }),
      conflicts: t.field({
        type: [ConflictRef],
        description: 'Scheduled changes on a shared service whose window overlaps the planned one.',
        args: { first: firstArg(t, 20, 50) },
        resolve: (r, { first }) => firstOf(r.conflicts, first),
      }),
      freezeWindows: t.field({
        type: [FreezeWindowRef],
        description: 'Freeze windows overlapping the planned window.',
        args: { first: firstArg(t, 20, 50) },
        resolve: (r, { first }) => firstOf(r.freezeWindows, first),
      }),
    }),
  });

builder.queryFields((t) => ({
  changeReview: t.withAuth({ viewer: true }).field({
    type: ChangeReviewRef,
    description:
      'One change as the CAB reviews it: its risk factors, votes so far against the quorum, ' +
      'conflicting scheduled changes and freeze windows over its planned window.',
    mcp: {
      name: 'review_change',
      toolset: 'changes',
      description:
        'What a CAB reviewer votes on: risk factors, votes and what is still needed, clashing changes, ' +
        'freeze windows. MCP Apps hosts show it as a card with Approve and Reject.',
      selection:
        'change { id title status riskScore riskLevel affectedServices plannedStart plannedEnd ' +
        'riskFactors { label contribution } approvals { approver { id } decision comment } } ' +
        'approvalsReceived approvalsRequired stillNeeded ' +
        'conflicts { changeId services plannedStart plannedEnd } freezeWindows { id name startsAt endsAt }',
      ui: APPROVAL_CARD_URI,
      // For the parties to the approval: those who vote and those who raise changes. A viewer reads
      // the change with get_change_status, and its votes over GraphQL (changeReview) or the audit log.
      offeredTo: ['requester', 'approver'],
    },
    args: { id: t.arg.id({ description: 'The change id, e.g. CHG-20260101-ABC123.' }) },
    resolve: (_root, { id }, ctx) => reviewChange(ctx, id),
  }),
}));
