import type { ChangeStatus } from '../domain/types';
import { type ChangeKpis, changeKpis } from '../usecases/reports';
import { builder } from './builder';
import { ChangeStatusEnum } from './enums';
import { firstArg, firstOf } from './listArgs';

const StatusCountRef = builder.objectRef<{ status: ChangeStatus; count: number }>('StatusCount').implement({
  fields: (t) => ({
    status: t.expose('status', { type: ChangeStatusEnum }),
    count: t.exposeInt('count'),
  }),
});

export const KpisRef = builder.objectRef<ChangeKpis>('ChangeMetrics').implement({
  description: 'Change-management KPIs of the caller’s tenant.',
  fields: (t) => ({
    totalChanges: t.exposeInt('totalChanges'),
    activeChanges: t.exposeInt('activeChanges', { description: 'Changes not yet in a final state.' }),
    pendingApprovals: t.exposeInt('pendingApprovals'),
    meanTimeToApproveHours: t.exposeFloat('meanTimeToApproveHours', {
      nullable: true,
      description: 'Mean hours from submission to approval.',
    }),
    successRate: t.exposeFloat('successRate', {
      nullable: true,
      description: 'COMPLETED / (COMPLETED + FAILED + ROLLED_BACK), 0–1.',
    }),
    emergencyRatio: t.exposeFloat('emergencyRatio', {
      nullable: true,
      description: 'EMERGENCY share of all changes, 0–1.',
    }),
    changesByStatus: t.field({
      type: [StatusCountRef],
      args: { first: firstArg(t, 20) },
      resolve: (k, { first }) => firstOf(k.changesByStatus, first),
    }),
    generatedAt: t.expose('generatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  metrics: t.withAuth({ viewer: true }).field({
    type: KpisRef,
    description: 'Change KPIs computed from two aggregate queries.',
    resolve: (_r, _a, ctx) => changeKpis(ctx),
  }),
}));
