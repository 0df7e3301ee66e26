import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createLiveFeeds } from '../../src/live/feeds';
import { changeEvent, countingFigures, fakeTimers, settle, subscribe } from './fakes';

/** The core with fake ports: the test's clock, figures that count their reads, recorded counts. */
function feeds() {
  const clock = fakeTimers();
  const figures = countingFigures();
  const counts: { tenantId: string; count: number }[] = [];
  const errors: Record<string, unknown>[] = [];
  const live = createLiveFeeds({
    db: env.DB,
    systemFigures: figures.systemFigures,
    onSubscribers: (tenantId, count) => counts.push({ tenantId, count }),
    logger: { log: (_level, _msg, fields) => errors.push(fields) },
    timers: clock.timers,
  });
  return { live, clock, figures, counts, errors };
}

/** Which snapshot a subscriber saw: countingFigures numbers its reads. */
const readsOf = (values: { system: { requestsPerMinute: number } }[]) =>
  values.map((v) => v.system.requestsPerMinute);

describe('the live core', () => {
  it('answers a burst of change events with one KPI publication, after the debounce', async () => {
    const { live, clock, figures } = feeds();
    const metrics = subscribe(live.port('burst').metrics());
    await expect.poll(() => readsOf(metrics.values)).toEqual([1]);

    for (let i = 0; i < 20; i++) live.publish(changeEvent('burst'));
    clock.advance(249);
    expect(figures.reads).toBe(1);
    clock.advance(1);
    expect(figures.reads).toBe(2);
    await expect.poll(() => readsOf(metrics.values)).toEqual([1, 2]);
    await settle();
    expect(readsOf(metrics.values)).toEqual([1, 2]);

    // The next burst gets its own publication.
    live.publish(changeEvent('burst'));
    live.publish(changeEvent('burst'));
    clock.advance(250);
    await expect.poll(() => readsOf(metrics.values)).toEqual([1, 2, 3]);
    await metrics.stop();
  });

  it('recomputes nothing for events nobody watches the KPIs of', async () => {
    const { live, clock, figures } = feeds();
    const events = subscribe(live.port('no-metrics').changeEvents());
    await expect.poll(() => live.subscribers('no-metrics')).toBe(1);
    live.publish(changeEvent('no-metrics'));
    await expect.poll(() => events.values.length).toBe(1);
    expect(clock.pending).toBe(0);
    clock.advance(10_000);
    expect(figures.reads).toBe(0);
    await events.stop();
  });

  it('refreshes the snapshot every tick while anyone watches, and stops when the last one leaves', async () => {
    const { live, clock, figures } = feeds();
    const metrics = subscribe(live.port('ticker').metrics());
    await expect.poll(() => readsOf(metrics.values)).toEqual([1]);

    clock.advance(4_999);
    expect(figures.reads).toBe(1);
    clock.advance(1);
    await expect.poll(() => readsOf(metrics.values)).toEqual([1, 2]);
    clock.advance(5_000);
    await expect.poll(() => readsOf(metrics.values)).toEqual([1, 2, 3]);

    await metrics.stop();
    expect(clock.pending).toBe(0);
    clock.advance(60_000);
    expect(figures.reads).toBe(3);
  });

  it('gives a late subscriber the latest snapshot at once, and a fresh one after everyone left', async () => {
    const { live, clock, figures } = feeds();
    const early = subscribe(live.port('late').metrics());
    await expect.poll(() => readsOf(early.values)).toEqual([1]);
    live.publish(changeEvent('late'));
    clock.advance(250);
    await expect.poll(() => readsOf(early.values)).toEqual([1, 2]);

    const late = subscribe(live.port('late').metrics());
    await expect.poll(() => readsOf(late.values)).toEqual([2]);
    expect(figures.reads).toBe(2);

    await early.stop();
    await late.stop();
    const next = subscribe(live.port('late').metrics());
    await expect.poll(() => readsOf(next.values)).toEqual([3]);
    await next.stop();
  });

  it('delivers change and execution events to their tenant’s subscribers, filtered', async () => {
    const { live } = feeds();
    const all = subscribe(live.port('events').changeEvents());
    const pending = subscribe(live.port('events').changeEvents({ statuses: ['PENDING_APPROVAL'] }));
    const other = subscribe(live.port('events-other').changeEvents());
    const runs = subscribe(live.port('events').executionEvents({ workflowId: 'wf-1' }));
    await expect.poll(() => live.subscribers()).toBe(4);

    live.publish(changeEvent('events', { changeId: 'a' }));
    live.publish(changeEvent('events', { changeId: 'b', status: 'PENDING_APPROVAL' }));
    const run = {
      tenantId: 'events',
      executionId: 'ex-1',
      stepIndex: null,
      stepId: null,
      stepStatus: null,
      attempts: null,
      error: null,
      status: 'RUNNING' as const,
      at: new Date(0).toISOString(),
    };
    live.publishExecution({ ...run, workflowId: 'wf-2' });
    live.publishExecution({ ...run, workflowId: 'wf-1' });
    await expect.poll(() => all.values.map((e) => e.changeId)).toEqual(['a', 'b']);
    await expect.poll(() => pending.values.map((e) => e.changeId)).toEqual(['b']);
    await expect.poll(() => runs.values.map((e) => e.workflowId)).toEqual(['wf-1']);
    expect(other.values).toEqual([]);
    for (const s of [all, pending, other, runs]) await s.stop();
  });

  it('counts subscribers per tenant as they come and go, and forgets a tenant nobody watches', async () => {
    const { live, counts } = feeds();
    const a = subscribe(live.port('count').changeEvents());
    const b = subscribe(live.port('count').metrics());
    await expect.poll(() => live.subscribers('count')).toBe(2);
    await a.stop();
    await b.stop();
    expect(live.subscribers('count')).toBe(0);
    expect(counts.filter((c) => c.tenantId === 'count').map((c) => c.count)).toEqual([1, 2, 1, 0]);
  });

  it('ends every subscription on close, and any opened after it at once', async () => {
    const { live, clock } = feeds();
    const metrics = subscribe(live.port('close').metrics());
    const events = subscribe(live.port('close').changeEvents());
    await expect.poll(() => live.subscribers()).toBe(2);
    live.close();
    await expect.poll(() => metrics.ended && events.ended).toBe(true);
    expect(live.subscribers()).toBe(0);
    expect(clock.pending).toBe(0);
    const late = subscribe(live.port('close').changeEvents());
    await expect.poll(() => late.ended).toBe(true);
  });

  it('logs a failed snapshot and keeps the feed open', async () => {
    const clock = fakeTimers();
    const errors: Record<string, unknown>[] = [];
    let fail = false;
    const figures = countingFigures();
    const live = createLiveFeeds({
      db: env.DB,
      systemFigures: () => (fail ? Promise.reject(new Error('recorder down')) : figures.systemFigures()),
      onSubscribers: () => {},
      logger: { log: (_level, _msg, fields) => errors.push(fields) },
      timers: clock.timers,
    });
    const metrics = subscribe(live.port('fails').metrics());
    await expect.poll(() => metrics.values.length).toBe(1);
    fail = true;
    clock.advance(5_000);
    await expect.poll(() => errors).toEqual([{ tenant: 'fails', error: 'Error: recorder down' }]);
    fail = false;
    clock.advance(5_000);
    await expect.poll(() => metrics.values.length).toBe(2);
    await metrics.stop();
  });
});
