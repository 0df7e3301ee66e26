import { cancelExecution, executeWorkflow, MAX_INPUT_BYTES } from '../../usecases/workflows/executions';
import { builder } from '../builder';
import { ExecutionRef } from './type';

builder.mutationFields((t) => ({
  executeWorkflow: t.withAuth({ changeManager: true }).field({
    type: ExecutionRef,
    description:
      'Runs an ACTIVE workflow now, at its current version. Returns at once with the execution PENDING; ' +
      'follow it with the execution query (get_execution) or the executionProgress subscription.',
    mcp: {
      name: 'execute_workflow',
      toolset: 'workflows',
      // An agent cannot hold a subscription open: it waits with a bounded call instead.
      description:
        'Runs an ACTIVE workflow now and returns the PENDING execution; follow it with wait_for_execution.',
      annotations: {
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: true,
        why: "Runs the workflow's HTTP steps against outside systems, which may change or delete data there; every call is a new execution.",
      },
    },
    args: {
      workflowId: t.arg.id({ description: 'The workflow id, e.g. wf_…' }),
      inputs: t.arg({
        type: 'JSON',
        required: false,
        description: `JSON the steps read as inputs.* (at most ${MAX_INPUT_BYTES / 1024} KiB).`,
      }),
    },
    resolve: (_r, args, ctx) =>
      executeWorkflow(ctx, args.workflowId, { trigger: 'MANUAL', inputs: args.inputs ?? {} }),
  }),
  cancelExecution: t.withAuth({ changeManager: true }).field({
    type: ExecutionRef,
    description:
      'Asks a PENDING or RUNNING execution to stop: it ends CANCELLED at the next step boundary, and an ' +
      'HTTP call in flight is aborted. Returns the execution with cancelRequestedAt set.',
    mcp: {
      name: 'cancel_execution',
      description:
        'Stops a PENDING or RUNNING execution at the next step boundary (an HTTP call in flight is ' +
        'aborted).',
      toolset: 'workflows',
      changes: ['cancelRequestedAt'],
      annotations: {
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
        why: 'Stops the execution for good; a repeat is refused (already ended).',
      },
    },
    args: { id: t.arg.id({ description: 'The execution id, e.g. exe_…' }) },
    resolve: (_r, args, ctx) => cancelExecution(ctx, args.id),
  }),
}));
