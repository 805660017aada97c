// A test hook, off unless localStorage['llamenos.test'] is '1': it lets the
// end-to-end test hear what the caller sends, by exposing
// window.__llamenosAudio with the loudest frequency of the remote audio
// (an AnalyserNode over the remote stream), and window.__llamenosVoicemailAudio
// the same over a voicemail being played. It reads nothing else, sends
// nothing anywhere, and the panic wipe removes the flag with every other
// llamenos item.
export const TEST_FLAG = 'llamenos.test';

export function testMode(storage) {
  try {
    return storage.getItem(TEST_FLAG) === '1';
  } catch {
    return false;
  }
}

export function installAudioProbe(stream, { win = globalThis, storage = globalThis.localStorage } = {}) {
  if (!testMode(storage) || !win.AudioContext) return null;
  const ac = new win.AudioContext();
  ac.resume().catch(() => {});
  const src = ac.createMediaStreamSource(stream);
  const probe = analyserProbe(ac, src, { win, name: '__llamenosAudio' });
  const close = probe.close;
  probe.close = () => {
    close();
    src.disconnect();
    ac.close().catch(() => {});
  };
  return probe;
}

// analyserProbe exposes win[name].dominant() over node's audio in the
// context ac; close removes it (the caller owns ac and node).
export function analyserProbe(ac, node, { win = globalThis, name }) {
  const analyser = ac.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0.2;
  node.connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const hzPerBin = ac.sampleRate / analyser.fftSize;
  const probe = {
    // dominant → {hz, db}: the strongest frequency above 100 Hz (below is
    // hum), refined between bins by a parabola through the peak and its
    // neighbours.
    dominant() {
      analyser.getFloatFrequencyData(bins);
      let best = -1;
      for (let i = Math.ceil(100 / hzPerBin); i < bins.length - 1; i++) if (best < 0 || bins[i] > bins[best]) best = i;
      const [a, b, c] = [bins[best - 1], bins[best], bins[best + 1]];
      const d = a - 2 * b + c;
      const shift = Number.isFinite(d) && d !== 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / d)) : 0;
      return { hz: Math.round((best + shift) * hzPerBin), db: Math.round(b), sampleRate: ac.sampleRate };
    },
    close() {
      analyser.disconnect();
      if (win[name] === probe) delete win[name];
    },
  };
  win[name] = probe;
  return probe;
}
