// Voicemails in the admin's browser: the daemon sealed the caller's audio
// (8 kHz µ-law, one byte a sample) and its transcript to every admin; this
// module opens them with the admin's key and plays the audio through
// WebAudio. The audio never leaves this page and is not cached anywhere.
import { PURPOSE, openBytes, openJSON } from './keys.js';
import { analyserProbe, testMode } from './audio-probe.js';

export const VOICEMAIL_RATE = 8000;

// mulawToFloat decodes G.711 µ-law to samples in [-1, 1) (ITU-T G.711, as
// the daemon's audio package).
export function mulawToFloat(bytes) {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const u = ~bytes[i] & 0xff;
    const mag = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
    out[i] = (u & 0x80 ? -mag : mag) / 32768;
  }
  return out;
}

export const audioContext = (callId) => ({ purpose: PURPOSE.VOICEMAIL_AUDIO, callId, itemId: 'audio' });
export const transcriptContext = (callId) => ({ purpose: PURPOSE.VOICEMAIL_TRANSCRIPT, callId, itemId: 'voicemail' });

// openAudio → {ok, samples} or {ok:false, reason} (keys.js openFailure).
export function openAudio(vm, secretKey) {
  const r = openBytes(vm.audio, audioContext(vm.callId), secretKey);
  if (!r.ok) return r;
  const samples = mulawToFloat(r.bytes);
  r.bytes.fill(0);
  return { ok: true, samples };
}

// openTranscript → {ok, segments:[{speaker, start, end, text}]} (times in
// ms) or {ok:false, reason}. Anything not shaped like the daemon's
// transcript is an integrity error.
export function openTranscript(envelope, ctx, secretKey) {
  const r = openJSON(envelope, ctx, secretKey);
  if (!r.ok) return r;
  const segs = r.value && r.value.segments;
  if (!Array.isArray(segs)) return { ok: false, reason: 'integrity' };
  const out = [];
  for (const s of segs) {
    if (!s || typeof s.text !== 'string' || !Number.isFinite(s.start) || !Number.isFinite(s.end) || typeof s.speaker !== 'string') return { ok: false, reason: 'integrity' };
    out.push({ speaker: s.speaker, start: s.start, end: s.end, text: s.text });
  }
  return { ok: true, language: typeof r.value.language === 'string' ? r.value.language : '', segments: out };
}

// clock: 83000 ms → '1:23'.
export function clock(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

// createPlayer plays samples at 8 kHz. onEnd runs when the audio ends or is
// stopped. In the browser tests' test mode (audio-probe.js), an analyser
// over the playback is exposed as window.__llamenosVoicemailAudio.
export function createPlayer(samples, { win = globalThis, storage = globalThis.localStorage, onEnd = () => {} } = {}) {
  const AC = win.AudioContext || win.webkitAudioContext;
  if (!AC) return null;
  let ac = null;
  let src = null;
  let probe = null;
  function stop() {
    if (!ac) return;
    const a = ac;
    ac = null;
    try {
      src.stop();
    } catch {
      // already ended
    }
    src.disconnect();
    if (probe) probe.close();
    a.close().catch(() => {});
    onEnd();
  }
  return {
    play() {
      stop();
      ac = new AC();
      const buf = ac.createBuffer(1, Math.max(samples.length, 1), VOICEMAIL_RATE);
      buf.copyToChannel(samples, 0);
      src = ac.createBufferSource();
      src.buffer = buf;
      src.connect(ac.destination);
      if (testMode(storage)) probe = analyserProbe(ac, src, { win, name: '__llamenosVoicemailAudio' });
      const mine = ac;
      src.onended = () => {
        if (ac === mine) stop();
      };
      ac.resume().catch(() => {});
      src.start();
    },
    stop,
    get playing() {
      return ac !== null;
    },
  };
}
