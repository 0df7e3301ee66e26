import { ConfigError, parseEgressSettings, parseSecretKeys } from '../../config';
import type { ExecutionRecord } from '../../domain/types';
import { type EgressSettings, STRICT_EGRESS } from '../../engine/egress';
import type { EnginePorts } from '../../engine/engine';
import type { AppBindings } from '../../http/app';
import type { SecretKeys } from '../../secrets/envelope';
import { type AuthedContext, createRequestContext } from '../../usecases/context';
import type { EventsPort } from '../../usecases/ports/events';
import type { ExecutionsPort } from '../../usecases/ports/executions';
import { type EndedExecution, enginePrincipal, settleRunbookChange } from '../../usecases/workflows/runbooks';
import { openStepSecrets } from '../../usecases/workflows/secrets';
import type { BreakerBoard, BreakerEnv } from './breakerBoard';
import type { ExecutionParams } from './executionWorkflow';
import type { TenantHub } from './tenantHub';
import { durableWriteLock, type TenantLock } from './tenantLock';

/** The Worker bindings the engine uses. */
export interface ExecutionEnv extends AppBindings, BreakerEnv {
  EXECUTOR: Workflow<ExecutionParams>;
  BREAKERS: DurableObjectNamespace<BreakerBoard>;
  HUB: DurableObjectNamespace<TenantHub>;
  TENANT_LOCKS: DurableObjectNamespace<TenantLock>;
  /** How often an in-flight HTTP call checks for a cancel (ms; default 250). */
  EXECUTION_CANCEL_POLL_MS?: string;
  /** How long an approval gate sleeps between checks without a wake (ms; default 5 minutes). */
  EXECUTION_GATE_POLL_MS?: string;
  /** How late past its wake time a live execution is nudged by the watchdog (ms; default 60 s). */
  EXECUTION_NUDGE_AFTER_MS?: string;
}

const warn = (msg: string) => (e: unknown) =>
  console.log(JSON.stringify({ level: 'warn', msg, error: String(e) }));

const hubOf = (env: ExecutionEnv, tenantId: string) => env.HUB.get(env.HUB.idFromName(tenantId));

/** Change and execution events to the tenant's hub; a hub that cannot be reached is only logged. */
export function hubEvents(env: ExecutionEnv, waitUntil: (p: Promise<unknown>) => void): EventsPort {
  return {
    publish: (event) =>
      waitUntil(hubOf(env, event.tenantId).publish(event).catch(warn('hub publish failed'))),
    publishExecution: (event) =>
      waitUntil(hubOf(env, event.tenantId).publishExecution(event).catch(warn('hub publish failed'))),
  };
}

let parsedKeys: { from: string; keys: SecretKeys | null } | null = null;

/** The secrets' keys of these bindings, parsed once per key pair (their imports are cached by object). */
function secretKeysOf(env: ExecutionEnv): SecretKeys | null {
  const from = `${env.SECRETS_KEY ?? ''}\u0000${env.SECRETS_KEY_PREVIOUS ?? ''}`;
  if (parsedKeys?.from !== from) parsedKeys = { from, keys: parseSecretKeys(env) };
  return parsedKeys.keys;
}

const positive = (v: string | undefined, fallback: number) => {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : fallback;
};

/**
 * The deployment's egress exceptions for the engine. An invalid setting (EGRESS_ALLOW_PRIVATE
 * outside development) fails closed here: the API refuses to serve at all with it (CONFIG_INVALID).
 */
function egressSettings(env: ExecutionEnv): EgressSettings {
  try {
    return parseEgressSettings(env);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.log(JSON.stringify({ level: 'error', msg: 'invalid egress configuration', error: e.message }));
    return STRICT_EGRESS;
  }
}

export function enginePorts(env: ExecutionEnv, tenantId: string): EnginePorts {
  const board = () => env.BREAKERS.get(env.BREAKERS.idFromName(tenantId));
  return {
    db: env.DB,
    breakers: {
      acquire: (host) => board().acquire(host),
      report: (host, outcome) => board().report(host, outcome),
    },
    // Only ever the execution's own tenant: the tenant is fixed here, not taken from the step.
    secrets: async (names) =>
      names.length ? openStepSecrets(env.DB, secretKeysOf(env), tenantId, names) : new Map(),
    publish: (event) => hubOf(env, tenantId).publishExecution(event).catch(warn('hub publish failed')),
    fetch: (input, init) => fetch(input, init),
    egress: egressSettings(env),
    now: () => new Date(),
    random: Math.random,
    cancelPollMs: positive(env.EXECUTION_CANCEL_POLL_MS, 250),
    gatePollMs: positive(env.EXECUTION_GATE_POLL_MS, 5 * 60_000),
  };
}

/** The event that wakes a sleeping or waiting execution (a cancel, a decision on a gated change). */
export const WAKE_EVENT = 'wake';

/** Instance handles are RPC stubs: released when done with, not left to the garbage collector. */
export function release(handle: unknown): void {
  (handle as { [Symbol.dispose]?: () => void } | null)?.[Symbol.dispose]?.();
}

/** Runs executions on the EXECUTOR binding: one Workflows instance per execution, named by its id. */
export function workflowsExecutor(env: Pick<ExecutionEnv, 'EXECUTOR' | 'BREAKERS'>): ExecutionsPort {
  return {
    start: async (ids) => {
      // `create` with an id that exists throws in production and returns it locally: both mean started.
      const created = await env.EXECUTOR.create({ id: ids.executionId, params: ids }).catch(async (e) => {
        const existing = await env.EXECUTOR.get(ids.executionId).catch(() => null);
        if (!existing) throw e;
        return existing;
      });
      release(created);
    },
    wake: async (executionId) => {
      const instance = await env.EXECUTOR.get(executionId);
      try {
        await instance.sendEvent({ type: WAKE_EVENT, payload: null });
      } finally {
        release(instance);
      }
    },
    breakers: (tenantId) => env.BREAKERS.get(env.BREAKERS.idFromName(tenantId)).list(),
  };
}

/**
 * Runs `work` as the engine (principal `workflow-engine`, source `system`) and waits for the
 * events it published, since outside a request nothing else keeps them alive.
 */
export async function asEngine<T>(
  env: ExecutionEnv,
  tenantId: string,
  requestId: string,
  work: (ctx: AuthedContext) => Promise<T>,
): Promise<T> {
  const pending: Promise<unknown>[] = [];
  const ctx = createRequestContext({
    db: env.DB,
    requestId,
    principal: enginePrincipal(tenantId),
    source: 'system',
    events: hubEvents(env, (p) => pending.push(p)),
    executions: workflowsExecutor(env),
    writeLock: durableWriteLock(env.TENANT_LOCKS),
  }) as AuthedContext;
  try {
    return await work(ctx);
  } finally {
    await Promise.allSettled(pending);
  }
}

/** Completes or fails the change a runbook execution implemented. */
export function settleRunbook(
  env: ExecutionEnv,
  execution: EndedExecution & Pick<ExecutionRecord, 'tenantId'>,
): Promise<string> {
  return asEngine(env, execution.tenantId, execution.id, (ctx) => settleRunbookChange(ctx, execution));
}
