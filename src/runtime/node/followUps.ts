import { settleRowId } from '../../db/outbox';
import type { Logger } from '../../log';
import { createRequestContext } from '../../usecases/context';
import { drainCommitted, rowActor, runFollowUpEffect } from '../../usecases/followUps';
import {
  type DrainReport,
  drainDue,
  type FollowUpRunner,
  type FollowUpsPort,
  runFollowUp,
} from '../../usecases/outbox';
import type { EventsPort } from '../../usecases/ports/events';
import type { ExecutionsPort } from '../../usecases/ports/executions';
import type { WebhookTransport } from '../../usecases/ports/webhookTransport';
import type { WriteLock } from '../../usecases/ports/writeLock';

/** How often every tenant's due follow-ups are drained (what the Worker's cron does each minute). */
export const SWEEP_MS = 60_000;

/** The wall clock and the timers NodeFollowUps wakes itself with (a fake one in tests). */
export interface WakeClock {
  now(): number;
  setTimeout(fire: () => void, ms: number): ReturnType<typeof setTimeout>;
}

const REAL_CLOCK: WakeClock = {
  now: () => Date.now(),
  setTimeout: (fire, ms) => {
    const timer = setTimeout(fire, ms);
    timer.unref?.();
    return timer;
  },
};

/**
 * The outbox's drainers in one Node process (src/usecases/outbox.ts): follow-ups run right after
 * their commit; one that failed is retried by a timer at its retry time (the Worker's Durable
 * Object alarm), and a sweep every minute drains whatever is due (the Worker's cron). Follow-ups
 * that start or wake executions reach this process's engine (executions.ts).
 */
export class NodeFollowUps {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly sweep: ReturnType<typeof setInterval>;
  private closed = false;

  constructor(
    private readonly deps: {
      db: D1Database;
      events: EventsPort;
      writeLock: WriteLock;
      logger: Logger;
      /** How webhook deliveries are sent from this process. */
      webhooks: WebhookTransport;
      /** The workflow engine (it needs this drainer in turn: hence asked for, not given). */
      executions?: () => ExecutionsPort;
      sweepMs?: number;
      clock?: WakeClock;
    },
  ) {
    this.sweep = setInterval(() => void this.drain(), deps.sweepMs ?? SWEEP_MS);
    this.sweep.unref?.();
  }

  /** For the app's ports: run a write's follow-ups once it committed. */
  port(): FollowUpsPort {
    return { afterCommit: (ctx, ids) => drainCommitted(ctx, ids, this.retryAt, this.deps.webhooks) };
  }

  /** Runs the settle follow-up a runbook execution queued when it ended (engine.ts finishExecution). */
  settle(executionId: string): Promise<string> {
    return runFollowUp(this.runner(), settleRowId(executionId));
  }

  /** Drains the due rows (of one tenant, or of all) now. */
  drain(tenantId?: string): Promise<DrainReport> {
    return drainDue(this.runner(), tenantId ? { tenantId } : {});
  }

  close(): void {
    this.closed = true;
    clearInterval(this.sweep);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private readonly retryAt = async (tenantId: string, at: Date): Promise<void> => {
    this.wakeAt(at.getTime(), () => void this.drain(tenantId));
  };

  /**
   * Calls `fire` once the wall clock (by which rows are due) reaches `at`. Node measures a timer
   * from the event loop's cached time, which lags the wall clock by the length of the tick that
   * armed it: under load a timer fires that much early, its drain finds the row not yet due, and
   * the row waited for the next sweep, up to a minute (a webhook held behind an earlier one was
   * delivered 26 s late in CI). A timer that fires early is armed again for the rest.
   */
  wakeAt(at: number, fire: () => void): void {
    if (this.closed) return;
    const clock = this.deps.clock ?? REAL_CLOCK;
    const timer = clock.setTimeout(
      () => {
        this.timers.delete(timer);
        if (clock.now() < at) this.wakeAt(at, fire);
        else fire();
      },
      Math.max(0, at - clock.now()),
    );
    this.timers.add(timer);
  }

  private runner(): FollowUpRunner {
    const { db, events, writeLock } = this.deps;
    return {
      db,
      now: () => new Date(),
      run: (row) =>
        runFollowUpEffect(
          createRequestContext({
            db,
            requestId: row.requestId,
            principal: rowActor(row),
            source: row.source,
            toolName: row.toolName,
            events,
            writeLock,
            followUps: this.port(),
            executions: this.deps.executions?.() ?? null,
          }) as Parameters<typeof runFollowUpEffect>[0],
          row,
          this.deps.webhooks,
        ),
      retryAt: this.retryAt,
    };
  }
}
