// The ring, synthesised with WebAudio (no audio file to serve or cache):
// two short chimes every three seconds.
//
// One period of the pattern is computed into an AudioBuffer and played by a
// looping buffer source. The loop runs on the browser's audio thread, not on
// page timers, so the ring keeps its rhythm in a background tab (where
// timers are throttled, down to once a minute in Chrome), and stop() silences
// it at once: nothing is left scheduled to sound after the ring ended.
//
// Browsers only let a page start sound after the person has interacted with
// it, so unlock() is called on every click and key press; a volunteer who
// made themself available has done that already. `blocked` says when the
// browser still holds the sound back (a reloaded tab nobody touched yet).
export const PERIOD_S = 3;
export const CHIME_S = 0.35;
export const GAP_S = 0.15;
// Not 440 Hz: the end-to-end test listens for the caller's 440 Hz tone.
export const FREQS = [659.25, 987.77];
const ATTACK_S = 0.02;
const RELEASE_S = 0.05;

// renderPattern returns one period of the ring at sampleRate: two chimes
// (each the FREQS together under a short attack and release, peaking at
// volume) from the start, then silence to PERIOD_S. It starts and ends at
// zero, so the loop has no click at its seam.
export function renderPattern(sampleRate, volume = 0.12) {
  const n = Math.round(PERIOD_S * sampleRate);
  const out = new Float32Array(n);
  const chimeN = Math.round(CHIME_S * sampleRate);
  const starts = [0, Math.round((CHIME_S + GAP_S) * sampleRate)];
  const amp = volume / FREQS.length;
  for (const s0 of starts) {
    for (let i = 0; i < chimeN; i++) {
      const t = i / sampleRate;
      const env = t < ATTACK_S ? t / ATTACK_S : t > CHIME_S - RELEASE_S ? Math.max(0, (CHIME_S - t) / RELEASE_S) : 1;
      let v = 0;
      for (const f of FREQS) v += Math.sin(2 * Math.PI * f * t);
      out[s0 + i] = amp * env * v;
    }
  }
  return out;
}

export function createRingtone({ AudioContextImpl = globalThis.AudioContext || globalThis.webkitAudioContext, volume = 0.12 } = {}) {
  let ac = null;
  let buffer = null;
  let source = null;
  let gain = null;
  let wanted = false;

  function context() {
    if (!ac && AudioContextImpl) {
      try {
        ac = new AudioContextImpl();
      } catch {
        ac = null;
      }
    }
    return ac;
  }

  function play() {
    if (!wanted || source || !ac || ac.state !== 'running') return;
    if (!buffer) {
      buffer = ac.createBuffer(1, Math.round(PERIOD_S * ac.sampleRate), ac.sampleRate);
      buffer.getChannelData(0).set(renderPattern(ac.sampleRate, volume));
    }
    gain = ac.createGain();
    gain.gain.value = 1;
    gain.connect(ac.destination);
    source = ac.createBufferSource();
    source.buffer = buffer;
    source.loop = true;
    source.connect(gain);
    source.start();
  }

  function resume() {
    const c = context();
    if (!c) return;
    if (c.state === 'running') {
      play();
      return;
    }
    if (c.state === 'suspended') c.resume().then(play, () => {});
  }

  return {
    unlock() {
      resume();
    },
    start() {
      if (wanted) return;
      wanted = true;
      resume();
    },
    stop() {
      wanted = false;
      if (source) {
        try {
          source.stop();
        } catch {
          // Never started: nothing sounds.
        }
        source.disconnect();
      }
      if (gain) gain.disconnect();
      source = null;
      gain = null;
    },
    // The ring is wanted (a call rings) and is sounding.
    get playing() {
      return source !== null;
    },
    // A ring is wanted but the browser holds the sound back until the
    // person interacts with the page.
    get blocked() {
      return wanted && source === null && ac !== null;
    },
  };
}
