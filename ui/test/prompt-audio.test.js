import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeWav, mixDown, rms, toPromptWav, PromptFileError } from '../src/prompt-audio.js';

const buffer = (channels) => ({
  numberOfChannels: channels.length,
  length: channels[0].length,
  getChannelData: (i) => channels[i],
});

test('encodeWav writes an 8 kHz mono 16-bit PCM WAV', () => {
  const wav = encodeWav(Float32Array.from([0, 1, -1, 0.5]));
  const v = new DataView(wav.buffer);
  assert.equal(String.fromCharCode(...wav.slice(0, 4)), 'RIFF');
  assert.equal(String.fromCharCode(...wav.slice(8, 16)), 'WAVEfmt ');
  assert.equal(v.getUint32(4, true), 36 + 8);
  assert.equal(v.getUint16(20, true), 1);
  assert.equal(v.getUint16(22, true), 1);
  assert.equal(v.getUint32(24, true), 8000);
  assert.equal(v.getUint16(34, true), 16);
  assert.equal(v.getUint32(40, true), 8);
  assert.deepEqual([0, 1, 2, 3].map((i) => v.getInt16(44 + 2 * i, true)), [0, 32767, -32768, 16384]);
});

test('mixDown averages the channels', () => {
  const m = mixDown(buffer([Float32Array.from([1, 0]), Float32Array.from([0, 0.5])]));
  assert.deepEqual(Array.from(m), [0.5, 0.25]);
  assert.equal(rms(Float32Array.from([1, -1])), 1);
});

test('toPromptWav refuses undecodable, too long, too short and silent files', async () => {
  const limits = { minSeconds: 0.5, maxSeconds: 60 };
  const tone = (seconds, amp) => async () => buffer([Float32Array.from({ length: seconds * 8000 }, (_, i) => amp * Math.sin(i / 3))]);
  const refused = async (decode, key) => {
    await assert.rejects(toPromptWav(new ArrayBuffer(10), { ...limits, decode }), (e) => e instanceof PromptFileError && e.key === key);
  };
  await refused(async () => { throw new Error('EncodingError'); }, 'prompts.errNotAudio');
  await refused(tone(61, 0.3), 'prompts.errLength');
  await refused(tone(0.25, 0.3), 'prompts.errLength');
  await refused(tone(2, 0), 'prompts.errSilent');
  await assert.rejects(toPromptWav(new ArrayBuffer(100), { ...limits, maxFileBytes: 99, decode: tone(2, 0.3) }), (e) => e.key === 'prompts.errFileSize');
  const { wav, seconds } = await toPromptWav(new ArrayBuffer(10), { ...limits, decode: tone(2, 0.3) });
  assert.equal(seconds, 2);
  assert.equal(wav.byteLength, 44 + 2 * 16000);
});
