import type { Config } from '../config';

export interface HealthReport {
  status: 'ok' | 'degraded';
  version: string;
  environment: string;
  timestamp: string;
  checks: Record<string, { status: 'ok' | 'fail'; latencyMs: number; error?: string }>;
}

/** Checks D1 with a real query against our own schema (a missing migration fails it too). */
export async function checkHealth(db: D1Database, config: Config): Promise<HealthReport> {
  const started = Date.now();
  let d1: HealthReport['checks'][string];
  try {
    await db
      .prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1')
      .bind('__health__')
      .first();
    d1 = { status: 'ok', latencyMs: Date.now() - started };
  } catch (e) {
    d1 = { status: 'fail', latencyMs: Date.now() - started, error: String((e as Error)?.message ?? e) };
  }
  return {
    status: d1.status === 'ok' ? 'ok' : 'degraded',
    version: config.version,
    environment: config.environment,
    timestamp: new Date().toISOString(),
    checks: { d1 },
  };
}
