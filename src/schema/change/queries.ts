import type { ChangeRecord } from '../../domain/types';
import { type ChangePage, changesPage, countChangesOf, readChange } from '../../usecases/changes/queries';
import { builder } from '../builder';
import { ChangeStatusEnum, ChangeTypeEnum, RiskLevelEnum } from '../enums';
import { APPROVAL_CARD_URI } from '../mcpApps';
import { definePage, pageArgs } from '../page';
import { ChangeRef } from './type';

const ChangeFilterInput = builder.inputType('ChangeFilter', {
  description: 'All given criteria must match.',
  fields: (t) => ({
    status: t.field({ type: [ChangeStatusEnum], required: false, description: 'Any of these statuses.' }),
    type: t.field({ type: [ChangeTypeEnum], required: false, description: 'Any of these types.' }),
    riskLevel: t.field({ type: [RiskLevelEnum], required: false, description: 'Any of these risk levels.' }),
    service: t.string({ required: false, description: 'Changes that affect this service.' }),
    requesterId: t.id({ required: false, description: 'Changes raised by this user id.' }),
    search: t.string({
      required: false,
      description: 'Text in the title or description.',
      validate: { maxLength: 200 },
    }),
  }),
});

const ChangePageRef = definePage<ChangeRecord, ChangePage>('ChangePage', ChangeRef, (t) => ({
  totalCount: t.int({
    description: 'Changes matching the filter (costs one extra statement; ask only when shown).',
    resolve: (page, _args, ctx) => countChangesOf(ctx, page),
  }),
}));

builder.queryFields((t) => ({
  change: t.withAuth({ viewer: true }).field({
    type: ChangeRef,
    description: 'One change by id, with its risk, approvals and allowed next states.',
    mcp: {
      name: 'get_change_status',
      toolset: 'changes',
      description:
        'One change: status, allowed next states, version, plans, risk and window. review_change has its votes and risk factors.',
      // What an agent acts on, within the catalog budget (test/mcp/budget.test.ts): the state and its
      // next moves, the plans, risk and window; review_change has the votes and risk factors, and the
      // resource changeflow://changes/{id} has every field.
      selection:
        'id title description type priority status allowedTransitions requester { id } affectedServices ' +
        'implementationPlan backoutPlan testPlan riskScore riskLevel plannedStart plannedEnd ' +
        'reviewDueAt runbookWorkflowId failureReason version',
      ui: APPROVAL_CARD_URI,
    },
    mcpResource: { uriTemplate: 'changeflow://changes/{id}', name: 'change', title: 'Change request' },
    args: { id: t.arg.id({ description: 'The change id, e.g. CHG-20260101-ABC123.' }) },
    resolve: (_root, { id }, ctx) => readChange(ctx, id),
  }),
  changes: t.withAuth({ viewer: true }).field({
    type: ChangePageRef,
    description: 'Changes, newest first, filtered and cursor-paginated.',
    mcp: {
      name: 'list_changes',
      toolset: 'changes',
      description:
        'Search changes, newest first, by status, type, risk, service, requester or text; pass endCursor as `after`.',
      // A summary per change to pick one by; get_change_status reads it.
      selection:
        'nodes { id title status priority riskLevel plannedStart } pageInfo { hasNextPage endCursor }',
    },
    args: { filter: t.arg({ type: ChangeFilterInput, required: false }), ...pageArgs(t) },
    resolve: (_root, { filter, ...page }, ctx) => changesPage(ctx, { ...filter }, page),
  }),
}));
