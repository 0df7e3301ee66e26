import { getChange } from '../db/changes';
import { getEgressPolicy } from '../db/egressPolicies';
import { getExecution, updateLiveExecutionStatement, upsertStepRunStatement } from '../db/executions';
import { insertOutboxStatement, settleRowId } from '../db/outbox';
import { getWorkflowVersion } from '../db/workflows';
import type { EgressSettings } from '../domain/egress';
import { hostAllowed, hostRefusal, type OpenedSecret } from '../domain/secretHosts';
import { evaluateTransform } from '../domain/transform';
import type {
  AttemptRecord,
  ExecutionErrorRecord,
  ExecutionRecord,
  ExecutionStatus,
  StepRunRecord,
  StepRunStatus,
} from '../domain/types';
import { isTerminalExecution } from '../domain/types';
import type { WorkflowStep } from '../domain/workflowSteps';
import { secretRefs } from '../domain/workflowSteps';
import { nextDelayMs, shouldRetry } from './backoff';
import { breakerKey, countsAgainstBreaker } from './circuitBreaker';
import { type ClassifiedError, classifyError } from './errorClass';
import { callHttp, type HttpStep } from './httpCall';
import { redactSecrets } from './template';

/**
 * The execution engine's units of work. Each function is one durable step of the runner (see
 * src/runtime/worker/executionWorkflow.ts): it reads what it needs, does one thing, records it in D1
 * and returns a plain JSON result that the runner's durable store caches, so a replay after a
 * restart takes the same path without doing the work twice.
 */

/** What a step sees of its host's circuit breaker (shared by all executions of the tenant). */
export interface BreakerPort {
  acquire(host: string): Promise<{ allowed: boolean; state: string }>;
  report(host: string, outcome: 'success' | 'failure' | 'neutral'): Promise<void>;
}

/** Progress of an execution, for subscribers (the tenant hub). */
export interface ExecutionEvent {
  tenantId: string;
  executionId: string;
  workflowId: string;
  status: ExecutionStatus;
  stepIndex: number | null;
  stepId: string | null;
  stepStatus: StepRunStatus | null;
  attempts: number | null;
  error: ExecutionErrorRecord | null;
  at: string;
}

/** An audit event the engine's write appends to the tenant's chain (usecases/commit.ts AuditEntry). */
export interface EngineAuditEntry {
  action: string;
  targetType: string;
  targetId: string;
  before: unknown;
  after: unknown;
}

/** One engine write: its statements and the audit events describing them, committed as one batch. */
export interface EngineWrite<T> {
  statements: D1PreparedStatement[];
  audit: EngineAuditEntry[];
  result: T;
}

export interface EnginePorts {
  db: D1Database;
  /**
   * Commits a write with its audit events in ONE batch on the tenant's chain, as the engine's
   * system principal, through usecases/commit.ts (its sequencing, write lock and race retries).
   * `plan` runs again on every attempt, so it re-reads. `requestId`: the execution's id.
   */
  commit<T>(requestId: string, plan: (attempt: number) => Promise<EngineWrite<T>>): Promise<T>;
  breakers: BreakerPort;
  /**
   * The execution's tenant's secrets among `names`, opened (decrypted) for one HTTP attempt;
   * names the tenant has not set are absent. Rejects when one cannot be opened.
   */
  secrets(names: readonly string[]): Promise<Map<string, OpenedSecret>>;
  publish(event: ExecutionEvent): Promise<void>;
  fetch: typeof fetch;
  /** The deployment's exceptions to the egress refusals (the tenant's allow-list is read per attempt). */
  egress: EgressSettings;
  now(): Date;
  random(): number;
  /** How often an in-flight HTTP call looks for a cancel request. */
  cancelPollMs: number;
  /** How long an approval gate sleeps between checks when no decision wakes it. */
  gatePollMs: number;
}

