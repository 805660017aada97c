// The call's WebRTC session with a fake RTCPeerConnection and socket:
// PCMU first, candidates queued until the answer, re-offer on failure and
// after the socket came back, mute, and a clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MIC_CONSTRAINTS, createMediaSession, preferPCMU } from '../src/rtc.js';
import { fakeClock } from './helpers/fakes.js';

const CODECS = [{ mimeType: 'audio/opus' }, { mimeType: 'audio/PCMA' }, { mimeType: 'audio/PCMU' }, { mimeType: 'audio/telephone-event' }];

function fakeMic() {
  const track = { kind: 'audio', enabled: true, stopped: false, stop() { this.stopped = true; } };
  return { track, stream: { getAudioTracks: () => [track], getTracks: () => [track] } };
}

function harness({ sendOK = () => true, ...opts } = {}) {
  const pcs = [];
  const sent = [];
  const states = [];
  const errors = [];
  const remote = [];
  const mic = fakeMic();
  let constraints = null;
  class FakePC {
    constructor(cfg) {
      this.cfg = cfg;
      this.connectionState = 'new';
      this.signalingState = 'stable';
      this.remoteDescription = null;
      this.localDescription = null;
      this.closed = false;
      this.added = [];
      this.transceivers = [];
      pcs.push(this);
    }
    addTransceiver(track, init) {
      const tr = { track, init, prefs: null, setCodecPreferences(c) { this.prefs = c; } };
      this.transceivers.push(tr);
      return tr;
    }
    async createOffer() {
      return { type: 'offer', sdp: `offer-${pcs.indexOf(this)}` };
    }
    async setLocalDescription(d) {
      this.localDescription = d;
      this.signalingState = 'have-local-offer';
    }
    async setRemoteDescription(d) {
      this.remoteDescription = d;
      this.signalingState = 'stable';
    }
    async addIceCandidate(c) {
      this.added.push(c);
    }
    close() {
      this.closed = true;
    }
    set(state) {
      this.connectionState = state;
      this.onconnectionstatechange();
    }
  }
  const clock = fakeClock();
  const session = createMediaSession({
    callId: 'call-1',
    send: (m) => {
      if (!sendOK(m)) return false;
      sent.push(m);
      return true;
    },
    getIceServers: async () => [{ urls: ['stun:127.0.0.1:3478'] }],
    getUserMedia: async (c) => {
      constraints = c;
      return mic.stream;
    },
    RTCPeerConnection: FakePC,
    receiverCapabilities: () => ({ codecs: CODECS }),
    makeStream: (tracks) => ({ tracks }),
    timers: clock,
    onState: (s) => states.push(s),
    onRemoteStream: (s) => remote.push(s),
    onError: (what, err) => errors.push(what),
    ...opts,
  });
  return { session, pcs, sent, states, errors, remote, mic, clock, get constraints() { return constraints; } };
}

const tick = () => new Promise((r) => setImmediate(r));

test('PCMU goes first and the other codecs keep their order', () => {
  assert.deepEqual(preferPCMU(CODECS).map((c) => c.mimeType), ['audio/PCMU', 'audio/opus', 'audio/PCMA', 'audio/telephone-event']);
  assert.deepEqual(preferPCMU([]), []);
});

test('start: microphone with processing, PCMU preferred, offer sent, answer and candidates applied', async () => {
  const h = harness();
  await h.session.start();
  assert.deepEqual(h.constraints, MIC_CONSTRAINTS);
  assert.deepEqual(MIC_CONSTRAINTS.audio, { echoCancellation: true, noiseSuppression: true, autoGainControl: true });
  const pc = h.pcs[0];
  assert.deepEqual(pc.cfg, { iceServers: [{ urls: ['stun:127.0.0.1:3478'] }] });
  assert.equal(pc.transceivers[0].prefs[0].mimeType, 'audio/PCMU');
  assert.equal(pc.transceivers[0].init.direction, 'sendrecv');
  assert.deepEqual(h.sent, [{ type: 'rtc:offer', callId: 'call-1', sdp: 'offer-0' }]);
  // Candidates before the answer wait; others' call ids are ignored.
  await h.session.handle({ type: 'rtc:candidate', callId: 'call-1', candidate: { candidate: 'a' } });
  await h.session.handle({ type: 'rtc:candidate', callId: 'other', candidate: { candidate: 'x' } });
  assert.deepEqual(pc.added, []);
  await h.session.handle({ type: 'rtc:answer', callId: 'call-1', sdp: 'answer' });
  assert.deepEqual(pc.remoteDescription, { type: 'answer', sdp: 'answer' });
  assert.deepEqual(pc.added, [{ candidate: 'a' }]);
  await h.session.handle({ type: 'rtc:candidate', callId: 'call-1', candidate: { candidate: 'b' } });
  assert.deepEqual(pc.added, [{ candidate: 'a' }, { candidate: 'b' }]);
  // A second answer for a connection not waiting for one is ignored.
  await h.session.handle({ type: 'rtc:answer', callId: 'call-1', sdp: 'again' });
  assert.equal(pc.remoteDescription.sdp, 'answer');
  // Local candidates trickle out; the end-of-candidates null does not.
  pc.onicecandidate({ candidate: { toJSON: () => ({ candidate: 'local', sdpMid: '0' }) } });
  pc.onicecandidate({ candidate: null });
  assert.deepEqual(h.sent.slice(1), [{ type: 'rtc:candidate', callId: 'call-1', candidate: { candidate: 'local', sdpMid: '0' } }]);
  // Remote audio.
  pc.ontrack({ streams: [], track: 't' });
  assert.deepEqual(h.remote, [{ tracks: ['t'] }]);
  pc.set('connected');
  assert.equal(h.session.state, 'connected');
});

