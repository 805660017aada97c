// The ring, synthesised with WebAudio (no audio file to serve or cache):
// two short chimes every three seconds. Browsers only let a page start
// sound after the person has interacted with it, so unlock() is called on
// every click and key press; a volunteer who made themself available has
// done that already.
const PATTERN_MS = 3000;
const CHIME_S = 0.35;
const GAP_S = 0.15;
// Not 440 Hz: the end-to-end test listens for the caller's 440 Hz tone.
const FREQS = [659.25, 987.77];

export function createRingtone({ AudioContextImpl = globalThis.AudioContext || globalThis.webkitAudioContext, timers = globalThis, volume = 0.12 } = {}) {
  let ac = null;
  let timer = null;

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

  function chime(at) {
    const gain = ac.createGain();
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(volume, at + 0.02);
    gain.gain.setValueAtTime(volume, at + CHIME_S - 0.05);
    gain.gain.linearRampToValueAtTime(0, at + CHIME_S);
    gain.connect(ac.destination);
    for (const f of FREQS) {
      const osc = ac.createOscillator();
      osc.type = 'sine';
      osc.frequency.value = f;
      osc.connect(gain);
      osc.start(at);
      osc.stop(at + CHIME_S + 0.01);
    }
  }

  function burst() {
    if (!ac || ac.state !== 'running') return;
    const t = ac.currentTime + 0.02;
    chime(t);
    chime(t + CHIME_S + GAP_S);
  }

  return {
    unlock() {
      const c = context();
      if (c && c.state === 'suspended') c.resume().catch(() => {});
    },
    start() {
      if (timer) return;
      const c = context();
      if (!c) return;
      if (c.state === 'suspended') c.resume().then(burst, () => {});
      else burst();
      timer = timers.setInterval(burst, PATTERN_MS);
    },
    stop() {
      if (timer) timers.clearInterval(timer);
      timer = null;
    },
    get playing() {
      return timer !== null;
    },
  };
}
