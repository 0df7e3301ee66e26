import { allLiveExecutions } from '../../db/executions';
import type { EnginePorts, Ids } from '../../engine/engine';
import { abandonExecution } from '../../engine/engine';
import { type DurableRun, runExecution } from '../../engine/run';
import type { Logger } from '../../log';
import type { BreakerSnapshot, ExecutionsPort } from '../../usecases/ports/executions';

/**
 * The Node runtime's workflow engine: what Cloudflare Workflows is to the Worker, in this process.
 * Each execution runs src/engine/run.ts with a journal in the SQLite file (this runtime's own table,
 * as a Workflows instance keeps its steps outside D1): a step's result is written once it is done,
 * and a pause's deadline once it starts, so after a restart `resume` replays every live execution
 * to where it was without doing anything twice (an HTTP attempt cut off mid-flight is sent again,
 * as on Workflows). A wake ends the current pause of an execution, or the next one if it comes
 * between two. A run that fails outside its steps' own handling (the database is gone, a bug) is
 * failed with EXECUTION-009 at once, as the Worker's watchdog would fail a lost instance.
 */
export class NodeExecutions implements ExecutionsPort {
  private readonly running = new Map<string, Promise<void>>();
  /** The pause each execution is in, by execution id: ends it. */
  private readonly pauses = new Map<string, () => void>();
  /** Wakes that came while the execution was not pausing: its next pause ends at once. */
  private readonly pendingWakes = new Set<string>();
  /** Every sleep in progress (pauses and retry delays): a shutdown ends them all. */
  private readonly sleepers = new Set<() => void>();
  private closing = false;
  private readonly ready: Promise<void>;

  constructor(
    private readonly deps: {
      db: D1Database;
      /** The engine's ports for a tenant (its writes, breakers, secrets, egress, clock). */
      ports: (tenantId: string) => EnginePorts;
      /** Runs the settle follow-up of a runbook execution that ended (see runExecution). */
      settle: (executionId: string) => Promise<string>;
      logger: Logger;
      /** The tenant's circuit breakers (breakers.ts), for the circuitBreakers query. */
      breakers: (tenantId: string) => Promise<BreakerSnapshot[]>;
    },
  ) {
    this.ready = deps.db.exec(JOURNAL_TABLE).then(() => {});
  }

  async start(ids: { tenantId: string; executionId: string }): Promise<void> {
    if (this.closing) throw new Error('the workflow engine is shutting down');
    await this.ready;
    if (this.running.has(ids.executionId)) return;
    const run = this.run(ids).finally(() => {
      this.running.delete(ids.executionId);
      this.pendingWakes.delete(ids.executionId);
    });
    this.running.set(ids.executionId, run);
  }

  async wake(executionId: string): Promise<void> {
    const end = this.pauses.get(executionId);
    if (end) end();
    else if (this.running.has(executionId)) this.pendingWakes.add(executionId);
  }

  breakers(tenantId: string): Promise<BreakerSnapshot[]> {
    return this.deps.breakers(tenantId);
  }

  /** Starts every execution the file holds PENDING or RUNNING (after a restart); returns their ids. */
  async resume(): Promise<string[]> {
    await this.ready;
    const live = await allLiveExecutions(this.deps.db);
    for (const ids of live) await this.start(ids);
    return live.map((e) => e.executionId);
  }