/** Identifies the execution a unit of work belongs to. */
export interface Ids {
  tenantId: string;
  executionId: string;
}

export type StepResult =
  | { kind: 'ok'; output: unknown }
  | { kind: 'failed'; error: ExecutionErrorRecord }
  | { kind: 'cancelled' };

/** A step run's record is capped; the full output still flows to later steps. */
export const MAX_RECORDED_OUTPUT_CHARS = 16 * 1024;

function capOutput(output: unknown): { output: unknown; truncated: boolean } {
  const text = JSON.stringify(output ?? null);
  if (text.length <= MAX_RECORDED_OUTPUT_CHARS) return { output: output ?? null, truncated: false };
  return { output: text.slice(0, MAX_RECORDED_OUTPUT_CHARS), truncated: true };
}

const errorRecord = (e: ClassifiedError, stepId?: string): ExecutionErrorRecord => ({
  code: e.code,
  class: e.class,
  message: e.message,
  ...(stepId ? { stepId } : {}),
  ...(e.status !== undefined ? { status: e.status } : {}),
});

const CANCELLED_ERROR = classifyError({ kind: 'cancelled', message: 'execution cancelled' });

async function load(p: EnginePorts, ids: Ids): Promise<ExecutionRecord | null> {
  return getExecution(p.db, ids.tenantId, ids.executionId);
}

/** True when the execution is gone, finished, or someone asked to cancel it. */
export async function stopRequested(p: EnginePorts, ids: Ids): Promise<boolean> {
  const e = await load(p, ids);
  return !e || isTerminalExecution(e.status) || e.cancelRequestedAt !== null;
}

/** Writes a step run and the execution's position together, then tells subscribers. */
function record(
  p: EnginePorts,
  ids: Ids,
  run: StepRunRecord,
  exec: { workflowId: string; wakeAt?: string | null },
): Promise<void> {
  return recordAll(p, ids, [run], exec);
}

const ENDED_STEP = new Set<StepRunStatus>(['SUCCEEDED', 'FAILED', 'CANCELLED']);

const hex = (bytes: ArrayBuffer) =>
  [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, '0')).join('');

/**
 * Hex SHA-256 of a step's output as recorded (the JSON text in workflow_step_runs.output, capped):
 * the chain keeps this, never the output, so outputs can be pruned and still be checked.
 */
