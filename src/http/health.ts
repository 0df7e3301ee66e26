import type { Config } from '../config';

/**
 * What a monitor learns: each check's name and whether it passed. Never why it failed: D1's
 * error text names tables, bindings and internals, and /health answers anyone. The reasons go to
 * the log (`failures`).
 */
export type CheckStatus = 'ok' | 'failed';

export interface HealthReport {
  status: 'ok' | 'degraded';
  version: string;
  environment: string;
  timestamp: string;
  checks: Record<string, CheckStatus>;
}

/** A probe's outcome: ok, or the reason it failed (for the log only). */
async function probe(run: () => Promise<unknown>): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    await run();
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: String((e as Error)?.message ?? e) };
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
): Promise<{ report: HealthReport; failures: Record<string, string> }> {
  const probes: Record<string, () => Promise<unknown>> = {
    d1: () =>
      db.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE tenant_id = ?1').bind('__health__').first(),
    ...(hubHealth ? { hub: hubHealth } : {}),
  };
  const names = Object.keys(probes);
  const outcomes = await Promise.all(names.map((name) => probe(probes[name] as () => Promise<unknown>)));
  const checks: Record<string, CheckStatus> = {};
  const failures: Record<string, string> = {};
  names.forEach((name, i) => {
    const outcome = outcomes[i];
    checks[name] = outcome?.ok ? 'ok' : 'failed';
    if (outcome && !outcome.ok) failures[name] = outcome.reason;
  });
  return {
    report: {
      status: Object.values(checks).every((c) => c === 'ok') ? 'ok' : 'degraded',
      version: config.version,
      environment: config.environment,
      timestamp: new Date().toISOString(),
      checks,
    },
    failures,
  };
}
