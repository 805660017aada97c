// The ring's sound: one period computed once and looped by the audio
// thread, so no page timer keeps it going and stop() leaves nothing
// scheduled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHIME_S, GAP_S, PERIOD_S, createRingtone, renderPattern } from '../src/ringtone.js';

const RATE = 8000;
const peak = (a, from, to) => a.subarray(Math.round(from * RATE), Math.round(to * RATE)).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

test('one period: two chimes, then silence, starting and ending at zero', () => {
  const p = renderPattern(RATE, 0.2);
  assert.equal(p.length, PERIOD_S * RATE);
  assert.equal(p[0], 0);
  assert.equal(p[p.length - 1], 0);
  assert.ok(peak(p, 0.05, CHIME_S - 0.05) > 0.1, 'first chime sounds');
  assert.ok(peak(p, CHIME_S + 0.005, CHIME_S + GAP_S - 0.005) === 0, 'gap between the chimes');
  assert.ok(peak(p, CHIME_S + GAP_S + 0.05, 2 * CHIME_S + GAP_S - 0.05) > 0.1, 'second chime sounds');
  assert.equal(peak(p, 2 * CHIME_S + GAP_S + 0.001, PERIOD_S), 0, 'silent to the end of the period');
  assert.ok(peak(p, 0, PERIOD_S) <= 0.2 + 1e-6, 'never louder than the volume');
});

// A fake AudioContext that records what the ringtone asks of it.
function fakeAudio({ state = 'running' } = {}) {
  const log = { contexts: 0, sources: [], resumes: 0 };
  class Node {
    constructor() {
      this.connected = [];
    }
    connect(n) {
      this.connected.push(n);
    }
    disconnect() {
      this.connected = [];
    }
  }
  class Ctx {
    constructor() {
      log.contexts++;
      this.state = state;
      this.sampleRate = RATE;
      this.destination = new Node();
      log.ctx = this;
    }
    resume() {
      log.resumes++;
      return log.resumeResult ?? Promise.resolve().then(() => (this.state = 'running'));
    }
    createBuffer(ch, n) {
      const data = new Float32Array(n);
      return { getChannelData: () => data, length: n };
    }
    createGain() {
      const g = new Node();
      g.gain = { value: 0 };
      return g;
    }
    createBufferSource() {
      const s = new Node();
      s.started = 0;
      s.stopped = 0;
      s.start = () => s.started++;
      s.stop = () => s.stopped++;
      log.sources.push(s);
      return s;
    }
  }
  return { Ctx, log };
}

test('start plays one looping source; stop stops it at once; a second ring starts afresh', () => {
  const { Ctx, log } = fakeAudio();
  const r = createRingtone({ AudioContextImpl: Ctx });
  r.start();
  r.start();
  assert.equal(log.sources.length, 1, 'one source for one ring');
  const [s] = log.sources;
  assert.equal(s.loop, true);
  assert.equal(s.started, 1);
  assert.ok(s.buffer.getChannelData(0).some((v) => v !== 0), 'the pattern is in the buffer');
  assert.equal(r.playing, true);
  r.stop();
  assert.equal(s.stopped, 1);
  assert.deepEqual(s.connected, [], 'disconnected');
  assert.equal(r.playing, false);
  assert.equal(r.blocked, false);
  r.unlock();
  assert.equal(log.sources.length, 1, 'a gesture after the ring ended plays nothing');
  r.start();
  assert.equal(log.sources.length, 2);
  assert.equal(log.contexts, 1, 'one context for the tab');
});

test('a suspended context plays once resumed, unless the ring ended meanwhile', async () => {
  const { Ctx, log } = fakeAudio({ state: 'suspended' });
  const r = createRingtone({ AudioContextImpl: Ctx });
  r.start();
  assert.equal(r.blocked, true);
  assert.equal(log.resumes, 1);
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(log.sources.length, 1);
  assert.equal(r.playing, true);
  r.stop();

  // The browser refuses to resume (no gesture yet): blocked until one.
  log.ctx.state = 'suspended';
  let release;
  log.resumeResult = new Promise((res) => (release = res));
  r.start();
  assert.equal(r.blocked, true);
  r.stop();
  log.ctx.state = 'running';
  release();
  await log.resumeResult;
  await Promise.resolve();
  assert.equal(log.sources.length, 1, 'a resume that lands after the ring ended plays nothing');
});

test('no WebAudio: start and stop do nothing', () => {
  const r = createRingtone({ AudioContextImpl: undefined });
  r.start();
  assert.equal(r.blocked, false, 'nothing to unlock');
  r.stop();
  assert.equal(r.playing, false);
});