test('a failed connection is re-offered on a fresh PeerConnection that reuses the microphone', async () => {
  const h = harness();
  await h.session.start();
  const first = h.pcs[0];
  first.set('connected');
  first.set('failed');
  await tick();
  assert.equal(h.pcs.length, 2);
  assert.ok(first.closed);
  assert.equal(h.pcs[1].transceivers[0].track, h.mic.track);
  assert.equal(h.sent.at(-1).sdp, 'offer-1');
  assert.equal(h.session.state, 'reconnecting');
  // Late events from the replaced connection change nothing.
  first.onicecandidate({ candidate: { candidate: 'old' } });
  first.set('failed');
  assert.equal(h.pcs.length, 2);
  assert.ok(!h.sent.some((m) => m.candidate && m.candidate.candidate === 'old'));
});

test('disconnected gets a grace period before a re-offer; recovery cancels it', async () => {
  const h = harness({ disconnectGraceMs: 4000 });
  await h.session.start();
  const pc = h.pcs[0];
  pc.set('connected');
  pc.set('disconnected');
  await h.clock.advance(3000);
  pc.set('connected');
  await h.clock.advance(5000);
  assert.equal(h.pcs.length, 1, 'recovered by itself');
  pc.set('disconnected');
  await h.clock.advance(4000);
  await tick();
  assert.equal(h.pcs.length, 2, 're-offered after the grace period');
});

test('re-offers are bounded', async () => {
  const h = harness({ maxRestarts: 3 });
  await h.session.start();
  for (let i = 0; i < 5; i++) {
    h.pcs.at(-1).set('failed');
    await tick();
  }
  assert.equal(h.pcs.length, 4);
  assert.equal(h.session.state, 'failed');
  assert.deepEqual(h.errors, ['gave-up'], 'said once');
});

test('the socket coming back re-offers; an offer the socket could not take is not lost', async () => {
  let up = false;
  const h = harness({ sendOK: () => up });
  await h.session.start();
  assert.equal(h.sent.length, 0);
  up = true;
  h.session.socketBack();
  await tick();
  assert.equal(h.pcs.length, 2);
  assert.deepEqual(h.sent.map((m) => m.type), ['rtc:offer']);
  h.pcs[1].set('connected');
  h.session.socketBack();
  await tick();
  assert.equal(h.pcs.length, 3, 'a reconnected socket re-offers even while media flows');
});

test('mute toggles the track; stop closes and releases the microphone; no microphone is reported', async () => {
  const h = harness();
  h.session.setMuted(true);
  await h.session.start();
  assert.equal(h.mic.track.enabled, false, 'muted before the mic arrived stays muted');
  assert.equal(h.session.setMuted(false), false);
  assert.equal(h.mic.track.enabled, true);
  h.session.stop();
  assert.ok(h.pcs[0].closed);
  assert.ok(h.mic.track.stopped);
  assert.equal(h.session.state, 'closed');
  h.session.socketBack();
  assert.equal(h.pcs.length, 1);

  const denied = harness({ getUserMedia: async () => { throw new Error('NotAllowedError'); } });
  await denied.session.start();
  assert.equal(denied.session.state, 'no-microphone');
  assert.deepEqual(denied.errors, ['microphone']);
  assert.equal(denied.pcs.length, 0);
});