  /**
   * Stops taking work: pauses end, no step starts, and runs in flight finish their current step
   * (up to `graceMs`). Their journals stay: the next start resumes them.
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    for (const end of [...this.sleepers]) end();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.running.values()]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
    clearTimeout(timer);
  }

  private async run(ids: Ids): Promise<void> {
    const { executionId, tenantId } = ids;
    const ports = () => this.deps.ports(tenantId);
    try {
      const status = await runExecution(this.durable(executionId), ports, ids, this.deps.settle);
      this.deps.logger.log('info', 'execution ended', { executionId, tenantId, status });
      await this.forget(executionId);
    } catch (e) {
      if (e instanceof Stopped) return; // shutting down: resumed at the next start
      this.deps.logger.log('error', 'execution failed in the engine', {
        executionId,
        tenantId,
        error: String(e),
      });
      try {
        const ended = await abandonExecution(ports(), ids, `the workflow engine failed: ${String(e)}`);
        if (ended?.changeId && ended.trigger === 'RUNBOOK') await this.deps.settle(ended.id);
        await this.forget(executionId);
      } catch (again) {
        // The database itself is failing: the next start finds it live and resumes it.
        this.deps.logger.log('error', 'could not fail the execution', { executionId, error: String(again) });
      }
    }
  }

  private durable(executionId: string): DurableRun {
    const { db } = this.deps;
    const retries = BOOKKEEPING_RETRIES;
    const recorded = async (name: string): Promise<{ result: unknown } | null> => {
      const row = await db
        .prepare('SELECT result FROM node_execution_journal WHERE execution_id = ? AND name = ?')
        .bind(executionId, name)
        .first<{ result: string }>();
      return row ? { result: JSON.parse(row.result) } : null;
    };
    const record = (name: string, result: unknown) =>
      db
        .prepare(
          'INSERT OR REPLACE INTO node_execution_journal (execution_id, name, result) VALUES (?, ?, ?)',
        )
        .bind(executionId, name, JSON.stringify(result ?? null))
        .run();
    return {
      step: async <T>(name: string, kind: 'bookkeeping' | 'attempt', work: () => Promise<T>): Promise<T> => {
        const kept = await recorded(name);
        if (kept) return kept.result as T;
        for (let attempt = 0; ; attempt++) {
          if (this.closing) throw new Stopped();
          try {
            const result = await work();
            // As Workflows stores it: JSON (undefined becomes null).
            await record(name, result);
            return JSON.parse(JSON.stringify(result ?? null)) as T;
          } catch (e) {
            if (kind === 'attempt' || attempt >= retries.limit) throw e;
            await this.sleep(executionId, retries.delayMs * 2 ** attempt, false);
          }
        }
      },
      pause: async (name, ms) => {
        if (this.closing) throw new Stopped();
        const key = `${name} until`;
        const kept = await recorded(key);
        const until = kept ? (kept.result as number) : Date.now() + Math.max(0, ms);
        if (!kept) await record(key, until);
        await this.sleep(executionId, until - Date.now(), true);
        if (this.closing) throw new Stopped();
      },
    };
  }

  /** Waits `ms`, or less when woken (if `wakeable`) or shutting down. */
  private sleep(executionId: string, ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && this.pendingWakes.delete(executionId)) return Promise.resolve();
    if (ms <= 0 || this.closing) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const end = () => {
        clearTimeout(timer);
        this.sleepers.delete(end);
        if (this.pauses.get(executionId) === end) this.pauses.delete(executionId);
        resolve();
      };
      const timer = setTimeout(end, ms);
      this.sleepers.add(end);
      if (wakeable) this.pauses.set(executionId, end);
    });
  }

  private async forget(executionId: string): Promise<void> {
    await this.deps.db
      .prepare('DELETE FROM node_execution_journal WHERE execution_id = ?')
      .bind(executionId)
      .run();
  }
}

/** Retries of a bookkeeping step (D1 only) before the run fails, as the Worker's Workflows config. */
const BOOKKEEPING_RETRIES = { limit: 4, delayMs: 1000 };

/** The run stops because the process is shutting down (not a failure of the execution). */
class Stopped extends Error {}

/**
 * The engine's journal: this runtime's own table (as Workflows keeps its steps outside D1), so
 * not among the D1 migrations. A live execution's rows only: they go when it ends.
 */
const JOURNAL_TABLE =
  'CREATE TABLE IF NOT EXISTS node_execution_journal (execution_id TEXT NOT NULL, name TEXT NOT NULL, result TEXT NOT NULL, PRIMARY KEY (execution_id, name))';