export async function stepOutputHash(output: unknown): Promise<string> {
  const text = JSON.stringify(output ?? null);
  return hex(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
}

/** The audit event of a step run that ended: status, attempts, output hash; never the output. */
export async function stepEndedAudit(run: StepRunRecord): Promise<EngineAuditEntry> {
  return {
    action: 'execution.step_ended',
    targetType: 'WorkflowExecution',
    targetId: run.executionId,
    before: null,
    after: {
      stepIndex: run.index,
      stepId: run.stepId,
      type: run.type,
      status: run.status,
      attempts: run.attempts,
      outputSha256: run.status === 'SUCCEEDED' ? await stepOutputHash(run.output) : null,
      outputTruncated: run.outputTruncated,
      errorCode: run.error?.code ?? null,
    },
  };
}

/**
 * Writes step runs and the execution's position in one batch, then tells subscribers, in order.
 * A run that ended is audited in that batch (a step still RUNNING or WAITING is not: its end is).
 */
async function recordAll(
  p: EnginePorts,
  ids: Ids,
  runs: readonly StepRunRecord[],
  exec: { workflowId: string; wakeAt?: string | null },
): Promise<void> {
  const last = runs.at(-1);
  if (!last) return;
  const now = p.now().toISOString();
  const statements = [
    ...runs.map((run) => upsertStepRunStatement(p.db, ids.tenantId, run)),
    p.db
      .prepare(
        `UPDATE workflow_executions SET current_step = ?3, wake_at = ?4, updated_at = ?5
         WHERE tenant_id = ?1 AND id = ?2 AND status IN ('PENDING', 'RUNNING')`,
      )
      .bind(ids.tenantId, ids.executionId, last.index, exec.wakeAt ?? null, now),
  ];
  const audit = await Promise.all(runs.filter((r) => ENDED_STEP.has(r.status)).map(stepEndedAudit));
  if (audit.length) await p.commit(ids.executionId, async () => ({ statements, audit, result: null }));
  else await p.db.batch(statements);
  for (const run of runs) {
    await p.publish({
      ...ids,
      workflowId: exec.workflowId,
      status: 'RUNNING',
      stepIndex: run.index,
      stepId: run.stepId,
      stepStatus: run.status,
      attempts: run.attempts,
      error: run.error,
      at: now,
    });
  }
}

function stepRun(
  ids: Ids,
  index: number,
  step: WorkflowStep,
  fields: Partial<StepRunRecord> & Pick<StepRunRecord, 'status' | 'startedAt'>,
): StepRunRecord {
  return {
    executionId: ids.executionId,
    index,
    stepId: step.id,
    type: step.type,
    attempts: 1,
    attemptLog: [],
    endedAt: null,
    output: null,
    outputTruncated: false,
    error: null,
    waitingOnChange: null,
    ...fields,
  };
}

/** Where a step ends: the run's final record, and what the runner does next. */
async function settle(
  p: EnginePorts,
  ids: Ids,
  workflowId: string,
  index: number,
  step: WorkflowStep,
  startedAt: string,
  result: StepResult,
  extra: Partial<StepRunRecord> = {},
): Promise<StepResult> {
  const endedAt = p.now().toISOString();
  const base = { startedAt, endedAt, ...extra };
  const run =
    result.kind === 'ok'
      ? stepRun(ids, index, step, { ...base, status: 'SUCCEEDED', ...capOutputFields(result.output) })
      : result.kind === 'failed'
        ? stepRun(ids, index, step, { ...base, status: 'FAILED', error: result.error })
        : stepRun(ids, index, step, { ...base, status: 'CANCELLED', error: errorRecord(CANCELLED_ERROR) });
  await record(p, ids, run, { workflowId });
  return result;
}

function capOutputFields(output: unknown): Pick<StepRunRecord, 'output' | 'outputTruncated'> {
  const capped = capOutput(output);
  return { output: capped.output, outputTruncated: capped.truncated };
}

/** Each step's output as recorded (capped), by step id. */
function capAll(outputs: unknown): unknown {
  if (outputs === null || typeof outputs !== 'object') return outputs ?? null;
  return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, capOutput(v).output]));
}

export type Begin =
  | { kind: 'run'; workflowId: string; steps: WorkflowStep[]; inputs: unknown }
  | { kind: 'done' };

/** Pins the execution to its workflow version and marks it RUNNING (or ends it, if cancelled). */
export async function beginExecution(p: EnginePorts, ids: Ids): Promise<Begin> {
  const e = await load(p, ids);
  if (!e || isTerminalExecution(e.status)) return { kind: 'done' };
  if (e.cancelRequestedAt) {
    await finishExecution(p, ids, { kind: 'cancelled' }, null);
    return { kind: 'done' };
  }
  const version = await getWorkflowVersion(p.db, ids.tenantId, e.workflowId, e.workflowVersion);
  if (!version) {
    const error = classifyError({
      kind: 'validation',
      message: `workflow ${e.workflowId} version ${e.workflowVersion} no longer exists`,
    });
    await finishExecution(p, ids, { kind: 'failed', error: errorRecord(error) }, null);
    return { kind: 'done' };
  }
  const next = await p.commit<ExecutionRecord | null>(ids.executionId, async () => {
    // Read again on every attempt: a cancel or the watchdog may have ended it meanwhile.
    const current = await load(p, ids);
    if (!current || isTerminalExecution(current.status)) return { statements: [], audit: [], result: null };
    const now = p.now().toISOString();
    const running: ExecutionRecord = {
      ...current,
      status: 'RUNNING',
      startedAt: current.startedAt ?? now,
      updatedAt: now,
    };
    return {
      statements: [updateLiveExecutionStatement(p.db, running)],
      // A replay of begin (already RUNNING) changes nothing worth a second event.
      audit:
        current.status === 'PENDING'
          ? [
              {
                action: 'execution.started',
                targetType: 'WorkflowExecution',
                targetId: ids.executionId,
                before: { status: current.status },
                after: { status: 'RUNNING', workflowVersion: current.workflowVersion },
              },
            ]
          : [],
      result: running,
    };
  });
  if (!next) return { kind: 'done' };
  await p.publish(executionEvent(next));
  return { kind: 'run', workflowId: e.workflowId, steps: version.steps, inputs: e.inputs };
}

