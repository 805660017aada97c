// Turns a recording an admin picked (any format the browser decodes: WAV,
// MP3, Ogg, WebM, M4A) into what the daemon accepts for a caller prompt: a
// WAV file, 8 kHz mono 16-bit PCM. The daemon checks the result again.

export const PROMPT_RATE = 8000;

// mixDown averages the channels of an AudioBuffer-like object
// ({numberOfChannels, length, getChannelData(i)}) into one Float32Array.
export function mixDown(buf) {
  const out = new Float32Array(buf.length);
  for (let c = 0; c < buf.numberOfChannels; c++) {
    const d = buf.getChannelData(c);
    for (let i = 0; i < out.length; i++) out[i] += d[i] / buf.numberOfChannels;
  }
  return out;
}

// rms of float samples (-1..1).
export function rms(samples) {
  if (!samples.length) return 0;
  let s = 0;
  for (const v of samples) s += v * v;
  return Math.sqrt(s / samples.length);
}

// encodeWav makes a 16-bit PCM mono WAV at rate from float samples.
export function encodeWav(samples, rate = PROMPT_RATE) {
  const n = samples.length;
  const b = new ArrayBuffer(44 + 2 * n);
  const v = new DataView(b);
  const str = (o, s) => { for (let i = 0; i < s.length; i++) v.setUint8(o + i, s.charCodeAt(i)); };
  str(0, 'RIFF');
  v.setUint32(4, 36 + 2 * n, true);
  str(8, 'WAVEfmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, 2 * rate, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, 'data');
  v.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) {
    const x = Math.max(-1, Math.min(1, samples[i]));
    v.setInt16(44 + 2 * i, Math.round(x < 0 ? x * 32768 : x * 32767), true);
  }
  return new Uint8Array(b);
}

// MIN_RMS is -50 dBFS, the daemon's floor: below it the recording is
// silence or a muted microphone.
const MIN_RMS = 1 / 316;

// PromptFileError carries an i18n key and its values.
export class PromptFileError extends Error {
  constructor(key, vars = {}) {
    super(key);
    this.name = 'PromptFileError';
    this.key = key;
    this.vars = vars;
  }
}

// toPromptWav decodes file bytes and returns {wav, seconds}, or throws a
// PromptFileError saying what is wrong with the file. decode is
// (ArrayBuffer, rate) → Promise<AudioBuffer>; by default an
// OfflineAudioContext at 8 kHz, which resamples as it decodes.
export async function toPromptWav(bytes, { minSeconds, maxSeconds, maxFileBytes = 50 << 20, decode = decodeAt } = {}) {
  if (bytes.byteLength > maxFileBytes) throw new PromptFileError('prompts.errFileSize', { mb: Math.round(maxFileBytes / (1 << 20)) });
  let buf;
  try {
    buf = await decode(bytes, PROMPT_RATE);
  } catch {
    throw new PromptFileError('prompts.errNotAudio');
  }
  const samples = mixDown(buf);
  const seconds = samples.length / PROMPT_RATE;
  if (seconds < minSeconds || seconds > maxSeconds) {
    throw new PromptFileError('prompts.errLength', { seconds: seconds.toFixed(1), min: minSeconds, max: maxSeconds });
  }
  if (rms(samples) < MIN_RMS) throw new PromptFileError('prompts.errSilent');
  return { wav: encodeWav(samples), seconds };
}

function decodeAt(bytes, rate) {
  const ctx = new OfflineAudioContext(1, 1, rate);
  return ctx.decodeAudioData(bytes.slice(0));
}
