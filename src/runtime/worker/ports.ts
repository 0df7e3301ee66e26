import { loadConfig } from '../../config';
import type { AuditSource } from '../../db/audit';
import { settleRowId } from '../../db/outbox';
import type { Principal } from '../../domain/principal';
import { DELIVERY_TIMEOUT_MS } from '../../domain/webhooks';
import type { EnginePorts } from '../../engine/engine';
import type { AppBindings } from '../../http/app';
import { createLogger } from '../../log';
import { commitWithAudit } from '../../usecases/commit';
import { type AuthedContext, createRequestContext } from '../../usecases/context';
import { drainCommitted, rowActor, runFollowUpEffect } from '../../usecases/followUps';
import { type FollowUpRunner, type FollowUpsPort, runFollowUp } from '../../usecases/outbox';
import { type AuditArchive, assertSameObject } from '../../usecases/ports/auditArchive';
import type { EventsPort } from '../../usecases/ports/events';
import type { ExecutionsPort } from '../../usecases/ports/executions';
import type { WebhookTransport } from '../../usecases/ports/webhookTransport';
import type { WriteLock } from '../../usecases/ports/writeLock';
import { enginePrincipal } from '../../usecases/workflows/runbooks';
import { openStepSecrets } from '../../usecases/workflows/secrets';
import type { BreakerBoard } from './breakerBoard';
import type { ExecutionParams } from './executionWorkflow';
import type { TenantHub } from './tenantHub';
import type { TenantLock } from './tenantLock';

/** The Worker bindings the engine uses. */
export interface ExecutionEnv extends AppBindings {
  /** The R2 bucket signed audit digests are written to (wrangler.toml); absent: no digests. */
  AUDIT_ARCHIVE?: R2Bucket;
  EXECUTOR: Workflow<ExecutionParams>;
  BREAKERS: DurableObjectNamespace<BreakerBoard>;
  HUB: DurableObjectNamespace<TenantHub>;
  TENANT_LOCKS: DurableObjectNamespace<TenantLock>;
}

const logger = createLogger({ service: 'changeflow', component: 'engine' });

const warn = (msg: string) => (e: unknown) => logger.log('warn', msg, { error: String(e) });

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

/**
 * The engine's ports over the Worker's bindings. The configuration is the API's (loadConfig, one
 * parse per isolate): an invalid one (CONFIG_INVALID) stops executions as it stops the API.
 */