export interface Scope {
  inputs: unknown;
  steps: Record<string, unknown>;
}

type TransformStep = Extract<WorkflowStep, { type: 'transform' }>;

function transformResult(step: TransformStep, scope: Scope): StepResult {
  const out = evaluateTransform(step.spec, scope);
  if (out.ok) return { kind: 'ok', output: out.value };
  const kind = out.error.code === 'EXECUTION-008' ? 'output-too-large' : 'validation';
  const error = classifyError({ kind, message: `${out.error.path}: ${out.error.message}` });
  return { kind: 'failed', error: errorRecord(error, step.id) };
}

/**
 * A run of consecutive transform steps (from `first`), as ONE durable unit: transforms are pure,
 * so replaying them is harmless, and grouping them spares the engine a durable step each. Each
 * step still gets its own record (written in one batch) and its own progress event. Stops at the
 * first failure; returns the result of every step it ran, in order.
 */
export async function runTransforms(
  p: EnginePorts,
  ids: Ids,
  workflowId: string,
  first: number,
  steps: readonly TransformStep[],
  scope: Scope,
): Promise<StepResult[]> {
  const startedAt = p.now().toISOString();
  if (await stopRequested(p, ids)) {
    return [
      await settle(p, ids, workflowId, first, steps[0] as TransformStep, startedAt, { kind: 'cancelled' }),
    ];
  }
  const local: Scope = { inputs: scope.inputs, steps: { ...scope.steps } };
  const results: StepResult[] = [];
  const runs: StepRunRecord[] = [];
  for (const [offset, step] of steps.entries()) {
    const result = transformResult(step, local);
    const endedAt = p.now().toISOString();
    results.push(result);
    runs.push(
      result.kind === 'ok'
        ? stepRun(ids, first + offset, step, {
            status: 'SUCCEEDED',
            startedAt,
            endedAt,
            ...capOutputFields(result.output),
          })
        : stepRun(ids, first + offset, step, {
            status: 'FAILED',
            startedAt,
            endedAt,
            error: result.kind === 'failed' ? result.error : null,
          }),
    );
    if (result.kind !== 'ok') break;
    local.steps[step.id] = result.output;
  }
  await recordAll(p, ids, runs, { workflowId });
  return results;
}

/** After one HTTP attempt: done, try again after a pause, or stop. */
export type AttemptResult =
  | StepResult
  | { kind: 'retry'; delayMs: number; notBefore: number; startedAt: string; log: AttemptRecord[] };

/** Every secret the step names (url, headers, body). */
function secretNames(step: HttpStep): string[] {
  const names = new Set<string>();
  for (const text of [step.url, step.body ?? '', ...Object.values(step.headers)]) {
    for (const name of secretRefs(text)) names.add(name);
  }
  return [...names];
}

/**
 * Checks the rendered URL before anything is sent: every secret the step names must allow its
 * host. Saving checked the literal host already; this catches what a rendered value or an older
 * definition could still do.
 */
