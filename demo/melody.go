package demo

import (
	"math"

	"llamenos/audio"
)

// Melody is the "voice" of a demo caller: a soft four-note phrase, made
// here rather than shipped as a recording, so the demo carries no audio
// files and a newcomer hears clearly when the call is connected.
func Melody() []int16 {
	notes := []float64{523.25, 659.25, 783.99, 659.25, 587.33, 698.46, 880.00, 0} // C5 E5 G5 E5 D5 F5 A5 rest
	const noteSec = 0.45
	per := int(noteSec * audio.SampleRate)
	out := make([]int16, 0, per*len(notes))
	for _, f := range notes {
		for i := 0; i < per; i++ {
			t := float64(i) / audio.SampleRate
			// Quick attack, exponential decay: a bell rather than a beep.
			env := math.Min(1, t/0.01) * math.Exp(-3*t)
			v := 0.0
			if f > 0 {
				v = math.Sin(2*math.Pi*f*t) + 0.3*math.Sin(4*math.Pi*f*t)
			}
			out = append(out, int16(9000*env*v))
		}
	}
	return out
}
