package aritest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"llamenos/ari"
	"llamenos/audio"
)

// CallSpec scripts an inbound trunk call.
type CallSpec struct {
	// App is the Stasis application the dialplan sends the call to.
	App string
	// CallerNumber and CallerName are the caller id; DialedNumber is the
	// DID (the channel's dialplan exten).
	CallerNumber string
	CallerName   string
	DialedNumber string
	// Args are the Stasis() arguments after the app name, delivered in
	// StasisStart.args. Default: none.
	Args []string
	// Audio is what the caller says: audio.NewTone, audio.NewLoop (recorded
	// samples), ... at 8 kHz. nil means silence. It is read 20 ms at a time
	// while the caller shares a bridge with an externalMedia channel; when
	// the simulator's media clock falls behind, the frames it skips are
	// read and dropped, as a real line loses what the caller said then.
	Audio audio.Source
	// DTMF digits the caller presses, each at a time after the call is
	// answered (digits before an answer cannot reach Asterisk's app).
	DTMF []DTMF
	// HangupAfter hangs the caller up this long after StasisStart; 0 waits
	// for Call.Hangup (or the app hanging up).
	HangupAfter time.Duration
}

// DTMF is one scripted key press.
type DTMF struct {
	Digit    string        // one of 0-9 * # A-D
	At       time.Duration // after answer
	Duration time.Duration // default 100 ms
}

// ErrAppInactive is returned by PlaceCall when no events socket holds the
// app, where Asterisk's Stasis() would fail with STASISSTATUS=FAILED.
var ErrAppInactive = errors.New("aritest: Stasis application is not active")

// Call is the handle of a scripted caller.
type Call struct {
	s         *Server
	id        string
	spec      CallSpec
	done      chan struct{}
	answeredC chan struct{}

	// guarded by s.mu
	heard      []int16 // ring buffer of received audio
	heardPos   int
	heardFull  bool
	heardTotal int // samples received over the call, however many the buffer keeps
	heardSound int // of which 20 ms frames with sound in them (see HeardSoundFrames)
	answered   bool
	cause      int
	played     []string
	prompts    []*PromptPlay
	continued  *ari.DialplanCEP
	rang       bool
	hangupT    *time.Timer
	dtmfTimers []*time.Timer
	finished   bool
	once       sync.Once
}

// PlaceCall starts an inbound call: the channel appears in state Ring and
// enters spec.App at once (StasisStart).
func (s *Server) PlaceCall(spec CallSpec) (*Call, error) {
	if spec.App == "" {
		return nil, errors.New("aritest: CallSpec.App is required")
	}
	for _, d := range spec.DTMF {
		if !validDigit(d.Digit) {
			return nil, fmt.Errorf("aritest: DTMF digit %q", d.Digit)
		}
	}
	if spec.Audio == nil {
		spec.Audio = audio.Silence{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("aritest: server closed")
	}
	if a := s.apps[spec.App]; a == nil || a.conn == nil {
		return nil, fmt.Errorf("%w: %s", ErrAppInactive, spec.App)
	}
	id := s.newIDLocked()
	c := &Call{
		s: s, id: id, spec: spec,
		done:      make(chan struct{}),
		answeredC: make(chan struct{}),
		heard:     make([]int16, s.opts.HeardSeconds*audio.SampleRate),
	}
	ch := &channel{
		id:           id,
		name:         fmt.Sprintf("PJSIP/trunk-%08x", s.nextID),
		protocolID:   fmt.Sprintf("%016x@127.0.0.1", s.rng.Uint64()),
		kind:         kindCaller,
		state:        ari.StateRing,
		callerName:   spec.CallerName,
		callerNumber: spec.CallerNumber,
		dialplan: ari.DialplanCEP{
			Context: "from-trunk", Exten: spec.DialedNumber, Priority: 2,
			AppName: "Stasis", AppData: joinArgs(spec.App, spec.Args),
		},
		created:  time.Now(),
		app:      spec.App,
		inStasis: true,
		vars:     map[string]string{},
		call:     c,
	}
	s.channels[id] = ch
	s.calls[id] = c
	args := append([]string{}, spec.Args...)
	snap := ch.snapshot(false)
	s.emitLocked([]string{spec.App}, func() ari.Event {
		return &ari.StasisStart{EventBase: base("StasisStart"), Args: args, Channel: snap}
	})
	if spec.HangupAfter > 0 {
		c.hangupT = s.afterLocked(spec.HangupAfter, func() { s.remoteHangupLocked(ch, 16) })
	}
	return c, nil
}

func joinArgs(app string, args []string) string {
	out := app
	for _, a := range args {
		out += "," + a
	}
	return out
}

func validDigit(d string) bool {
	return len(d) == 1 && (d[0] >= '0' && d[0] <= '9' || d[0] == '*' || d[0] == '#' || d[0] >= 'A' && d[0] <= 'D')
}

// ChannelID returns the caller's channel id.
func (c *Call) ChannelID() string { return c.id }

// Done is closed when the caller's channel is destroyed.
func (c *Call) Done() <-chan struct{} { return c.done }

// Hangup hangs the caller up (normal clearing), as a BYE from the trunk.
func (c *Call) Hangup() { c.HangupWithCause(16) }

// HangupWithCause hangs the caller up with a Q.850 cause.
func (c *Call) HangupWithCause(cause int) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if ch := c.s.channels[c.id]; ch != nil {
		c.s.remoteHangupLocked(ch, cause)
	}
}

