import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createEscapeDetector } from '../src/panic.js';

test('three Escapes within a second trigger', () => {
  const d = createEscapeDetector();
  assert.equal(d.press('Escape', 0), false);
  assert.equal(d.press('Escape', 400), false);
  assert.equal(d.press('Escape', 1000), true);
});

test('presses spread over more than a second do not trigger', () => {
  const d = createEscapeDetector();
  assert.equal(d.press('Escape', 0), false);
  assert.equal(d.press('Escape', 600), false);
  assert.equal(d.press('Escape', 1001), false, 'the first press fell out of the window');
  assert.equal(d.press('Escape', 1500), true, '600, 1001, 1500 are within a second');
});

test('auto-repeat of a held key does not count; other keys are ignored', () => {
  const d = createEscapeDetector();
  assert.equal(d.press('Escape', 0), false);
  for (let t = 30; t < 900; t += 30) assert.equal(d.press('Escape', t, true), false);
  assert.equal(d.press('a', 910), false);
  assert.equal(d.press('Shift', 920), false);
  assert.equal(d.press('Escape', 930), false);
  assert.equal(d.press('Esc', 960), true, 'old "Esc" key name counts');
});

test('after triggering the count starts again', () => {
  const d = createEscapeDetector();
  d.press('Escape', 0);
  d.press('Escape', 10);
  assert.equal(d.press('Escape', 20), true);
  assert.equal(d.press('Escape', 30), false);
  assert.equal(d.press('Escape', 40), false);
  assert.equal(d.press('Escape', 50), true);
  d.press('Escape', 60);
  d.reset();
  assert.equal(d.press('Escape', 70), false);
});
