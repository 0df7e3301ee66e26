// The open-loop load generator (bench/openLoop/generator.mjs) schedules by intended time: a
// synthetic server that answers one request at a time, slower than they arrive, must show the
// latency of the requests queued behind it. A closed-loop measurement (from the actual send, as
// autocannon or bench/lib.mjs `drive` measure) would report only the service time: coordinated
// omission, which this test would catch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openLoop, summarise } from '../../bench/openLoop/generator.mjs';

const delay = (ms) => new Promise((r) => setTimeout(r, ms));

/** A server with one worker: each request takes `serviceMs` after the ones before it. */
function slowServer(serviceMs) {
  let queue = Promise.resolve();
  let served = 0;
  return {
    send: () => {
      const answered = queue.then(() => delay(serviceMs));
      queue = answered;
      return answered.then(() => {
        served++;
        return { ok: true, status: 200 };
      });
    },
    served: () => served,
  };
}

test('latency is measured from the intended send time: a slow server shows its queue', async () => {
  // 200 requests a second for 0.25 s (50 due, 5 ms apart) against 20 ms each, one at a time:
  // request i is answered at about 20(i+1) ms and was due at 5i ms, so it waited about 15i + 20.
  const server = slowServer(20);
  const r = await openLoop({ send: server.send, rate: 200, durationMs: 250, maxInFlight: 1, graceMs: 5000 });
  assert.equal(r.requests, 50);
  assert.equal(r.ok, 50);
  assert.equal(server.served(), 50);
  // From the send, every request took about the service time (what coordinated omission reports)…
  assert.ok(r.serviceMs.p50 < 60, `service p50 ${r.serviceMs.p50}`);
  // …but from its intended time the median request waited for about half the queue.
  assert.ok(r.latencyMs.p50 > 250, `latency p50 ${r.latencyMs.p50}`);
  assert.ok(r.latencyMs.p99 > 600, `latency p99 ${r.latencyMs.p99}`);
  assert.ok(r.maxBacklog >= 30, `backlog ${r.maxBacklog}`);
  // Throughput is what the server managed (about 50 a second), not what was offered.
  assert.ok(r.throughput < 60, `throughput ${r.throughput}`);
});

test('the same queue with slots to spare: in flight up to the cap, latency near the service time', async () => {
  const r = await openLoop({
    send: () => delay(20).then(() => ({ ok: true, status: 200 })),
    rate: 200,
    durationMs: 250,
    maxInFlight: 16,
  });
  assert.equal(r.ok, 50);
  assert.equal(r.maxBacklog, 0);
  assert.ok(r.maxInFlightSeen >= 3 && r.maxInFlightSeen <= 16, `in flight ${r.maxInFlightSeen}`);
  assert.ok(r.latencyMs.p50 < 80, `latency p50 ${r.latencyMs.p50}`);
});

test('requests go out at their time, not when the previous one returns', async () => {
  const starts = [];
  const t0 = performance.now();
  await openLoop({
    send: async () => {
      starts.push(performance.now() - t0);
      await delay(100);
      return { ok: true, status: 200 };
    },
    rate: 100,
    durationMs: 200,
    maxInFlight: 64,
  });
  assert.equal(starts.length, 20);
  // All 20 were sent within the 200 ms window although each took 100 ms.
  assert.ok(/** @type {number} */ (starts.at(-1)) < 260, `last sent at ${starts.at(-1)}`);
});

test('errors, refusals and requests still out at the end are counted, never dropped', async () => {
  let n = 0;
  const r = await openLoop({
    send: async () => {
      n++;
      if (n % 5 === 0) throw new Error('ECONNRESET');
      if (n % 5 === 1) return { ok: false, status: 429 };
      if (n === 2) await new Promise(() => {}); // never back
      return { ok: true, status: 200 };
    },
    rate: 100,
    durationMs: 100,
    maxInFlight: 8,
    graceMs: 200,
  });
  assert.equal(r.requests, 10);
  assert.equal(r.errors, 4);
  assert.equal(r.unfinished, 1);
  assert.equal(r.ok, 5);
  assert.equal(r.errorKinds['status 429'], 2);
  assert.equal(r.errorKinds['error: ECONNRESET'], 2);
});

test('bounded: maxRequests caps the count whatever the rate and duration', async () => {
  const r = await openLoop({
    send: async () => ({ ok: true, status: 200 }),
    rate: 1000,
    durationMs: 60_000,
    maxInFlight: 4,
    maxRequests: 30,
  });
  assert.equal(r.requests, 30);
  assert.ok(r.durationMs < 1000);
});

test('summarise: percentiles from the intended time, throughput over the run', () => {
  const records = Array.from({ length: 100 }, (_, i) => ({
    intended: i * 10,
    started: i * 10 + 5,
    ended: i * 10 + 5 + i,
    ok: true,
    status: 200,
  }));
  const s = summarise({
    records,
    count: 100,
    t0: 0,
    end: 1200,
    rate: 100,
    maxInFlight: 1,
    maxInFlightSeen: 1,
    maxBacklog: 0,
  });
  assert.equal(s.latencyMs.p50, 5 + 49);
  assert.equal(s.latencyMs.p99, 5 + 98);
  assert.equal(s.serviceMs.p50, 49);
  assert.ok(Math.abs(s.throughput - 100 / 1.094) < 1e-9);
});