function secretHostCheck(opened: Map<string, OpenedSecret>): (url: URL) => string | null {
  return (url) => {
    for (const [name, secret] of opened) {
      if (!hostAllowed(url.hostname, secret.allowedHosts)) {
        return `${hostRefusal(name, url.hostname, secret.allowedHosts)}; the request was not sent`;
      }
    }
    return null;
  };
}

/** Watches for a cancel request while a call is in flight, and aborts the call when it comes. */
function watchCancel(p: EnginePorts, ids: Ids): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, p.cancelPollMs));
      if (stopped) return;
      if (await stopRequested(p, ids).catch(() => false)) {
        controller.abort();
        return;
      }
    }
  };
  void loop();
  return {
    signal: controller.signal,
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * One attempt of an http-request step, behind the host's breaker. Retrying is decided here
 * (policy, Retry-After, which statuses) and the pause is the runner's, so it is durable.
 */
export async function httpAttempt(
  p: EnginePorts,
  ids: Ids,
  workflowId: string,
  index: number,
  step: HttpStep,
  scope: Scope,
  attempt: number,
  prior: { startedAt: string; log: AttemptRecord[] } | null,
): Promise<AttemptResult> {
  const startedAt = prior?.startedAt ?? p.now().toISOString();
  const log = [...(prior?.log ?? [])];
  const extra = { attempts: attempt, attemptLog: log };
  const stop = (result: StepResult) => settle(p, ids, workflowId, index, step, startedAt, result, extra);
  if (await stopRequested(p, ids)) return stop({ kind: 'cancelled' });

  const at = p.now().toISOString();
  const host = breakerKey(step.url.replace(/\{\{[^}]*\}\}/g, 'x'));
  if (host) {
    const gate = await p.breakers.acquire(host);
    if (!gate.allowed) {
      const error = classifyError({
        kind: 'circuit-open',
        message: `circuit breaker for ${host} is ${gate.state}; no request was sent`,
      });
      log.push({ at, ms: 0, error: error.code });
      return stop({ kind: 'failed', error: errorRecord(error, step.id) });
    }
  }
  await record(p, ids, stepRun(ids, index, step, { status: 'RUNNING', startedAt, ...extra }), { workflowId });

  const { allowedHosts } = await getEgressPolicy(p.db, ids.tenantId);
  const egress = { ...p.egress, allowedHosts };
  // Opened here, inside the attempt that sends them; only redacted text leaves this function.
  const names = secretNames(step);
  let opened: Map<string, OpenedSecret>;
  try {
    opened = await p.secrets(names);
  } catch (e) {
    const error = classifyError({ kind: 'validation', message: (e as Error).message });
    log.push({ at, ms: 0, error: error.code });
    return stop({ kind: 'failed', error: errorRecord(error, step.id) });
  }
  const secrets = Object.fromEntries([...opened].map(([name, s]) => [name, s.value]));
  const watch = watchCancel(p, ids);
  const call = await callHttp(
    step,
    { ...scope, secrets },
    {
      fetch: p.fetch,
      egress,
      cancel: watch.signal,
      ...(opened.size ? { checkUrl: secretHostCheck(opened) } : {}),
    },
  ).finally(watch.stop);
  if (host) {
    const outcome = call.ok ? 'success' : countsAgainstBreaker(call.error) ? 'failure' : 'neutral';
    await p.breakers.report(host, outcome);
  }
  if (call.ok) {
    log.push({ at, ms: call.ms, status: call.output.status });
    // An upstream that echoes a secret back must not get it into outputs, records or later steps.
    const output = Object.keys(secrets).length
      ? JSON.parse(redactSecrets(JSON.stringify(call.output), secrets))
      : call.output;
    return stop({ kind: 'ok', output });
  }
  if (call.error.class === 'CANCELLED') {
    log.push({ at, ms: call.ms, error: call.error.code });
    return stop({ kind: 'cancelled' });
  }
  const entry: AttemptRecord = { at, ms: call.ms, error: call.error.code };
  if (call.error.status !== undefined) entry.status = call.error.status;
  log.push(entry);
  const retry = shouldRetry({
    attempt,
    maxAttempts: step.retry.maxAttempts,
    errorClass: call.error.class,
    status: call.error.status,
  });
  if (!retry) return stop({ kind: 'failed', error: errorRecord(call.error, step.id) });
  const delayMs = nextDelayMs({
    attempt,
    policy: { baseMs: step.retry.baseDelayMs, capMs: step.retry.capMs },
    retryAfterMs: call.retryAfterMs,
    random: p.random,
  });
  entry.retryInMs = delayMs;
  const notBefore = p.now().getTime() + delayMs;
  const wakeAt = new Date(notBefore).toISOString();
  await record(
    p,
    ids,
    stepRun(ids, index, step, { status: 'RUNNING', startedAt, ...extra, error: errorRecord(call.error) }),
    { workflowId, wakeAt },
  );
  return { kind: 'retry', delayMs, notBefore, startedAt, log };
}

