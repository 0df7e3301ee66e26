import type { Config } from '../config';

type Check = { status: 'ok' | 'fail'; latencyMs: number; error?: string };

export interface HealthReport {
  status: 'ok' | 'degraded';
  version: string;
  environment: string;
  timestamp: string;
  checks: Record<string, Check>;
}

async function timed(probe: () => Promise<unknown>): Promise<Check> {
  const started = Date.now();
  try {
    await probe();
    return { status: 'ok', latencyMs: Date.now() - started };
  } catch (e) {
    return { status: 'fail', latencyMs: Date.now() - started, error: String((e as Error)?.message ?? e) };
  }
}

/**
 * Checks D1 with a real query against our own schema (a missing migration fails it too) and,
 * where the runtime has one, that the live hub answers.
 */
export async function checkHealth(
  db: D1Database,
  config: Config,
  hubHealth?: () => Promise<unknown>,
): Promise<HealthReport> {
  const [d1, hub] = await Promise.all([
    timed(() =>
      db.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1').bind('__health__').first(),
    ),
    hubHealth ? timed(hubHealth) : Promise.resolve(null),
  ]);
  const checks: Record<string, Check> = hub ? { d1, hub } : { d1 };
  return {
    status: Object.values(checks).every((c) => c.status === 'ok') ? 'ok' : 'degraded',
    version: config.version,
    environment: config.environment,
    timestamp: new Date().toISOString(),
    checks,
  };
}