export function enginePorts(env: ExecutionEnv, tenantId: string): EnginePorts {
  const config = loadConfig(env);
  const board = () => env.BREAKERS.get(env.BREAKERS.idFromName(tenantId));
  return {
    db: env.DB,
    // The engine's writes join the tenant's chain as the engine itself (principal workflow-engine,
    // source system), through commitWithAudit: one appender, one set of race rules.
    commit: (requestId, plan) => asEngine(env, tenantId, requestId, (ctx) => commitWithAudit(ctx, plan)),
    breakers: {
      acquire: (host) => board().acquire(host),
      report: (host, outcome) => board().report(host, outcome),
    },
    // Only ever the execution's own tenant: the tenant is fixed here, not taken from the step.
    secrets: async (names) =>
      names.length ? openStepSecrets(env.DB, config.secretKeys, tenantId, names) : new Map(),
    publish: (event) => hubOf(env, tenantId).publishExecution(event).catch(warn('hub publish failed')),
    fetch: (input, init) => fetch(input, init),
    egress: config.egress,
    now: () => new Date(),
    random: Math.random,
    cancelPollMs: config.execution.cancelPollMs,
    gatePollMs: config.execution.gatePollMs,
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
 * The Worker's WriteLock: a tenant's writers take turns through its TenantLock. If the object
 * cannot be reached the work runs anyway, racing as before (the chain still guards it).
 */
export function durableWriteLock(ns: DurableObjectNamespace<TenantLock>): WriteLock {
  return async (key, work) => {
    const stub = ns.get(ns.idFromName(key));
    const lease = await stub.acquire().catch(() => null);
    try {
      return await work();
    } finally {
      if (lease) await stub.release(lease).catch(() => {});
    }
  };
}

/** A failed follow-up asks the tenant's TenantLock to drain again at its retry time (its alarm). */
const alarmAt = (ns: DurableObjectNamespace<TenantLock>) => (tenantId: string, at: Date) =>
  ns.get(ns.idFromName(tenantId)).drainAt(tenantId, at.getTime());

/**
 * How the Worker sends webhook deliveries: its fetch (no redirects followed, see deliver.ts), the
 * tenant's BreakerBoard (shared with its executions), the API's secret keys and egress settings.
 */
export function webhookTransport(env: ExecutionEnv): WebhookTransport {
  const config = loadConfig(env);
  return {
    fetch: (input, init) => fetch(input, init),
    breakers: (tenantId) => {
      const board = () => env.BREAKERS.get(env.BREAKERS.idFromName(tenantId));
      return { acquire: (host) => board().acquire(host), report: (host, o) => board().report(host, o) };
    },
    secretKeys: config.secretKeys,
    egress: config.egress,
    httpsOnly: config.environment !== 'development',
    timeoutMs: DELIVERY_TIMEOUT_MS,
    random: Math.random,
  };
}

/**
 * Follow-ups run right after their commit; a failed one is retried by the tenant's alarm.
 * `env`: where webhook deliveries get their transport (without it they wait for the alarm).
 */
export function durableFollowUps(ns: DurableObjectNamespace<TenantLock>, env?: ExecutionEnv): FollowUpsPort {
  return {
    afterCommit: (ctx, ids) => drainCommitted(ctx, ids, alarmAt(ns), env ? webhookTransport(env) : null),
  };
}

/**
 * Runs `work` as `principal` with the Worker's ports, and waits for the events it published,
 * since outside a request nothing else keeps them alive. `writeLock`: inside the TenantLock
 * itself (its alarm), its own turn instead of a call to itself.
 */
export async function asPrincipal<T>(
  env: ExecutionEnv,
  principal: Principal,
  meta: { requestId: string; source: AuditSource; toolName?: string | null },
  work: (ctx: AuthedContext) => Promise<T>,
  writeLock: WriteLock = durableWriteLock(env.TENANT_LOCKS),
): Promise<T> {
  const pending: Promise<unknown>[] = [];
  const ctx = createRequestContext({
    db: env.DB,
    requestId: meta.requestId,
    principal,
    source: meta.source,
    toolName: meta.toolName ?? null,
    events: hubEvents(env, (p) => pending.push(p)),
    executions: workflowsExecutor(env),
    writeLock,
    followUps: durableFollowUps(env.TENANT_LOCKS, env),
  }) as AuthedContext;
  try {
    return await work(ctx);
  } finally {
    await Promise.allSettled(pending);
  }
}

/** Runs `work` as the engine (principal `workflow-engine`, source `system`). */
export function asEngine<T>(
  env: ExecutionEnv,
  tenantId: string,
  requestId: string,
  work: (ctx: AuthedContext) => Promise<T>,
): Promise<T> {
  return asPrincipal(env, enginePrincipal(tenantId), { requestId, source: 'system' }, work);
}

/**
 * Where the cron, the alarm and the engine run follow-ups: as each row's actor, with the Worker's
 * ports. `writeLock`: inside the TenantLock (its alarm), its own turns; it also re-arms itself,
 * so it passes `retryAt: null`.
 */
export function followUpRunner(
  env: ExecutionEnv,
  opts: { writeLock?: WriteLock; retryAt?: null } = {},
): FollowUpRunner {
  return {
    db: env.DB,
    now: () => new Date(),
    run: (row) =>
      asPrincipal(
        env,
        rowActor(row),
        { requestId: row.requestId, source: row.source, toolName: row.toolName },
        (ctx) => runFollowUpEffect(ctx, row, webhookTransport(env)),
        opts.writeLock,
      ),
    ...(opts.retryAt === null ? {} : { retryAt: alarmAt(env.TENANT_LOCKS) }),
  };
}

/**
 * Settles the change a runbook execution implemented: runs the settle follow-up that ending the
 * execution queued (engine.ts finishExecution). A failure stays queued for the alarm and the cron.
 */
export function settleRunbook(env: ExecutionEnv, executionId: string): Promise<string> {
  return runFollowUp(followUpRunner(env), settleRowId(executionId));
}

/** The audit archive over the AUDIT_ARCHIVE R2 bucket (create-only), or null when it is not bound. */
export function r2Archive(bucket: R2Bucket | undefined): AuditArchive | null {
  if (!bucket) return null;
  return {
    put: async (key, body) => {
      // Create-only: R2 answers null instead of writing when the precondition (no object) fails.
      const contentType = typeof body === 'string' ? 'application/json; charset=utf-8' : 'application/gzip';
      const written = await bucket.put(key, body, {
        onlyIf: { etagDoesNotMatch: '*' },
        httpMetadata: { contentType },
      });
      if (written === null) {
        const existing = await bucket.get(key);
        assertSameObject(key, body, existing ? new Uint8Array(await existing.arrayBuffer()) : null);
      }
    },
    get: async (key) => (await bucket.get(key))?.text() ?? null,
  };
}
