import type { ChangeEvent } from '../../usecases/ports/events';
import { builder } from '../builder';
import { ChangeStatusEnum } from '../enums';
import { servedHere } from '../feed';

const ChangeEventRef = builder.objectRef<ChangeEvent>('ChangeEvent').implement({
  description: 'A change moved to a new state or received a vote.',
  fields: (t) => ({
    changeId: t.exposeID('changeId'),
    title: t.exposeString('title'),
    action: t.exposeString('action', { description: 'The audit action, e.g. `change.approval_recorded`.' }),
    status: t.expose('status', { type: ChangeStatusEnum }),
    previousStatus: t.expose('previousStatus', { type: ChangeStatusEnum, nullable: true }),
    version: t.exposeInt('version'),
    actorId: t.exposeID('actorId'),
    source: t.exposeString('source'),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const ChangeEventFilter = builder.inputType('ChangeEventFilter', {
  fields: (t) => ({
    changeId: t.id({ required: false, description: 'Only events of this change.' }),
    status: t.field({
      type: [ChangeStatusEnum],
      required: false,
      description: 'Only events into these states.',
    }),
  }),
});

builder.subscriptionFields((t) => ({
  changeEvents: t.withAuth({ viewer: true }).field({
    type: ChangeEventRef,
    description: 'Your tenant’s change events as they happen, optionally filtered.',
    args: { filter: t.arg({ type: ChangeEventFilter, required: false }) },
    subscribe: (_r, args, ctx) =>
      servedHere(
        ctx.live?.changeEvents?.({
          changeId: args.filter?.changeId || null,
          statuses: args.filter?.status ?? null,
        }),
      ),
    resolve: (e) => e,
  }),
}));
