// Package demo runs pretend callers against the embedded Asterisk simulator
// for `llamenos demo`: an admin clicks "simulate a call" and a volunteer's
// browser rings, answers and hears it, with no PBX and no phone line.
package demo

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"math/big"
	"strings"
	"sync"

	"llamenos/api"
	"llamenos/ari/aritest"
	"llamenos/audio"
	"llamenos/e2ee"
)

// probeHz is the tone the demo checks the caller heard: the browser tests
// feed a 1 kHz "microphone".
const probeHz = 1000

// DID is the hotline number the pretend callers dial.
const DID = "+15550100000"

// Callers places pretend calls through a simulator.
type Callers struct {
	sim *aritest.Server
	app string

	mu    sync.Mutex
	calls map[string]*placed
}

type placed struct {
	call  *aritest.Call
	audio string
}

// New serves api.Demo with sim, whose calls enter Stasis app.
func New(sim *aritest.Server, app string) *Callers {
	return &Callers{sim: sim, app: app, calls: map[string]*placed{}}
}

var _ api.Demo = (*Callers)(nil)

// PlaceCall dials the hotline from caller (a random fictional number when
// empty) saying audio: "voice" (a melody), "tone" (440 Hz) or "tones"
// (600 Hz for a second, 1200 Hz for a second, then silence: a message).
func (c *Callers) PlaceCall(_ context.Context, kind, caller string) (api.DemoCall, error) {
	var src audio.Source
	switch kind {
	case "tone":
		src = audio.NewTone(audio.SampleRate, 0.4, 440)
	case "tones":
		src = audio.NewSequence(0.4, audio.SampleRate, 600, 1200)
	default:
		kind = "voice"
		src = audio.NewLoop(Melody(), true)
	}
	if caller == "" {
		n, err := rand.Int(rand.Reader, big.NewInt(10000))
		if err != nil {
			return api.DemoCall{}, err
		}
		// 555-01xx numbers are reserved for fiction.
		caller = fmt.Sprintf("+1555010%04d", n.Int64())
	}
	if _, err := e2ee.NormalizeE164(caller); err != nil {
		return api.DemoCall{}, fmt.Errorf("demo: caller: %w", err)
	}
	call, err := c.sim.PlaceCall(aritest.CallSpec{App: c.app, CallerNumber: caller, DialedNumber: DID, Audio: src})
	if err != nil {
		return api.DemoCall{}, fmt.Errorf("demo: place call: %w", err)
	}
	c.mu.Lock()
	c.calls[call.ChannelID()] = &placed{call: call, audio: kind}
	c.mu.Unlock()
	return c.view(call.ChannelID(), &placed{call: call, audio: kind}), nil
}

// Call reports what a pretend caller has heard so far.
func (c *Callers) Call(id string) (api.DemoCall, error) {
	c.mu.Lock()
	p, ok := c.calls[id]
	c.mu.Unlock()
	if !ok {
		return api.DemoCall{}, api.ErrDemoNoCall
	}
	return c.view(id, p), nil
}

func (c *Callers) view(id string, p *placed) api.DemoCall {
	heard := p.call.Heard()
	ended := false
	select {
	case <-p.call.Done():
		ended = true
	default:
	}
	holds := 0
	played := p.call.Played()
	if played == nil {
		played = []string{}
	}
	for _, m := range played {
		if strings.HasPrefix(m, "moh:") {
			holds++
		}
	}
	return api.DemoCall{
		ID: id, Audio: p.audio, Answered: p.call.Answered(), Ended: ended, HeardPackets: p.call.HeardSamples() / audio.FrameSamples,
		Heard:  []api.Heard{probe(heard)},
		Recent: []api.Heard{probe(heard[max(0, len(heard)-audio.SampleRate):])},
		OnHold: p.call.OnHold(), Holds: holds, Played: played,
	}
}

// probe measures probeHz in pcm.
func probe(pcm []int16) api.Heard {
	level := audio.ToneLevel(pcm, audio.SampleRate, probeHz)
	return api.Heard{Hz: probeHz, Level: round(level), Detected: audio.DetectTone(pcm, audio.SampleRate, probeHz, 0.1)}
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

// HangupCall makes the pretend caller hang up.
func (c *Callers) HangupCall(id string) error {
	c.mu.Lock()
	p, ok := c.calls[id]
	c.mu.Unlock()
	if !ok {
		return api.ErrDemoNoCall
	}
	p.call.Hangup()
	return nil
}

// Asterisk lists the channels and bridges the simulator still holds.
func (c *Callers) Asterisk() api.DemoAsterisk {
	out := api.DemoAsterisk{Channels: []string{}, Bridges: []string{}}
	for _, ch := range c.sim.Channels() {
		out.Channels = append(out.Channels, ch.ID)
	}
	for _, b := range c.sim.Bridges() {
		out.Bridges = append(out.Bridges, b.ID)
	}
	return out
}