/** A step that waits (delay, approval gate) reports how long before it looks again. */
export type WaitResult = StepResult | { kind: 'wait'; ms: number; startedAt: string };

/** A delay step: waits out its duration (in the runner), unless the execution is cancelled. */
export async function checkDelay(
  p: EnginePorts,
  ids: Ids,
  workflowId: string,
  index: number,
  step: Extract<WorkflowStep, { type: 'delay' }>,
  startedAt: string | null,
): Promise<WaitResult> {
  const now = p.now();
  const since = startedAt ?? now.toISOString();
  if (await stopRequested(p, ids))
    return settle(p, ids, workflowId, index, step, since, { kind: 'cancelled' });
  const remaining = Date.parse(since) + step.durationMs - now.getTime();
  if (remaining <= 0) return settle(p, ids, workflowId, index, step, since, { kind: 'ok', output: null });
  if (startedAt === null) {
    const wakeAt = new Date(now.getTime() + remaining).toISOString();
    await record(p, ids, stepRun(ids, index, step, { status: 'WAITING', startedAt: since }), {
      workflowId,
      wakeAt,
    });
  }
  return { kind: 'wait', ms: remaining, startedAt: since };
}

/** Statuses a change reaches only after it was approved. */
const APPROVED_OR_LATER = new Set([
  'APPROVED',
  'SCHEDULED',
  'IMPLEMENTING',
  'COMPLETED',
  'FAILED',
  'ROLLED_BACK',
]);

/** An approval gate: passes once its change is approved, fails if it is rejected or cancelled. */
export async function checkGate(
  p: EnginePorts,
  ids: Ids,
  workflowId: string,
  index: number,
  step: Extract<WorkflowStep, { type: 'approval-gate' }>,
  startedAt: string | null,
): Promise<WaitResult> {
  const now = p.now();
  const since = startedAt ?? now.toISOString();
  const settleWith = (r: StepResult) => settle(p, ids, workflowId, index, step, since, r);
  if (await stopRequested(p, ids)) return settleWith({ kind: 'cancelled' });
  const change = await getChange(p.db, ids.tenantId, step.changeId);
  const reject = (message: string) =>
    settleWith({
      kind: 'failed',
      error: errorRecord(classifyError({ kind: 'approval-rejected', message }), step.id),
    });
  if (!change) return reject(`change ${step.changeId} no longer exists`);
  if (change.status === 'REJECTED') return reject(`change ${step.changeId} was REJECTED`);
  if (change.status === 'CANCELLED') return reject(`change ${step.changeId} was CANCELLED before approval`);
  if (APPROVED_OR_LATER.has(change.status)) {
    return settleWith({
      kind: 'ok',
      output: { changeId: change.id, status: change.status, approvedAt: change.approvedAt },
    });
  }
  const wakeAt = new Date(now.getTime() + p.gatePollMs).toISOString();
  await record(
    p,
    ids,
    stepRun(ids, index, step, { status: 'WAITING', startedAt: since, waitingOnChange: step.changeId }),
    { workflowId, wakeAt },
  );
  return { kind: 'wait', ms: p.gatePollMs, startedAt: since };
}

