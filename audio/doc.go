// Package audio holds the small amount of signal processing the appliance
// needs around telephone audio: G.711 µ-law conversion, a tone generator and a
// Goertzel tone detector. Helpers only the tests need are in audiotest.
//
// Everything works on signed 16-bit linear PCM ([]int16). Telephone audio is
// 8 kHz mono (SampleRate); functions that care about the rate take it as an
// argument so the same code serves the 16 kHz path to the transcriber.
//
// The package has no state of its own and no dependencies outside the
// standard library, so the ARI simulator, the media relay, the transcriber and
// the browser tests' checks can all use it.
package audio

// SampleRate is the sample rate of narrowband telephone audio (G.711).
const SampleRate = 8000

// FrameSamples is the number of samples in one 20 ms frame at SampleRate,
// which is also the payload size in bytes of one µ-law RTP packet.
const FrameSamples = SampleRate / 50