// SendDTMF makes the caller press digits now, one ChannelDtmfReceived each.
// Like a trunk, it does nothing before the call is answered.
func (c *Call) SendDTMF(digits string, duration time.Duration) error {
	for _, d := range digits {
		if !validDigit(string(d)) {
			return fmt.Errorf("aritest: DTMF digit %q", d)
		}
	}
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ch := c.s.channels[c.id]
	if ch == nil || ch.state != ari.StateUp {
		return nil
	}
	for _, d := range digits {
		c.s.dtmfLocked(ch, string(d), duration)
	}
	return nil
}

func (s *Server) dtmfLocked(ch *channel, digit string, d time.Duration) {
	if d <= 0 {
		d = 100 * time.Millisecond
	}
	snap := ch.snapshot(false)
	s.emitLocked(s.channelAppsLocked(ch), func() ari.Event {
		return &ari.ChannelDtmfReceived{EventBase: base("ChannelDtmfReceived"), Digit: digit, DurationMS: int(d / time.Millisecond), Channel: snap}
	})
}

// WaitAnswered blocks until the app answers the call, or ctx ends, or the
// call ends unanswered.
func (c *Call) WaitAnswered(ctx context.Context) error {
	select {
	case <-c.answeredC:
		return nil
	case <-c.done:
		return errors.New("aritest: call ended unanswered")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Answered reports whether the app answered the call.
func (c *Call) Answered() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.answered
}

// Rang reports whether the app indicated ringing to the caller.
func (c *Call) Rang() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.rang
}

// Cause returns the Q.850 cause the channel was destroyed with (0 while it
// lives).
func (c *Call) Cause() int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.cause
}

// Played lists, in order, what was played to the caller: media URIs of
// channel playbacks and of bridge playbacks while the caller was in the
// bridge, and "moh:CLASS" whenever music on hold started.
func (c *Call) Played() []string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return slices.Clone(c.played)
}

// Prompts returns the sound files of Options.Sounds played to the caller so
// far, oldest first, each as it stands now.
func (c *Call) Prompts() []PromptPlay {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	out := make([]PromptPlay, len(c.prompts))
	for i, p := range c.prompts {
		out[i] = *p
	}
	return out
}

// Playing returns the media URI playing to the caller's channel right now
// by a channel playback, or "" when none is.
func (c *Call) Playing() string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ch := c.s.channels[c.id]
	if ch == nil || ch.playing == nil {
		return ""
	}
	return ch.playing.media[ch.playing.idx]
}

// OnHold reports whether the caller hears music on hold now: on their own
// channel, or on the bridge they are in.
func (c *Call) OnHold() bool {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	ch := c.s.channels[c.id]
	return ch != nil && (ch.moh || ch.bridge != nil && ch.bridge.moh)
}

// ContinuedTo reports where the app sent the call with /continue, if it did.
func (c *Call) ContinuedTo() (ari.DialplanCEP, bool) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.continued == nil {
		return ari.DialplanCEP{}, false
	}
	return *c.continued, true
}

// Heard returns the audio the caller received over the externalMedia RTP
// path (what the app sent back), oldest first, up to Options.HeardSeconds.
func (c *Call) Heard() []int16 {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if !c.heardFull {
		return slices.Clone(c.heard[:c.heardPos])
	}
	out := make([]int16, 0, len(c.heard))
	out = append(out, c.heard[c.heardPos:]...)
	return append(out, c.heard[:c.heardPos]...)
}

// HeardSamples counts the samples the caller received over the whole call;
// Heard keeps only the last Options.HeardSeconds of them.
func (c *Call) HeardSamples() int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.heardTotal
}

// HeardSoundFrames counts the 20 ms frames the caller received over the
// whole call that carry sound: a sample louder than about -39 dBFS (372
// of 32767). Quiet frames (a pause in speech) are not counted, so a
// relay that shortens pauses loses none of these.
func (c *Call) HeardSoundFrames() int {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.heardSound
}

// soundFloor is HeardSoundFrames' threshold.
const soundFloor = 372

func (c *Call) hearLocked(pcm []int16) {
	c.heardTotal += len(pcm)
	for f := pcm; len(f) > 0; {
		n := min(len(f), audio.FrameSamples)
		for _, v := range f[:n] {
			if v > soundFloor || v < -soundFloor {
				c.heardSound++
				break
			}
		}
		f = f[n:]
	}
	for len(pcm) > 0 {
		n := copy(c.heard[c.heardPos:], pcm)
		pcm = pcm[n:]
		c.heardPos += n
		if c.heardPos == len(c.heard) {
			c.heardPos, c.heardFull = 0, true
		}
	}
}

// finish marks the call over; called with s.mu held.
func (c *Call) finish(cause int) {
	c.once.Do(func() {
		c.finished = true
		c.cause = cause
		c.s.cancelLocked(c.hangupT)
		for _, t := range c.dtmfTimers {
			c.s.cancelLocked(t)
		}
		close(c.done)
	})
}

