import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import('../src/worker');
    }
    interface Env {
      DB: D1Database;
      MIGRATION_DB: D1Database;
      JWT_SECRET: string;
      SECRETS_KEY: string;
      SECRETS_KEY_PREVIOUS: string;
      ENVIRONMENT: string;
      TEST_MIGRATIONS: D1Migration[];
      RATE_LIMITER: DurableObjectNamespace<import('../src/ratelimit/durableObject').RateLimiter>;
      HUB: DurableObjectNamespace<import('../src/realtime/hub').TenantHub>;
      METRICS: DurableObjectNamespace<import('../src/realtime/metricsRecorder').MetricsRecorder>;
      RATE_LIMIT_PER_MINUTE: string;
      RATE_LIMIT_BURST_PER_SECOND: string;
      RATE_LIMIT_PER_IP_PER_MINUTE: string;
      RATE_LIMIT_TIERS: string;
      EXECUTOR: Workflow<import('../src/execution/executionWorkflow').ExecutionParams>;
      BREAKERS: DurableObjectNamespace<import('../src/execution/breakerBoard').BreakerBoard>;
      TENANT_LOCKS: DurableObjectNamespace<import('../src/coordination/tenantLock').TenantLock>;
    }
  }
}
