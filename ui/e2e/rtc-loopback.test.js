// The browser half of the call's media (src/rtc.js, src/audio-probe.js) in
// real Chromium, with no daemon: a second RTCPeerConnection in the same page
// plays the daemon's part (it answers offers, trickles candidates, sends a
// 440 Hz tone and listens to what it gets). It shows that the offer puts
// PCMU first, the media connects, the probe hears the tone, the fake 1 kHz
// microphone reaches the other side, mute silences it, and a re-offer after
// the socket came back reconnects on a fresh connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { launch, poll, uiRoot, withTimeout } from './harness.js';
import { sineWav } from './frames.js';

const ENTRY = `
import { createMediaSession, preferPCMU } from './src/rtc.js';
import { installAudioProbe } from './src/audio-probe.js';
window.__rtc = { createMediaSession, preferPCMU, installAudioProbe };
`;

// In the page: the "daemon" side, and the session under test wired to it.
function pageSetup() {
  const { createMediaSession, installAudioProbe } = window.__rtc;
  const log = (window.__log = []);
  let server = null;
  let serverIn = null; // analyser of what the server receives
  const tone = new AudioContext();
  const osc = tone.createOscillator();
  osc.frequency.value = 440;
  const dest = tone.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();

  function peak(an, hz) {
    const bins = new Float32Array(an.frequencyBinCount);
    an.getFloatFrequencyData(bins);
    const i = Math.round(hz / (an.context.sampleRate / an.fftSize));
    return Math.max(bins[i - 1], bins[i], bins[i + 1]);
  }

  async function answerOffer(sdp) {
    if (server) server.close();
    const pc = (server = new RTCPeerConnection());
    window.__servers = (window.__servers || 0) + 1;
    pc.addTrack(dest.stream.getAudioTracks()[0], dest.stream);
    pc.onicecandidate = (e) => e.candidate && pc === server && session.handle({ type: 'rtc:candidate', callId: 'c1', candidate: e.candidate.toJSON() });
    pc.ontrack = (e) => {
      const ac = new AudioContext();
      const an = ac.createAnalyser();
      an.fftSize = 8192;
      ac.createMediaStreamSource(e.streams[0]).connect(an);
      // Chromium feeds a remote track to WebAudio only while a media element plays it.
      const el = new Audio();
      el.muted = true;
      el.srcObject = e.streams[0];
      el.play().catch(() => {});
      serverIn = an;
    };
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    session.handle({ type: 'rtc:answer', callId: 'c1', sdp: pc.localDescription.sdp });
  }

  const remote = new Audio();
  const session = createMediaSession({
    callId: 'c1',
    send: (m) => {
      log.push(m.type);
      if (m.type === 'rtc:offer') {
        window.__lastOffer = m.sdp;
        answerOffer(m.sdp);
      } else if (m.type === 'rtc:candidate' && server && server.remoteDescription) server.addIceCandidate(m.candidate).catch(() => {});
      return true;
    },
    getIceServers: async () => [],
    getUserMedia: (c) => navigator.mediaDevices.getUserMedia(c),
    RTCPeerConnection,
    receiverCapabilities: (k) => RTCRtpReceiver.getCapabilities(k),
    onState: (s) => {
      window.__state = s;
      log.push('state:' + s);
    },
    onRemoteStream: (stream) => {
      remote.srcObject = stream;
      remote.play().catch(() => {});
      installAudioProbe(stream);
    },
  });
  window.__session = session;
  window.__serverHeard = (hz) => (serverIn ? peak(serverIn, hz) : -Infinity);
  return session.start();
}

test('rtc: PCMU offer, both directions of audio, mute, re-offer', { timeout: 180000 }, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'llamenos-rtc-'));
  const wav = path.join(dir, 'mic.wav');
  await writeFile(wav, sineWav(1000));
  const out = await build({ stdin: { contents: ENTRY, resolveDir: uiRoot, loader: 'js' }, bundle: true, format: 'iife', write: false, logLevel: 'silent' });
  const js = out.outputFiles[0].text;
  const browser = await launch([`--use-file-for-fake-audio-capture=${wav}`]);
  t.after(async () => {
    await withTimeout(browser.close(), 15000, 'browser close').catch(() => {});
    await rm(dir, { recursive: true, force: true });
  });
  const context = await browser.newContext({ permissions: ['microphone'] });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // localhost is a secure context: getUserMedia works.
  await page.route('http://localhost:9/**', (route) => {
    const u = new URL(route.request().url());
    if (u.pathname === '/t.js') return route.fulfill({ contentType: 'text/javascript', body: js });
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><script src="/t.js"></script>' });
  });
  await page.goto('http://localhost:9/');
  await page.evaluate(() => localStorage.setItem('llamenos.test', '1'));
  await page.evaluate(pageSetup);

  await poll(() => page.evaluate(() => window.__state === 'connected'), { timeout: 20000, what: 'media connected' });
  const offer = await page.evaluate(() => window.__lastOffer);
  const mline = offer.split(/\r?\n/).find((l) => l.startsWith('m=audio'));
  assert.match(mline, /^m=audio \d+ \S+ 0( |$)/, `PCMU (payload 0) first: ${mline}`);

  const heard = await poll(async () => {
    const d = await page.evaluate(() => window.__llamenosAudio && window.__llamenosAudio.dominant());
    return d && Math.abs(d.hz - 440) <= 15 ? d : null;
  }, { timeout: 15000, interval: 200, what: 'the probe hearing 440 Hz' });
  t.diagnostic(`probe: ${heard.hz} Hz at ${heard.db} dB`);

  const loud = await poll(async () => {
    const db = await page.evaluate(() => window.__serverHeard(1000));
    return db > -60 ? db : null;
  }, { timeout: 15000, interval: 200, what: 'the other side hearing the 1 kHz microphone' });
  t.diagnostic(`other side: 1 kHz at ${loud.toFixed(1)} dB`);

  await page.evaluate(() => window.__session.setMuted(true));
  const quiet = await poll(async () => {
    const db = await page.evaluate(() => window.__serverHeard(1000));
    return db < loud - 30 ? db : null;
  }, { timeout: 10000, interval: 200, what: 'mute silencing the microphone' });
  t.diagnostic(`muted: 1 kHz at ${quiet.toFixed(1)} dB`);
  await page.evaluate(() => window.__session.setMuted(false));

  // The socket "came back": a new offer on a fresh connection, answered by
  // a fresh peer, and the audio flows again.
  await page.evaluate(() => window.__session.socketBack());
  await poll(() => page.evaluate(() => window.__servers === 2 && window.__state === 'connected'), { timeout: 20000, what: 'reconnected after the re-offer' });
  await poll(async () => (await page.evaluate(() => window.__serverHeard(1000))) > -60, { timeout: 15000, interval: 200, what: '1 kHz after the re-offer' });

  await page.evaluate(() => window.__session.stop());
  assert.equal(await page.evaluate(() => window.__state), 'closed');
  const tracksLive = await page.evaluate(() => navigator.mediaDevices.getUserMedia({ audio: true }).then((s) => (s.getTracks().forEach((x) => x.stop()), true)));
  assert.ok(tracksLive);
  assert.deepEqual(errors, []);
});
