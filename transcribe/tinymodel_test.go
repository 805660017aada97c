package transcribe

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"llamenos/audio"
)

// The tests' whisper model: the layout of whisper.cpp's ggml model files
// (hyperparameters, mel filters, vocabulary, then named tensors) filled
// with random weights, small enough to build in a moment. It recognises
// nothing, but it runs every step of real inference: the mel spectrogram,
// the encoder over 30 s windows, language detection and the decoder with
// its timestamp rules.
type tinyModel struct {
	vocab, audioCtx, state, heads, layers, textCtx, mels int
}

var testModelShape = tinyModel{vocab: 51865, audioCtx: 1500, state: 64, heads: 2, layers: 1, textCtx: 448, mels: 80}

const (
	ggmlF32 = 0
	ggmlF16 = 1
)

// tinyShape has the dimensions of whisper.cpp's official tiny model, for
// benchmarks whose cost should be that of a real model.
var tinyShape = tinyModel{vocab: 51865, audioCtx: 1500, state: 384, heads: 6, layers: 4, textCtx: 448, mels: 80}

// writeTinyModel writes the tests' model to dir and returns its path.
func writeTinyModel(t testing.TB, dir string) string {
	return writeModel(t, dir, "ggml-tiny-random.bin", testModelShape)
}

// writeModel writes a random model of shape m to dir/name.
func writeModel(t testing.TB, dir, name string, m tinyModel) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	put := func(v ...int32) {
		if err := binary.Write(w, binary.LittleEndian, v); err != nil {
			t.Fatal(err)
		}
	}
	// Hyperparameters; ftype 1 keeps the matrices in float16, as the
	// official files do.
	put(ggmlMagic, int32(m.vocab), int32(m.audioCtx), int32(m.state), int32(m.heads), int32(m.layers),
		int32(m.textCtx), int32(m.state), int32(m.heads), int32(m.layers), int32(m.mels), ggmlF16)
	// Mel filters: triangles over the 201 bins of a 400-point FFT.
	const nFFT = 201
	put(int32(m.mels), nFFT)
	filters := make([]float32, m.mels*nFFT)
	for i := range m.mels {
		c := float64(i+1) * nFFT / float64(m.mels+1)
		for k := range nFFT {
			if v := 1 - math.Abs(float64(k)-c)/(nFFT/float64(m.mels+1)); v > 0 {
				filters[i*nFFT+k] = float32(v)
			}
		}
	}
	binary.Write(w, binary.LittleEndian, filters)
	// The vocabulary's text tokens (the special ones whisper.cpp names
	// itself): short words, so the random decoder writes words, and the
	// tokens that whisper.cpp's decoder looks up by text (" ", " -", " '"
	// at their places in the official vocabulary).
	const textTokens = 50257
	named := map[int]string{220: " ", 532: " -", 705: " '"}
	put(textTokens)
	for i := range textTokens {
		word, ok := named[i]
		if !ok {
			word = fmt.Sprintf(" w%d", i)
		}
		put(int32(len(word)))
		w.WriteString(word)
	}
	tensor := func(name string, typ int, fill func(i int) float32, ne ...int) {
		put(int32(len(ne)), int32(len(name)), int32(typ))
		n := 1
		for _, d := range ne {
			put(int32(d))
			n *= d
		}
		w.WriteString(name)
		size := 4
		if typ == ggmlF16 {
			size = 2
		}
		data := make([]byte, 0, n*size)
		for i := range n {
			v := fill(i)
			if typ == ggmlF16 {
				data = binary.LittleEndian.AppendUint16(data, f16(v))
			} else {
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			}
		}
		w.Write(data)
	}
	normal := func(std float64) func(int) float32 {
		return func(int) float32 { return float32(rng.NormFloat64() * std) }
	}
	ones := func(int) float32 { return 1 }
	zeros := func(int) float32 { return 0 }
	s := m.state
	block := func(prefix string, cross bool) {
		tensor(prefix+"mlp_ln.weight", ggmlF32, ones, s)
		tensor(prefix+"mlp_ln.bias", ggmlF32, zeros, s)
		tensor(prefix+"mlp.0.weight", ggmlF16, normal(0.05), s, 4*s)
		tensor(prefix+"mlp.0.bias", ggmlF32, zeros, 4*s)
		tensor(prefix+"mlp.2.weight", ggmlF16, normal(0.05), 4*s, s)
		tensor(prefix+"mlp.2.bias", ggmlF32, zeros, s)
		attn := func(p string) {
			tensor(prefix+p+"_ln.weight", ggmlF32, ones, s)
			tensor(prefix+p+"_ln.bias", ggmlF32, zeros, s)
			tensor(prefix+p+".query.weight", ggmlF16, normal(0.1), s, s)
			tensor(prefix+p+".query.bias", ggmlF32, zeros, s)
			tensor(prefix+p+".key.weight", ggmlF16, normal(0.1), s, s)
			tensor(prefix+p+".value.weight", ggmlF16, normal(0.1), s, s)
			tensor(prefix+p+".value.bias", ggmlF32, zeros, s)
			tensor(prefix+p+".out.weight", ggmlF16, normal(0.1), s, s)
			tensor(prefix+p+".out.bias", ggmlF32, zeros, s)
		}
		attn("attn")
		if cross {
			attn("cross_attn")
		}
	}
	tensor("encoder.positional_embedding", ggmlF32, normal(0.02), s, m.audioCtx)
	tensor("encoder.conv1.weight", ggmlF16, normal(0.1), 3, m.mels, s)
	tensor("encoder.conv1.bias", ggmlF32, zeros, 1, s)
	tensor("encoder.conv2.weight", ggmlF16, normal(0.1), 3, s, s)
	tensor("encoder.conv2.bias", ggmlF32, zeros, 1, s)
	tensor("encoder.ln_post.weight", ggmlF32, ones, s)
	tensor("encoder.ln_post.bias", ggmlF32, zeros, s)
	for i := range m.layers {
		block(fmt.Sprintf("encoder.blocks.%d.", i), false)
	}
	tensor("decoder.positional_embedding", ggmlF32, normal(0.02), s, m.textCtx)
	tensor("decoder.token_embedding.weight", ggmlF16, normal(0.5), s, m.vocab)
	tensor("decoder.ln.weight", ggmlF32, ones, s)
	tensor("decoder.ln.bias", ggmlF32, zeros, s)
	for i := range m.layers {
		block(fmt.Sprintf("decoder.blocks.%d.", i), true)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// f16 is IEEE 754 half precision of v, rounded to nearest even (the
// weights are small normal numbers; subnormals flush to zero).
func f16(v float32) uint16 {
	b := math.Float32bits(v)
	sign := uint16(b>>16) & 0x8000
	exp := int((b>>23)&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case exp <= 0:
		return sign
	case exp >= 31:
		return sign | 0x7c00
	}
	h := uint32(exp)<<10 | mant>>13
	rest := mant & 0x1fff
	if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
		h++ // a carry into the exponent is still the right number
	}
	return sign | uint16(h)
}

// speechLike is secs of a voiced, syllabic signal at 8 kHz, µ-law: a
// 120 Hz pitch with harmonics through two moving formants, four syllables
// a second, pauses between phrases.
func speechLike(secs int) []byte {
	n := secs * 8000
	pcm := make([]int16, n)
	for i := range pcm {
		tm := float64(i) / 8000
		syll := math.Max(0, math.Sin(2*math.Pi*2*tm)) // 4 syllables a second
		if int(tm)%5 == 4 {
			syll = 0 // a pause each fifth second
		}
		f1 := 500 + 200*math.Sin(2*math.Pi*1.3*tm)
		f2 := 1500 + 500*math.Sin(2*math.Pi*0.7*tm)
		var v float64
		for h := 1; h*120 < 3400; h++ {
			f := float64(h) * 120
			g := math.Exp(-math.Pow((f-f1)/150, 2)) + 0.5*math.Exp(-math.Pow((f-f2)/200, 2)) + 0.02
			v += g * math.Sin(2*math.Pi*f*tm)
		}
		pcm[i] = int16(max(-32767, min(32767, 6000*syll*v)))
	}
	return audio.EncodeMulaw(nil, pcm)
}
