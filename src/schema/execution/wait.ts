import { MAX_WAIT_SECONDS, waitForExecution } from '../../usecases/workflows/wait';
import { builder } from '../builder';
import { ExecutionRef } from './type';

builder.queryFields((t) => ({
  waitForExecution: t.withAuth({ viewer: true }).field({
    type: ExecutionRef,
    description:
      `Waits up to timeoutSeconds (at most ${MAX_WAIT_SECONDS}) for an execution to end, then returns it: ` +
      'ended (SUCCEEDED, FAILED or CANCELLED), or still PENDING/RUNNING when the time ran out, to be asked again. ' +
      'For clients that cannot hold a subscription (executionProgress) open.',
    mcp: {
      name: 'wait_for_execution',
      reportsProgress: true,
      toolset: 'workflows',
      description:
        'Waits up to timeoutSeconds for an execution to end; call again while PENDING or RUNNING. get_execution has the details.',
      selection: 'id status error { code message stepId } steps { stepId status }',
    },
    args: {
      id: t.arg.id({ description: 'The execution id, e.g. exe_…' }),
      timeoutSeconds: t.arg.int({
        required: false,
        defaultValue: 20,
        validate: { min: 1, max: MAX_WAIT_SECONDS },
        description: `How long to wait at most, in seconds (1 to ${MAX_WAIT_SECONDS}).`,
      }),
    },
    resolve: (_root, { id, timeoutSeconds }, ctx) => waitForExecution(ctx, id, timeoutSeconds ?? 20),
  }),
}));
