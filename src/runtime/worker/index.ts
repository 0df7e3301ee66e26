import { type AppPorts, createApp } from '../../http/app';
import type { RequestSample } from '../../metrics/observation';
import { schema } from '../../schema';
import { ExecutionWorkflow as ExecutionWorkflowClass } from './executionWorkflow';
import { observabilityOf, observed, reportToSentry, withWorkflowObservability } from './observability';
import {
  durableFollowUps,
  durableWriteLock,
  type ExecutionEnv,
  hubEvents,
  r2Archive,
  workflowsExecutor,
} from './ports';
import { durableObjectLimiter, type RateLimiter } from './rateLimiter';
import { runScheduled } from './scheduled';
import { forwardToHub, type HubEnv, type TenantHub } from './tenantHub';

export { BreakerBoard } from './breakerBoard';
export { MetricsRecorder } from './metricsRecorder';
export { RateLimiter } from './rateLimiter';
export { TenantHub } from './tenantHub';
export { TenantLock } from './tenantLock';

/** Workflows runs this class; with SENTRY_DSN or OTEL_EXPORTER_OTLP_ENDPOINT set, observed (observability.ts). */
export const ExecutionWorkflow = withWorkflowObservability(ExecutionWorkflowClass);

interface WorkerEnv extends HubEnv, ExecutionEnv {
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  HUB: DurableObjectNamespace<TenantHub>;
}

const app = createApp(schema);

export { durableObjectLimiter };

/** Samples wait in the isolate and go to the recorder in batches, off the request's critical path. */
const FLUSH_EVERY = 20;
const FLUSH_AFTER_MS = 200;
let pending: RequestSample[] = [];
let lastFlush = 0;

function flushSamples(env: WorkerEnv): Promise<void> {
  if (pending.length === 0) return Promise.resolve();
  const batch = pending;
  pending = [];
  lastFlush = Date.now();
  return env.METRICS.get(env.METRICS.idFromName('global')).record(batch);
}

/** Wires the Worker's bindings to the app's ports. */
export function workerPorts(env: WorkerEnv, ctx: ExecutionContext): AppPorts {
  const hub = (tenant: string) => env.HUB.get(env.HUB.idFromName(tenant));
  const recorder = () => env.METRICS.get(env.METRICS.idFromName('global'));
  return {
    rateLimiter: durableObjectLimiter(env.RATE_LIMITER),
    // After the batch committed; a hub that cannot be reached must not fail the mutation.
    events: hubEvents(env, (p) => ctx.waitUntil(p)),
    executions: workflowsExecutor(env),
    writeLock: durableWriteLock(env.TENANT_LOCKS),
    // A follow-up that failed right after its commit is retried by the tenant's TenantLock alarm.
    followUps: durableFollowUps(env.TENANT_LOCKS, env),
    auditArchive: r2Archive(env.AUDIT_ARCHIVE),
    live: {
      systemFigures: async () => {
        await flushSamples(env);
        return recorder().figures();
      },
    },
    // Only with a checked credential (liveRoutes.ts): an unauthenticated upgrade addresses no hub.
    subscriptions: (request, credential) =>
      hub(credential.principal.tenantId).fetch(forwardToHub(request, credential)),
    recordRequest: (sample) => {
      pending.push(sample);
      if (pending.length >= FLUSH_EVERY || sample.at - lastFlush >= FLUSH_AFTER_MS) {
        ctx.waitUntil(flushSamples(env).catch(() => {}));
      }
    },
    prometheus: async () => {
      await flushSamples(env);
      return recorder().prometheus();
    },
    hubHealth: async () => (await hub('__health__').ping()).status,
    ...(observabilityOf(env)?.sentryDsn ? { reportError: reportToSentry } : {}),
  };
}

// Sentry (SENTRY_DSN) and OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT) where configured.
export default observed<WorkerEnv>({
  fetch: (request, env, ctx) => app.fetch(request, env, workerPorts(env, ctx)),
  // Every minute: cron-triggered workflows, the watchdog that keeps executions from sticking, and
  // every tenant's due follow-ups; hourly, audit digests.
  scheduled: async (controller, env, _ctx) => {
    await runScheduled(env, controller.scheduledTime);
  },
});
