import type { ApprovalRecord } from '../domain/types';
import { builder } from './builder';
import { ApprovalDecisionEnum } from './enums';
import { UserRef } from './user';

export const ApprovalRef = builder.objectRef<ApprovalRecord>('Approval').implement({
  description: 'One CAB vote on a change.',
  fields: (t) => ({
    id: t.exposeID('id'),
    changeId: t.exposeID('changeId'),
    approver: t.field({
      type: UserRef,
      description: 'The person who voted; a vote through a delegated API key is its owner’s.',
      resolve: (a, _args, ctx) => ctx.loaders.user.load(a.approverId),
    }),
    approverRoles: t.exposeStringList('approverRoles', {
      description:
        'The roles the person voted with (through a delegated key: the key’s roles its owner holds).',
    }),
    apiKeyId: t.exposeID('apiKeyId', {
      nullable: true,
      description: 'The delegated API key the vote came through; null when cast with the person’s own token.',
    }),
    decision: t.expose('decision', { type: ApprovalDecisionEnum }),
    comment: t.exposeString('comment', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});
