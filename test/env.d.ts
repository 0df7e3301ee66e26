import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import('../src/runtime/worker/index');
    }
    interface Env {
      DB: D1Database;
      MIGRATION_DB: D1Database;
      JWT_SECRET: string;
      SECRETS_KEY: string;
      SECRETS_KEY_PREVIOUS: string;
      AUDIT_SIGNING_KEY: string;
      AUDIT_PUBLIC_KEYS: string;
      AUDIT_DIGESTS_ENABLED: string;
      AUDIT_ARCHIVE: R2Bucket;
      ENVIRONMENT: string;
      TEST_MIGRATIONS: D1Migration[];
      RATE_LIMITER: DurableObjectNamespace<import('../src/runtime/worker/rateLimiter').RateLimiter>;
      HUB: DurableObjectNamespace<import('../src/runtime/worker/tenantHub').TenantHub>;
      METRICS: DurableObjectNamespace<import('../src/runtime/worker/metricsRecorder').MetricsRecorder>;
      RATE_LIMIT_PER_MINUTE: string;
      RATE_LIMIT_BURST_PER_SECOND: string;
      RATE_LIMIT_PER_IP_PER_MINUTE: string;
      RATE_LIMIT_TIERS: string;
      EXECUTOR: Workflow<import('../src/runtime/worker/executionWorkflow').ExecutionParams>;
      BREAKERS: DurableObjectNamespace<import('../src/runtime/worker/breakerBoard').BreakerBoard>;
      TENANT_LOCKS: DurableObjectNamespace<import('../src/runtime/worker/tenantLock').TenantLock>;
    }
  }
}
