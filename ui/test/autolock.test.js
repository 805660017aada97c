import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAutoLock, DEFAULT_AUTOLOCK_MINUTES } from '../src/autolock.js';
import { fakeClock } from './helpers/fakes.js';

const MIN = 60000;

function setup(delayMs = DEFAULT_AUTOLOCK_MINUTES * MIN) {
  const clock = fakeClock();
  let locks = 0;
  const al = createAutoLock({ delayMs, now: clock.now, timers: clock, onLock: () => locks++ });
  return { clock, al, locks: () => locks };
}

test('defaults to five minutes', () => {
  assert.equal(DEFAULT_AUTOLOCK_MINUTES, 5);
});

test('locks once after the delay without activity', async () => {
  const { clock, al, locks } = setup();
  al.start();
  await clock.advance(5 * MIN - 1);
  assert.equal(locks(), 0);
  await clock.advance(1);
  assert.equal(locks(), 1);
  assert.equal(al.running, false);
  await clock.advance(60 * MIN);
  assert.equal(locks(), 1);
});

test('activity pushes the deadline back', async () => {
  const { clock, al, locks } = setup();
  al.start();
  for (let i = 0; i < 10; i++) {
    await clock.advance(4 * MIN);
    assert.equal(al.activity(), false);
  }
  assert.equal(locks(), 0);
  await clock.advance(5 * MIN);
  assert.equal(locks(), 1);
});

test('a frozen tab locks on the first event after the deadline, not later', () => {
  const { clock, al, locks } = setup();
  al.start();
  clock.jump(6 * MIN); // timers did not run (background tab)
  assert.equal(al.activity(), true, 'activity arriving late locks instead of extending');
  assert.equal(locks(), 1);
});

test('check on visibility change locks when overdue and re-arms otherwise', async () => {
  const { clock, al, locks } = setup();
  al.start();
  clock.jump(2 * MIN);
  assert.equal(al.check(), false);
  assert.deepEqual(clock.pending(), [3 * MIN]);
  clock.jump(3 * MIN);
  assert.equal(al.check(), true);
  assert.equal(locks(), 1);
});

test('pause holds the lock off (nested) and resume restarts the full delay', async () => {
  const { clock, al, locks } = setup();
  al.start();
  al.pause();
  al.pause();
  await clock.advance(30 * MIN);
  assert.equal(locks(), 0);
  al.resume();
  await clock.advance(30 * MIN);
  assert.equal(locks(), 0, 'still paused once');
  al.resume();
  await clock.advance(5 * MIN - 1);
  assert.equal(locks(), 0);
  await clock.advance(1);
  assert.equal(locks(), 1);
});

test('setDelay applies to the running countdown; stop cancels it', async () => {
  const { clock, al, locks } = setup();
  al.start();
  await clock.advance(1 * MIN);
  al.setDelay(2 * MIN);
  await clock.advance(1 * MIN);
  assert.equal(locks(), 1);
  al.start();
  al.stop();
  await clock.advance(60 * MIN);
  assert.equal(locks(), 1);
  assert.equal(al.activity(), false);
});
