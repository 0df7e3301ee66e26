import type { ApprovalRecord } from '../resolvers/domain';
import { builder } from './builder';
import { ApprovalDecisionEnum } from './enums';
import { UserRef } from './user';

export const ApprovalRef = builder.objectRef<ApprovalRecord>('Approval').implement({
  description: 'One CAB vote on a change.',
  fields: (t) => ({
    id: t.exposeID('id'),
    changeId: t.exposeID('changeId'),
    approver: t.field({ type: UserRef, resolve: (a, _args, ctx) => ctx.loaders.user.load(a.approverId) }),
    approverRoles: t.exposeStringList('approverRoles'),
    decision: t.expose('decision', { type: ApprovalDecisionEnum }),
    comment: t.exposeString('comment', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