// answerLocked moves a channel to Up and starts its scripted DTMF.
func (s *Server) answerLocked(ch *channel) {
	if ch.state == ari.StateUp {
		return
	}
	ch.state = ari.StateUp
	ch.ringing = false
	snap := ch.snapshot(false)
	s.emitLocked(s.channelAppsLocked(ch), func() ari.Event {
		return &ari.ChannelStateChange{EventBase: base("ChannelStateChange"), Channel: snap}
	})
	if c := ch.call; c != nil && !c.answered {
		c.answered = true
		close(c.answeredC)
		for _, d := range c.spec.DTMF {
			d := d
			c.dtmfTimers = append(c.dtmfTimers, s.afterLocked(d.At, func() {
				if live := s.channels[ch.id]; live == ch {
					s.dtmfLocked(ch, d.Digit, d.Duration)
				}
			}))
		}
	}
}

// remoteHangupLocked is a hangup from the far end (trunk BYE): the request
// carries the Q.850 cause.
func (s *Server) remoteHangupLocked(ch *channel, cause int) {
	if ch.hungUp {
		return
	}
	snap := ch.snapshot(false)
	cs := cause
	s.emitLocked(s.channelAppsLocked(ch), func() ari.Event {
		return &ari.ChannelHangupRequest{EventBase: base("ChannelHangupRequest"), Cause: &cs, Channel: snap}
	})
	s.destroyChannelLocked(ch, cause)
}

// ariHangupLocked is DELETE /channels/{id}: a soft hangup whose request
// event carries the soft-hangup flag, then the given cause on destruction.
func (s *Server) ariHangupLocked(ch *channel, cause int) {
	if ch.hungUp {
		return
	}
	snap := ch.snapshot(false)
	flag, soft := softHangupExplicit, true
	s.emitLocked(s.channelAppsLocked(ch), func() ari.Event {
		return &ari.ChannelHangupRequest{EventBase: base("ChannelHangupRequest"), Cause: &flag, Soft: &soft, Channel: snap}
	})
	s.destroyChannelLocked(ch, cause)
}

// destroyChannelLocked runs Asterisk's teardown order: playbacks finish,
// the channel leaves its bridge, StasisEnd, ChannelDestroyed.
func (s *Server) destroyChannelLocked(ch *channel, cause int) {
	ch.hungUp = true
	apps := s.channelAppsLocked(ch)
	s.stopChannelPlaybacksLocked(ch)
	if b := ch.bridge; b != nil {
		s.leaveBridgeLocked(ch, b)
	}
	if ch.inStasis {
		ch.inStasis = false
		snap := ch.snapshot(false)
		s.emitLocked([]string{ch.app}, func() ari.Event {
			return &ari.StasisEnd{EventBase: base("StasisEnd"), Channel: snap}
		})
	}
	snap := ch.snapshot(false)
	txt := causeText(cause)
	s.emitLocked(apps, func() ari.Event {
		return &ari.ChannelDestroyed{EventBase: base("ChannelDestroyed"), Cause: cause, CauseTxt: txt, Channel: snap}
	})
	s.dropChannelLocked(ch, cause)
}

// dropChannelLocked forgets a channel without events.
func (s *Server) dropChannelLocked(ch *channel, cause int) {
	delete(s.channels, ch.id)
	for _, a := range s.apps {
		delete(a.channels, ch.id)
	}
	if ch.rtp != nil {
		ch.rtp.conn.Close()
	}
	if ch.call != nil {
		ch.call.finish(cause)
		delete(s.calls, ch.id)
	}
}

// enterBridgeLocked adds ch to b (moving it out of any other bridge).
func (s *Server) enterBridgeLocked(ch *channel, b *bridge) {
	if ch.bridge == b {
		return
	}
	if ch.bridge != nil {
		s.leaveBridgeLocked(ch, ch.bridge)
	}
	ch.bridge = b
	b.members = append(b.members, ch)
	if ch.app != "" {
		// A Stasis channel entering a bridge subscribes its app to it.
		s.appLocked(ch.app).bridges[b.id] = true
	}
	if ch.moh {
		ch.moh = false // bridged channels hear the bridge, not their own MOH
	}
	bs, cs := b.snapshot(), ch.snapshot(false)
	s.emitLocked(append(s.bridgeAppsLocked(b), s.channelAppsLocked(ch)...), func() ari.Event {
		c := cs
		return &ari.ChannelEnteredBridge{EventBase: base("ChannelEnteredBridge"), Bridge: bs, Channel: &c}
	})
}

func (s *Server) leaveBridgeLocked(ch *channel, b *bridge) {
	b.remove(ch)
	ch.bridge = nil
	bs, cs := b.snapshot(), ch.snapshot(false)
	s.emitLocked(append(s.bridgeAppsLocked(b), s.channelAppsLocked(ch)...), func() ari.Event {
		return &ari.ChannelLeftBridge{EventBase: base("ChannelLeftBridge"), Bridge: bs, Channel: cs}
	})
}
