import { type WorkflowStep as DurableStep, WorkflowEntrypoint, type WorkflowEvent } from 'cloudflare:workers';
import type { WorkflowStep } from '../../domain/workflowSteps';
import {
  beginExecution,
  checkDelay,
  checkGate,
  finishExecution,
  httpAttempt,
  type Ids,
  runTransforms,
  type Scope,
  type StepResult,
  stopRequested,
  type WaitResult,
} from '../../engine/engine';
import { type ExecutionEnv, enginePorts, settleRunbook, WAKE_EVENT } from './ports';

type TransformStep = Extract<WorkflowStep, { type: 'transform' }>;
type OtherStep = Exclude<WorkflowStep, TransformStep>;

/** The transforms from `index` up to the next step of another type. */
function transformRun(steps: readonly WorkflowStep[], index: number): TransformStep[] {
  const run: TransformStep[] = [];
  for (let i = index; i < steps.length && steps[i]?.type === 'transform'; i++)
    run.push(steps[i] as TransformStep);
  return run;
}

/** What an instance is created with: the execution it runs (the instance id is the execution id). */
export interface ExecutionParams {
  tenantId: string;
  executionId: string;
}

/**
 * Bookkeeping steps (begin, finish, checks) read and write D1 only: Workflows may retry them.
 * An HTTP attempt is never retried by Workflows: our own policy decides (backoff, Retry-After,
 * breaker), each attempt is its own durable step, and a replay never sends a request twice.
 */
const BOOKKEEPING = {
  retries: { limit: 4, delay: '1 second', backoff: 'exponential' },
  timeout: '2 minutes',
} as const;
const ONE_ATTEMPT = { retries: { limit: 0, delay: 0 }, timeout: '5 minutes' } as const;

/**
 * Runs one workflow execution durably on Cloudflare Workflows. Every unit of work is a step
 * whose result the platform stores, so after a restart `run` replays to where it was without
 * repeating work; pauses (backoff, delays, gates) wait for a wake event with a timeout, so a
 * cancel or a decision ends them at once.
 */
export class ExecutionWorkflow extends WorkflowEntrypoint<ExecutionEnv, ExecutionParams> {
  override async run(event: Readonly<WorkflowEvent<ExecutionParams>>, step: DurableStep): Promise<string> {
    const ids: Ids = { tenantId: event.payload.tenantId, executionId: event.payload.executionId };
    const ports = () => enginePorts(this.env, ids.tenantId);
    const begin = await step.do('begin', BOOKKEEPING, () => beginExecution(ports(), ids));
    if (begin.kind === 'done') return 'already ended';

    const scope: Scope = { inputs: begin.inputs, steps: {} };
    let outcome: StepResult = { kind: 'ok', output: null };
    const steps = begin.steps;
    for (let index = 0; index < steps.length && outcome.kind === 'ok'; ) {
      const s = steps[index] as WorkflowStep;
      // Consecutive transforms are pure: one durable step runs them all (see runTransforms).
      const run = s.type === 'transform' ? transformRun(steps, index) : [s];
      const results =
        s.type === 'transform'
          ? await step.do(`${index}:${s.id}`, BOOKKEEPING, () =>
              runTransforms(ports(), ids, begin.workflowId, index, run as TransformStep[], scope),
            )
          : [await this.runStep(step, ids, begin.workflowId, index, s as OtherStep, scope)];
      for (const [offset, result] of results.entries()) {
        if (result.kind !== 'ok') outcome = result;
        else scope.steps[(run[offset] as WorkflowStep).id] = result.output as never;
      }
      index += results.length;
    }

    const ended = await step.do('finish', BOOKKEEPING, async () => {
      const e = await finishExecution(ports(), ids, outcome, scope.steps);
      return (
        e && {
          id: e.id,
          tenantId: e.tenantId,
          status: e.status,
          trigger: e.trigger,
          changeId: e.changeId,
          error: e.error,
        }
      );
    });
    if (ended?.changeId && ended.trigger === 'RUNBOOK') {
      // Queued with the end (outbox); run now. It never throws: a failure is retried by the
      // tenant's alarm and the cron, not by replaying this step.
      await step.do('settle change', BOOKKEEPING, () => settleRunbook(this.env, ended.id));
    }
    return ended?.status ?? 'already ended';
  }

  private async runStep(
    step: DurableStep,
    ids: Ids,
    workflowId: string,
    index: number,
    s: OtherStep,
    scope: Scope,
  ): Promise<StepResult> {
    const ports = () => enginePorts(this.env, ids.tenantId);
    const name = `${index}:${s.id}`;
    switch (s.type) {
      case 'http-request': {
        let prior: { startedAt: string; log: never[] } | null = null;
        for (let attempt = 1; ; attempt++) {
          const r = await step.do(`${name}#${attempt}`, ONE_ATTEMPT, () =>
            httpAttempt(ports(), ids, workflowId, index, s, scope, attempt, prior),
          );
          if (r.kind !== 'retry') return r;
          prior = { startedAt: r.startedAt, log: r.log as never[] };
          // A wake event (a cancel, or a stray nudge) may end a pause early: only a cancel may
          // cut the backoff short. After a restart the remaining time may already be past.
          for (let round = 0; r.notBefore - Date.now() > 0; round++) {
            await this.pause(step, `${name}#${attempt} backoff ${round}`, r.notBefore - Date.now());
            const stop = await step.do(`${name}#${attempt} backoff check ${round}`, BOOKKEEPING, () =>
              stopRequested(ports(), ids),
            );
            if (stop) break;
          }
        }
      }
      case 'delay':
      case 'approval-gate': {
        let startedAt: string | null = null;
        for (let round = 0; ; round++) {
          const r: WaitResult = await step.do(`${name} check ${round}`, BOOKKEEPING, () =>
            s.type === 'delay'
              ? checkDelay(ports(), ids, workflowId, index, s, startedAt)
              : checkGate(ports(), ids, workflowId, index, s, startedAt),
          );
          if (r.kind !== 'wait') return r;
          startedAt = r.startedAt;
          await this.pause(step, `${name} wait ${round}`, r.ms);
        }
      }
    }
  }

  /** Sleeps durably for `ms`, or less if a wake event comes (the caller then looks again). */
  private async pause(step: DurableStep, name: string, ms: number): Promise<void> {
    try {
      await step.waitForEvent(name, { type: WAKE_EVENT, timeout: Math.max(1, Math.ceil(ms)) });
    } catch {
      // Timed out: the pause is over.
    }
  }
}
