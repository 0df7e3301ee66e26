import { type ChangeCursor, type ChangeFilter, countChanges, listChanges } from '../db/changes';
import { decodeCursor, type Page, toPage } from '../domain/pagination';
import type { ChangeRecord } from '../domain/types';
import { notFound } from '../usecases/changes/writes';
import { authed } from '../usecases/context';
import { builder } from './builder';
import { ChangeRef } from './change';
import { ChangeStatusEnum, ChangeTypeEnum, RiskLevelEnum } from './enums';
import { definePage } from './page';

const ChangeFilterInput = builder.inputType('ChangeFilter', {
  description: 'All given criteria must match.',
  fields: (t) => ({
    status: t.field({ type: [ChangeStatusEnum], required: false }),
    type: t.field({ type: [ChangeTypeEnum], required: false }),
    riskLevel: t.field({ type: [RiskLevelEnum], required: false }),
    service: t.string({ required: false, description: 'Changes that affect this service.' }),
    requesterId: t.id({ required: false }),
    search: t.string({
      required: false,
      description: 'Text in the title or description.',
      validate: { maxLength: 200 },
    }),
  }),
});

type ChangePage = Page<ChangeRecord> & { filter: ChangeFilter; tenantId: string };

const ChangePageRef = definePage<ChangeRecord, ChangePage>('ChangePage', ChangeRef, (t) => ({
  totalCount: t.int({
    description: 'Changes matching the filter (costs one extra statement; ask only when shown).',
    resolve: (page, _args, ctx) => countChanges(ctx.db, page.tenantId, page.filter),
  }),
}));

const isChangeCursor = (v: unknown): v is ChangeCursor =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ChangeCursor).createdAt === 'string' &&
  typeof (v as ChangeCursor).id === 'string';

builder.queryFields((t) => ({
  change: t.field({
    type: ChangeRef,
    description: 'One change by id, with its risk, approvals and allowed next states.',
    authScopes: { viewer: true },
    mcp: {
      name: 'get_change_status',
      description:
        'Read one change request: status, allowed next states, risk score and factors, CAB votes, schedule.',
    },
    mcpResource: { uriTemplate: 'changeflow://changes/{id}', name: 'change', title: 'Change request' },
    args: { id: t.arg.id({ description: 'The change id, e.g. CHG-20260101-ABC123.' }) },
    resolve: async (_root, { id }, ctx) => {
      const change = await authed(ctx).loaders.change.load(String(id));
      if (!change) throw notFound(String(id));
      return change;
    },
  }),
  changes: t.field({
    type: ChangePageRef,
    description: 'Changes, newest first, filtered and cursor-paginated.',
    authScopes: { viewer: true },
    mcp: {
      name: 'list_changes',
      description:
        'Search change requests (newest first) by status, type, risk level, service, requester or text; ' +
        'pass pageInfo.endCursor as `after` for the next page.',
      selection:
        'nodes { id title type status priority riskLevel affectedServices plannedStart plannedEnd ' +
        'requester { id displayName } createdAt } pageInfo { hasNextPage endCursor }',
    },
    args: {
      filter: t.arg({ type: ChangeFilterInput, required: false }),
      first: t.arg.int({ required: false, defaultValue: 20, validate: { min: 1, max: 100 } }),
      after: t.arg.string({ required: false, description: 'endCursor of the previous page.' }),
    },
    resolve: async (_root, args, ctx) => {
      const { principal, db, loaders } = authed(ctx);
      const filter: ChangeFilter = { ...args.filter, requesterId: args.filter?.requesterId?.toString() };
      const limit = args.first ?? 20;
      const cursor = args.after ? decodeCursor(args.after, isChangeCursor) : null;
      const rows = await listChanges(db, principal.tenantId, filter, limit + 1, cursor);
      for (const row of rows) loaders.change.prime(row.id, row);
      const page = toPage(rows, limit, (c) => ({ createdAt: c.createdAt, id: c.id }));
      return { ...page, filter, tenantId: principal.tenantId };
    },
  }),
}));
