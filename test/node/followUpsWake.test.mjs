// NodeFollowUps wakes itself at a row's retry time (src/runtime/node/followUps.ts). A Node timer
// can fire before that time by the wall clock the rows are due by (it is measured from the event
// loop's cached time); it must then wait for the rest, not drain too early and leave the row to
// the minute's sweep. A fake clock plays the early timer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NodeFollowUps } from '../../src/runtime/node/followUps.ts';

function fakeClock(start) {
  const clock = {
    wall: start,
    armed: [],
    now: () => clock.wall,
    setTimeout: (fire, ms) => {
      clock.armed.push({ fire, ms });
      return clock.armed.length;
    },
  };
  return clock;
}

const followUps = (clock) =>
  new NodeFollowUps({ db: null, events: null, writeLock: null, logger: null, webhooks: null, clock });

test('a timer that fires early by the wall clock waits for the rest before it drains', () => {
  const clock = fakeClock(1_000);
  const f = followUps(clock);
  const fired = [];
  f.wakeAt(2_000, () => fired.push(clock.wall));
  assert.equal(clock.armed[0].ms, 1_000);
  // The timer fires 5 ms early by the wall clock: nothing is due yet, so it is armed again.
  clock.wall = 1_995;
  clock.armed.shift().fire();
  assert.deepEqual(fired, []);
  assert.equal(clock.armed[0].ms, 5);
  clock.wall = 2_001;
  clock.armed.shift().fire();
  assert.deepEqual(fired, [2_001]);
  assert.equal(clock.armed.length, 0);
  f.close();
});

test('a time already past fires at the first tick; nothing is armed once closed', () => {
  const clock = fakeClock(5_000);
  const f = followUps(clock);
  const fired = [];
  f.wakeAt(4_000, () => fired.push('late'));
  assert.equal(clock.armed[0].ms, 0);
  clock.armed.shift().fire();
  assert.deepEqual(fired, ['late']);
  f.close();
  f.wakeAt(6_000, () => fired.push('after close'));
  assert.equal(clock.armed.length, 0);
});