export function executionEvent(e: ExecutionRecord): ExecutionEvent {
  return {
    tenantId: e.tenantId,
    executionId: e.id,
    workflowId: e.workflowId,
    status: e.status,
    stepIndex: e.currentStep,
    stepId: null,
    stepStatus: null,
    attempts: null,
    error: e.error,
    at: e.updatedAt,
  };
}

/**
 * Ends the execution. Returns the record as it ended, or null when it had already ended (a
 * replay, or a cancel that got there first): the caller then has nothing more to do.
 */
export async function finishExecution(
  p: EnginePorts,
  ids: Ids,
  outcome: StepResult,
  outputs: unknown,
): Promise<ExecutionRecord | null> {
  const ended = await p.commit<ExecutionRecord | null>(ids.executionId, async () => {
    // Read again on every attempt: another finisher (the watchdog, a cancel) may have got there.
    const e = await load(p, ids);
    if (!e || isTerminalExecution(e.status)) return { statements: [], audit: [], result: null };
    return endPlan(p, e, outcome, outputs);
  });
  if (ended) await p.publish(executionEvent(ended));
  return ended;
}

/** The end of a live execution: its final record, a runbook's settle follow-up, and its audit event. */
function endPlan(
  p: EnginePorts,
  e: ExecutionRecord,
  outcome: StepResult,
  outputs: unknown,
): EngineWrite<ExecutionRecord> {
  const now = p.now().toISOString();
  const status: ExecutionStatus =
    outcome.kind === 'ok' ? 'SUCCEEDED' : outcome.kind === 'failed' ? 'FAILED' : 'CANCELLED';
  const next: ExecutionRecord = {
    ...e,
    status,
    outputs: capAll(outputs),
    error:
      outcome.kind === 'failed'
        ? outcome.error
        : outcome.kind === 'cancelled'
          ? {
              ...errorRecord(CANCELLED_ERROR),
              message: `execution cancelled by ${e.cancelRequestedBy ?? 'the system'}`,
            }
          : null,
    wakeAt: null,
    startedAt: e.startedAt ?? now,
    endedAt: now,
    updatedAt: now,
  };
  // A runbook's end is followed by settling its change: queued in the same batch (outbox), so it
  // survives a crash between the two; a row that exists already is left as it is.
  const settle =
    next.trigger === 'RUNBOOK' && next.changeId
      ? [
          insertOutboxStatement(p.db, {
            id: settleRowId(next.id),
            tenantId: next.tenantId,
            followUp: { kind: 'settle-runbook', executionId: next.id },
            actor: null,
            source: 'system',
            toolName: null,
            requestId: next.id,
            createdAt: now,
          }),
        ]
      : [];
  return {
    statements: [updateLiveExecutionStatement(p.db, next), ...settle],
    audit: [
      {
        action: status === 'CANCELLED' ? 'execution.cancelled' : 'execution.ended',
        targetType: 'WorkflowExecution',
        targetId: next.id,
        before: { status: e.status },
        after: {
          status,
          errorCode: next.error?.code ?? null,
          errorStepId: next.error?.stepId ?? null,
          ...(status === 'CANCELLED' ? { cancelRequestedBy: e.cancelRequestedBy } : {}),
        },
      },
    ],
    result: next,
  };
}

/** Fails an execution the engine lost (its instance errored or vanished), as the watchdog does. */
export async function abandonExecution(
  p: EnginePorts,
  ids: Ids,
  message: string,
): Promise<ExecutionRecord | null> {
  const error = errorRecord(classifyError({ kind: 'engine', message }));
  return finishExecution(p, ids, { kind: 'failed', error }, null);
}
