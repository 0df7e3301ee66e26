import { builder } from '../builder';
import { servedHere } from '../feed';
import { ExecutionEventRef } from './type';

builder.subscriptionFields((t) => ({
  executionProgress: t.withAuth({ viewer: true }).field({
    type: ExecutionEventRef,
    description: 'Progress of your tenant’s executions as it happens: one execution, one workflow, or all.',
    args: {
      executionId: t.arg.id({ required: false }),
      workflowId: t.arg.id({ required: false }),
    },
    subscribe: (_r, args, ctx) =>
      servedHere(
        ctx.live?.executionEvents?.({
          executionId: args.executionId || null,
          workflowId: args.workflowId || null,
        }),
      ),
    resolve: (e) => e,
  }),
}));
