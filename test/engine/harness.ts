import { env } from 'cloudflare:test';
import {
  getExecution,
  getStepRuns,
  insertExecutionStatement,
  requestCancelStatement,
} from '../../src/db/executions';
import { insertWorkflowStatements } from '../../src/db/workflows';
import { STRICT_EGRESS } from '../../src/domain/egress';
import type { OpenedSecret } from '../../src/domain/secretHosts';
import type { ExecutionRecord, StepRunRecord } from '../../src/domain/types';
import { stepsSchema, type WorkflowStep } from '../../src/domain/workflowSteps';
import {
  type BreakerState,
  breakerKey,
  canRequest,
  initialBreaker,
  onFailure,
  onSuccess,
} from '../../src/engine/circuitBreaker';
import type { BreakerPort, EnginePorts, ExecutionEvent, Ids } from '../../src/engine/engine';
import { commitWithAudit } from '../../src/usecases/commit';
import { type AuthedContext, createRequestContext } from '../../src/usecases/context';
import { enginePrincipal } from '../../src/usecases/workflows/runbooks';

/**
 * The engine's units of work against the test D1 (the engine's own SQL, migrated schema) and fake
 * everything else: a clock that moves only when told, a fixed random, a fetch that answers from
 * a script and records what it was sent, a breaker board built on the pure breaker, secrets from
 * a map, and the published events in a list.
 */

export const T0 = Date.parse('2026-03-02T10:00:00.000Z');

export interface SentRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | null;
  signal: AbortSignal | null;
}

export type Responder = (req: SentRequest, n: number) => Response | Promise<Response>;

/** A breaker board per tenant, as the BreakerBoard Durable Object keeps it, on the harness clock. */
export function fakeBreakers(now: () => number, opts: { failureThreshold: number; cooldownMs: number }) {
  const states = new Map<string, BreakerState>();
  const calls: string[] = [];
  const port: BreakerPort = {
    acquire: async (host) => {
      calls.push(`acquire ${host}`);
      const r = canRequest(states.get(host) ?? initialBreaker(), now(), opts);
      states.set(host, r.state);
      return { allowed: r.allowed, state: r.state.state };
    },
    report: async (host, outcome) => {
      calls.push(`${outcome} ${host}`);
      const s = states.get(host) ?? initialBreaker();
      if (outcome === 'success') states.set(host, onSuccess(s));
      if (outcome === 'failure') states.set(host, onFailure(s, now(), opts));
    },
  };
  return { port, calls, state: (host: string) => states.get(host)?.state ?? 'CLOSED' };
}

let counter = 0;

export interface HarnessOptions {
  steps: unknown[];
  inputs?: unknown;
  respond?: Responder;
  random?: number;
  secrets?: Record<string, OpenedSecret>;
  breakers?: BreakerPort;
  tenantId?: string;
}

export async function harness(opts: HarnessOptions) {
  counter += 1;
  const tenantId = opts.tenantId ?? `engine-${crypto.randomUUID().slice(0, 8)}-${counter}`;
  const workflowId = `wf_${crypto.randomUUID().replaceAll('-', '')}`;
  const executionId = `exe_${crypto.randomUUID().replaceAll('-', '')}`;
  const steps = stepsSchema.parse(opts.steps) as WorkflowStep[];
  const iso = new Date(T0).toISOString();
  await env.DB.batch([
    ...insertWorkflowStatements(env.DB, {
      id: workflowId,
      tenantId,
      name: `engine test ${counter}`,
      description: null,
      status: 'ACTIVE',
      version: 1,
      steps,
      triggers: [{ type: 'manual' }],
      createdBy: 'tester',
      createdAt: iso,
      updatedAt: iso,
    }),
    insertExecutionStatement(env.DB, {
      id: executionId,
      tenantId,
      workflowId,
      workflowVersion: 1,
      status: 'PENDING',
      trigger: 'MANUAL',
      triggerRef: null,
      changeId: null,
      inputs: opts.inputs ?? {},
      outputs: null,
      error: null,
      currentStep: null,
      wakeAt: null,
      cancelRequestedAt: null,
      cancelRequestedBy: null,
      createdBy: 'tester',
      causedBy: 'tester',
      createdAt: iso,
      startedAt: null,
      endedAt: null,
      updatedAt: iso,
    }),
  ]);

  const clock = { ms: T0 };
  const events: ExecutionEvent[] = [];
  const requests: SentRequest[] = [];
  const secretsAsked: string[][] = [];
  const respond: Responder = opts.respond ?? (() => Response.json({ ok: true }));
  const fetchFake = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries((init?.headers ?? {}) as Record<string, string>)) headers[k] = v;
    const req: SentRequest = {
      url: String(input),
      method: init?.method ?? 'GET',
      headers,
      body: typeof init?.body === 'string' ? init.body : null,
      signal: init?.signal ?? null,
    };
    requests.push(req);
    return respond(req, requests.length);
  }) as typeof fetch;
  const breakers =
    opts.breakers ?? fakeBreakers(() => clock.ms, { failureThreshold: 100, cooldownMs: 30_000 }).port;
  const ports: EnginePorts = {
    db: env.DB,
    // The Worker's commit (runtime/worker/ports.ts) without its lock: the engine principal on the chain.
    commit: (requestId, plan) => {
      const ctx = createRequestContext({
        db: env.DB,
        requestId,
        principal: enginePrincipal(tenantId),
        source: 'system',
      }) as AuthedContext;
      return commitWithAudit({ ...ctx, now: () => new Date(clock.ms) }, plan);
    },
    breakers,
    secrets: async (names) => {
      secretsAsked.push([...names]);
      const out = new Map<string, OpenedSecret>();
      for (const name of names) {
        const s = opts.secrets?.[name];
        if (s) out.set(name, s);
      }
      return out;
    },
    publish: async (event) => {
      events.push(event);
    },
    fetch: fetchFake,
    egress: STRICT_EGRESS,
    now: () => new Date(clock.ms),
    random: () => opts.random ?? 0.5,
    cancelPollMs: 10,
    gatePollMs: 60_000,
  };
  const ids: Ids = { tenantId, executionId };
  return {
    ids,
    tenantId,
    workflowId,
    steps,
    ports,
    clock,
    events,
    requests,
    secretsAsked,
    /** Moves the injected clock on. */
    advance: (ms: number) => {
      clock.ms += ms;
    },
    execution: async () => (await getExecution(env.DB, tenantId, executionId)) as ExecutionRecord,
    runs: (): Promise<StepRunRecord[]> => getStepRuns(env.DB, tenantId, [executionId]),
    /** Asks to cancel, as cancelExecution does. */
    requestCancel: async (by = 'canceller') => {
      const at = new Date(clock.ms).toISOString();
      await requestCancelStatement(env.DB, tenantId, executionId, by, at).run();
    },
  };
}

export type Harness = Awaited<ReturnType<typeof harness>>;

/** The http-request step of a harness, typed for httpAttempt. */
export function httpStep(h: Harness, index = 0) {
  const step = h.steps[index];
  if (step?.type !== 'http-request') throw new Error(`step ${index} is not an http-request`);
  return step;
}

export const hostOf = (url: string) => breakerKey(url) as string;
