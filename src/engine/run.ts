import type { WorkflowStep } from '../domain/workflowSteps';
import {
  beginExecution,
  checkDelay,
  checkGate,
  type EnginePorts,
  finishExecution,
  httpAttempt,
  type Ids,
  runTransforms,
  type Scope,
  type StepResult,
  stopRequested,
  type WaitResult,
} from './engine';

/**
 * What a runtime gives the run of one execution: a durable step store and durable pauses.
 * Cloudflare Workflows in a Worker (src/runtime/worker/executionWorkflow.ts); a journal in the
 * SQLite file on Node (src/runtime/node/executions.ts).
 */
export interface DurableRun {
  /**
   * Runs `work` once for `name` and keeps its JSON result: a replay after a restart gets the kept
   * result instead of running it again. `bookkeeping` work (D1 only) may be retried by the
   * runtime; an HTTP `attempt` never is (our own retry policy decides, and a replay never sends a
   * request twice).
   */
  step<T>(name: string, kind: 'bookkeeping' | 'attempt', work: () => Promise<T>): Promise<T>;
  /** Sleeps durably for `ms` (a replay keeps the first deadline), or less if the execution is woken. */
  pause(name: string, ms: number): Promise<void>;
}

type TransformStep = Extract<WorkflowStep, { type: 'transform' }>;
type OtherStep = Exclude<WorkflowStep, TransformStep>;

/** The transforms from `index` up to the next step of another type. */
function transformRun(steps: readonly WorkflowStep[], index: number): TransformStep[] {
  const run: TransformStep[] = [];
  for (let i = index; i < steps.length && steps[i]?.type === 'transform'; i++)
    run.push(steps[i] as TransformStep);
  return run;
}

/**
 * Runs one workflow execution to its end. Every unit of work is a durable step, so after a
 * restart the run replays to where it was without repeating work; pauses (backoff, delays,
 * gates) end early when the execution is woken (a cancel, a decision). `settle`: runs the settle
 * follow-up of a runbook that ended (queued with the end, so a failure here is retried by the
 * outbox, not by replaying). Returns the final status, or 'already ended'.
 */
export async function runExecution(
  run: DurableRun,
  ports: () => EnginePorts,
  ids: Ids,
  settle: (executionId: string) => Promise<string>,
): Promise<string> {
  const begin = await run.step('begin', 'bookkeeping', () => beginExecution(ports(), ids));
  if (begin.kind === 'done') return 'already ended';

  const scope: Scope = { inputs: begin.inputs, steps: {} };
  let outcome: StepResult = { kind: 'ok', output: null };
  const steps = begin.steps;
  for (let index = 0; index < steps.length && outcome.kind === 'ok'; ) {
    const s = steps[index] as WorkflowStep;
    // Consecutive transforms are pure: one durable step runs them all (see runTransforms).
    const batch = s.type === 'transform' ? transformRun(steps, index) : [s];
    const results =
      s.type === 'transform'
        ? await run.step(`${index}:${s.id}`, 'bookkeeping', () =>
            runTransforms(ports(), ids, begin.workflowId, index, batch as TransformStep[], scope),
          )
        : [await runStep(run, ports, ids, begin.workflowId, index, s as OtherStep, scope)];
    for (const [offset, result] of results.entries()) {
      if (result.kind !== 'ok') outcome = result;
      else scope.steps[(batch[offset] as WorkflowStep).id] = result.output as never;
    }
    index += results.length;
  }

  const ended = await run.step('finish', 'bookkeeping', async () => {
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
    // outbox's own retries, not by replaying this step.
    await run.step('settle change', 'bookkeeping', () => settle(ended.id));
  }
  return ended?.status ?? 'already ended';
}

async function runStep(
  run: DurableRun,
  ports: () => EnginePorts,
  ids: Ids,
  workflowId: string,
  index: number,
  s: OtherStep,
  scope: Scope,
): Promise<StepResult> {
  const name = `${index}:${s.id}`;
  switch (s.type) {
    case 'http-request': {
      let prior: { startedAt: string; log: never[] } | null = null;
      for (let attempt = 1; ; attempt++) {
        const r = await run.step(`${name}#${attempt}`, 'attempt', () =>
          httpAttempt(ports(), ids, workflowId, index, s, scope, attempt, prior),
        );
        if (r.kind !== 'retry') return r;
        prior = { startedAt: r.startedAt, log: r.log as never[] };
        // A wake (a cancel, or a stray nudge) may end a pause early: only a cancel may cut the
        // backoff short. After a restart the remaining time may already be past.
        for (let round = 0; r.notBefore - Date.now() > 0; round++) {
          await run.pause(`${name}#${attempt} backoff ${round}`, r.notBefore - Date.now());
          const stop = await run.step(`${name}#${attempt} backoff check ${round}`, 'bookkeeping', () =>
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
        const r: WaitResult = await run.step(`${name} check ${round}`, 'bookkeeping', () =>
          s.type === 'delay'
            ? checkDelay(ports(), ids, workflowId, index, s, startedAt)
            : checkGate(ports(), ids, workflowId, index, s, startedAt),
        );
        if (r.kind !== 'wait') return r;
        startedAt = r.startedAt;
        await run.pause(`${name} wait ${round}`, r.ms);
      }
    }
  }
}
