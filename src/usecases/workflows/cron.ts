import { isUniqueViolation } from '../../db/errors';
import type { WorkflowTrigger } from '../../domain/workflowSteps';
import { cronMatches } from '../../engine/cron';
import { AppError } from '../../errors';
import type { AuthedContext } from '../context';
import { executeWorkflow } from './executions';

/** The minute a scheduled run stands for, as the key that makes a cron start happen once. */
export const minuteOf = (at: Date) => at.toISOString().slice(0, 16);

/**
 * Starts every ACTIVE workflow whose cron trigger matches the minute of `at`, as the engine of its
 * tenant (`asEngine` gives the runtime's context for it). Once per workflow and minute: a second
 * run for the same minute is refused by the unique (workflow, minute) index. Returns the
 * executions started. Both runtimes call it every minute (the Worker's cron, a timer on Node).
 */
export async function startCronWorkflows(
  db: D1Database,
  at: Date,
  asEngine: <T>(tenantId: string, requestId: string, work: (ctx: AuthedContext) => Promise<T>) => Promise<T>,
): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT id, tenant_id, triggers FROM workflows WHERE status = 'ACTIVE' AND triggers LIKE '%"cron"%'`,
    )
    .all<{ id: string; tenant_id: string; triggers: string }>();
  const started: string[] = [];
  for (const row of results) {
    const triggers = JSON.parse(row.triggers) as WorkflowTrigger[];
    // Definitions are validated on save; still, one bad expression must not stop the others.
    const matches = (expression: string) => {
      try {
        return cronMatches(expression, at);
      } catch {
        return false;
      }
    };
    if (!triggers.some((t) => t.type === 'cron' && matches(t.expression))) continue;
    try {
      const e = await asEngine(row.tenant_id, `cron:${minuteOf(at)}`, (ctx) =>
        executeWorkflow(ctx, row.id, {
          trigger: 'CRON',
          triggerRef: minuteOf(at),
          inputs: { scheduledTime: at.toISOString() },
        }),
      );
      started.push(e.id);
    } catch (e) {
      // A second scheduled run for the same minute: the unique (workflow, minute) index refused it.
      if (isUniqueViolation(e, 'workflow_executions')) continue;
      if (e instanceof AppError) continue;
      throw e;
    }
  }
  return started;
}
