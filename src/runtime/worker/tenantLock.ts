import { DurableObject } from 'cloudflare:workers';
import { nextOutboxDue } from '../../db/outbox';
import { createLogger } from '../../log';
import { drainDue } from '../../usecases/outbox';
import { type ExecutionEnv, followUpRunner } from './ports';

/**
 * One object per tenant that hands out its write turn: every write of a tenant appends to one
 * audit chain, and writers that race for its head lose and retry (commit.ts). Under a burst (25
 * executions started at once) some lost every retry. Queued here, they take turns instead.
 *
 * The queue lives in memory: calls wait while earlier holders work (a Durable Object keeps
 * taking calls while one awaits). A lease that is never released (its Worker died) expires after
 * LEASE_MS, and an object that is reset simply forgets its queue: correctness never depends on
 * this lock, since the chain's unique sequence still refuses a lost race and the writer retries.
 */
export const LEASE_MS = 10_000;

/** An alarm never fires sooner than this after the last (a row failing at once is not a busy loop). */
const MIN_ALARM_GAP_MS = 1_000;

const logger = createLogger({ service: 'changeflow', component: 'tenant-lock' });

/**
 * The object also keeps its tenant's follow-ups going (src/usecases/outbox.ts): one that failed
 * right after its commit asks for a drain at its retry time (drainAt), and the alarm drains the
 * tenant's due rows then, re-arming itself while any remain. The cron drains every tenant too,
 * so a lost alarm only delays a retry to the next minute.
 */
export class TenantLock extends DurableObject<ExecutionEnv> {
  private tail: Promise<void> = Promise.resolve();
  private readonly holders = new Map<string, () => void>();
  private queued = 0;

  /** Resolves with a lease id when it is the caller's turn. */
  async acquire(): Promise<string> {
    const lease = crypto.randomUUID();
    const before = this.tail;
    let free!: () => void;
    const done = new Promise<void>((resolve) => {
      free = resolve;
    });
    this.tail = before.then(() => done);
    this.queued++;
    try {
      await before;
    } finally {
      this.queued--;
    }
    const timer = setTimeout(() => this.release(lease), LEASE_MS);
    this.holders.set(lease, () => {
      clearTimeout(timer);
      free();
    });
    return lease;
  }

  /** Ends a turn; releasing an unknown or expired lease does nothing. */
  release(lease: string): void {
    const end = this.holders.get(lease);
    this.holders.delete(lease);
    end?.();
  }

  /** How many turns are held (0 or 1): what tests observe. */
  held(): number {
    return this.holders.size;
  }

  /** How many callers wait for their turn: what tests observe of the queue. */
  waiting(): number {
    return this.queued;
  }

  /** Drains the tenant's due follow-ups at `at` (ms since the epoch), or earlier if already armed so. */
  async drainAt(tenantId: string, at: number): Promise<void> {
    await this.ctx.storage.put('tenant', tenantId);
    const armed = await this.ctx.storage.getAlarm();
    if (armed === null || armed > at) await this.ctx.storage.setAlarm(at);
  }

  override async alarm(): Promise<void> {
    const tenantId = await this.ctx.storage.get<string>('tenant');
    if (!tenantId) return;
    // Follow-ups write as the tenant, whose turns this object hands out: take one here, not
    // through a call to itself. Their retries are this alarm's, re-armed below.
    const runner = followUpRunner(this.env, { writeLock: (_key, work) => this.turn(work), retryAt: null });
    const report = await drainDue(runner, { tenantId });
    if (report.failed.length) logger.log('warn', 'follow-ups still failing', { tenantId, ...report });
    const due = await nextOutboxDue(this.env.DB, tenantId);
    if (due) await this.ctx.storage.setAlarm(Math.max(Date.parse(due), Date.now() + MIN_ALARM_GAP_MS));
  }

  /** Runs `work` in a turn of its own, as a writer calling acquire and release would. */
  private async turn<T>(work: () => Promise<T>): Promise<T> {
    const lease = await this.acquire();
    try {
      return await work();
    } finally {
      this.release(lease);
    }
  }
}
