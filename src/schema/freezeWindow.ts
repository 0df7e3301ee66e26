import type { FreezeWindowRecord } from '../domain/types';
import { createFreezeWindow, deleteFreezeWindow } from '../usecases/changes/freezeWindows';
import { freezeWindows } from '../usecases/changes/queries';
import { builder } from './builder';
import { firstArg, firstOf } from './listArgs';

export const FreezeWindowRef = builder.objectRef<FreezeWindowRecord>('FreezeWindow').implement({
  description: 'A period in which only EMERGENCY changes may be scheduled.',
  // Creating or deleting one answers with its id and name (the window is the caller's own input).
  mcp: { summary: ['id', 'name'] },
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    reason: t.exposeString('reason', { nullable: true }),
    startsAt: t.expose('startsAt', { type: 'DateTime' }),
    endsAt: t.expose('endsAt', { type: 'DateTime' }),
    createdBy: t.exposeID('createdBy'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  freezeWindows: t.withAuth({ viewer: true }).field({
    type: [FreezeWindowRef],
    description: 'Freeze windows overlapping [from, to); both bounds optional.',
    mcp: { name: 'list_freeze_windows', toolset: 'delivery', selection: 'id name reason startsAt endsAt' },
    args: {
      from: t.arg({
        type: 'DateTime',
        required: false,
        description: 'Only windows that end after this time.',
      }),
      to: t.arg({
        type: 'DateTime',
        required: false,
        description: 'Only windows that start before this time.',
      }),
      first: firstArg(t, 25, 500),
    },
    resolve: async (_r, args, ctx) =>
      firstOf(await freezeWindows(ctx, args.from ?? null, args.to ?? null), args.first),
  }),
}));

builder.mutationFields((t) => ({
  createFreezeWindow: t.withAuth({ changeManager: true }).field({
    type: FreezeWindowRef,
    description: 'Declares a change freeze (e.g. quarter end).',
    mcp: {
      name: 'create_freeze_window',
      toolset: 'admin',
      description:
        'Declares a change freeze (e.g. quarter end): no change is scheduled into it unless EMERGENCY.',
      annotations: {
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
        why: 'Adds a freeze window; a repeat adds another.',
      },
    },
    args: {
      name: t.arg.string({
        validate: { minLength: 3, maxLength: 200 },
        description: 'What the freeze is, e.g. “Year-end close”.',
      }),
      reason: t.arg.string({
        required: false,
        validate: { maxLength: 2000 },
        description: 'Why changes must wait.',
      }),
      startsAt: t.arg({ type: 'DateTime', description: 'When the freeze begins (ISO 8601).' }),
      endsAt: t.arg({ type: 'DateTime', description: 'When the freeze ends (after startsAt).' }),
    },
    resolve: (_r, args, ctx) => createFreezeWindow(ctx, args),
  }),
  // Not an MCP tool, on purpose: an agent may add a freeze (an incident, a quarter end) but lifting
  // one lets changes through that the freeze held back, so people do it.
  deleteFreezeWindow: t.withAuth({ changeManager: true }).field({
    type: FreezeWindowRef,
    description: 'Removes a freeze window; returns what was removed.',
    args: { id: t.arg.id({ description: 'The freeze window id.' }) },
    resolve: (_r, args, ctx) => deleteFreezeWindow(ctx, args.id),
  }),
}));
