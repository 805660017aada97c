package hotline

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime/debug"
	"sort"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"llamenos/ari"
	"llamenos/mailbox"
	"llamenos/rtc"
	"llamenos/store"
)

// phase is where a call is in its life; it only moves forward.
type phase int

const (
	phStart     phase = iota // screening: ban and rate limit, nothing played yet
	phMenu                   // language menu
	phCaptcha                // voice CAPTCHA
	phQueued                 // greeting and hold music; volunteers ringing
	phConnected              // answered: media being set up or up
	phVoicemail              // nobody answered: the caller leaves a message
	phClosing                // a last prompt plays, then the caller is hung up
	phDone
)

// Requests from the API, answered by the call's goroutine in arrival order.
type (
	request      interface{}
	answerReq    struct{ pubkey string }
	declineReq   struct{ pubkey string }
	hangupReq    struct{ pubkey string }
	offerReq     struct{ pubkey, sdp string }
	candidateReq struct {
		pubkey    string
		candidate []byte
	}
	banReq struct {
		actor  string
		reason []byte
	}
)

type reqMsg struct {
	ctx   context.Context
	r     request
	reply chan reqResult
}

type reqResult struct {
	v   any
	err error
}

// Signals from the engine, the relay and timers.
type (
	refreshMsg     struct{}
	mediaCheckMsg  struct{}
	browserGoneMsg struct{ pubkey string }
	relayStateMsg  struct {
		relay *rtc.Relay
		state rtc.State
	}
	timerMsg struct {
		kind timerKind
		gen  uint64
	}
	// resyncMsg carries what exists in Asterisk after a (re)connection; a
	// nil set means that part of the snapshot could not be fetched.
	resyncMsg struct{ channels, bridges map[string]bool }
)

type timerKind int

const (
	tQueue     timerKind = iota // queue timeout
	tRefresh                    // re-read eligibility while waiting
	tBrowser                    // browser connect timeout / grace
	tMedia                      // externalMedia channel must enter the app
	tMenu                       // language menu digit
	tCaptcha                    // CAPTCHA digits
	tPrompt                     // bound on a closing prompt (or the voicemail prompt)
	tVoicemail                  // wall-clock bound on a voicemail
	tMediaCut                   // Asterisk cut the media channel: wait for the caller's line
)

type timerSlot struct {
	t   Timer
	gen uint64
}

type pendingPlayback struct {
	id   string
	then func()
}

// mediaMarker is the externalMedia `data` (StasisStart args) of the
// engine's own media channels, so a restarted daemon recognises them.
const mediaMarker = "llamenos-media"

// mediaStartTimeout bounds the wait for the externalMedia channel's
// StasisStart; Asterisk takes milliseconds.
const mediaStartTimeout = 5 * time.Second

// mediaCutWait is how long a call whose media channel Asterisk hung up
// (a soft hangup: Asterisk stopping, or a CLI command) waits for the
// caller's line to go as well before it calls that a media failure. A
// stopping Asterisk cuts every channel at once, and the media channel's
// events may come first; they come within milliseconds of each other.
const mediaCutWait = time.Second

// call is one caller's call. Everything below the first block is owned by
// the call's goroutine (run); other goroutines reach it only through mbox.
type call struct {
	e        *Engine
	id       string
	sub      *ari.Subscription
	chanID   string
	chanName string
	chanUp   bool // adopted after a restart, already answered: re-queued as it is
	epoch    int  // Engine.epoch when the call started
	// overflow: the call arrived with Config.MaxCalls calls live; after
	// screening the caller hears Prompts.Unavailable. Set before run.
	overflow bool
	log      *slog.Logger
	mbox     *mailbox.Box[any]
	done     chan struct{}
	active   atomic.Value // ActiveCall, read by Engine.Active

	// The caller's number, copied out of the StasisStart into a buffer of
	// the call's own. It is needed only to screen the call (hashed, sealed
	// to the admins) and wiped as soon as that is done, whatever the
	// outcome. It is never logged, never sent to a browser, and stored only
	// sealed to admins.
	number    []byte
	hash      store.Hash
	anonymous bool
	sealed    []byte
	settings  store.Settings
	lang      string

	phase                                    phase
	startedAt, queuedAt, answeredAt, endedAt time.Time
	rangAt                                   time.Time // when the answerer's ring started
	outcome                                  store.Outcome
	recorded                                 bool
	callerGone                               bool
	callerUp                                 bool // answered, so prompts can play
	hangupReason                             string

	// lineCut: Asterisk itself asked the caller's channel to hang up (a
	// soft hangup the call did not request): not the caller's hangup.
	lineCut bool

	ringing  map[string]time.Time // ringing now, since when
	rung     map[string]bool      // ever rung
	declined map[string]bool
	answerer string
	// ended: Ended was sent to the answerer (set just before it is sent;
	// read by Engine.CurrentCall).
	ended atomic.Bool
	// rings is ringing as Engine.Ringing reads it, published before every
	// Ring and RingStop, so a browser told the state and then the changes
	// after it misses none.
	rings atomic.Pointer[ringSnapshot]

	pbSeq int
	pb    *pendingPlayback

	menuIdx      int
	captchaWant  string
	captchaGot   string
	captchaTries int

	relay         *rtc.Relay
	audio         rtc.Stats // what the call's closed relays carried, summed
	relayed       bool      // the call had a relay
	relayState    rtc.State
	bridgeID      string
	mediaID       string
	mediaSeq      int
	mediaInStasis bool
	// mediaCut: Asterisk asked the media channel to hang up (a soft
	// hangup request), so its end may be part of Asterisk stopping.
	mediaCut bool
	bridged  bool
	// mediaDown: the volunteer's WebRTC connection is disconnected, failed
	// or closed (it may come back, or a new offer may replace it). While it
	// is and the caller is bridged, the bridge plays music on hold (onHold).
	mediaDown bool
	onHold    bool
	// mediaCheck re-reads the volunteer's audio while mediaDown, on real
	// time like the relay's packet stamps (mediaCheckEvery).
	mediaCheck *time.Timer
	// browserBy is when the running tBrowser timer (connect timeout or
	// grace) runs out, by the engine's clock; zero while it is not armed.
	browserBy time.Time

	// vm captures the caller's message while phVoicemail records.
	vm *capture
	// transcribed: the call is transcribed (the setting was on and this box
	// transcribes when it was queued); tr captures both sides once answered.
	transcribed bool
	tr          *capture

	timers   map[timerKind]*timerSlot
	timerGen uint64
}

func newCall(e *Engine, id string, sub *ari.Subscription, ch ari.Channel, adopted bool) *call {
	c := &call{
		e:        e,
		id:       id,
		sub:      sub,
		chanID:   ch.ID,
		chanName: ch.Name,
		chanUp:   adopted && ch.State == ari.StateUp,
		log:      e.log.With("call", id, "channel", ch.ID),
		mbox:     mailbox.New[any](0),
		done:     make(chan struct{}),
		number:   bytes.Clone(ch.Caller.Number.Bytes()),
		outcome:  store.OutcomeInProgress,
		ringing:  map[string]time.Time{},
		rung:     map[string]bool{},
		declined: map[string]bool{},
		timers:   map[timerKind]*timerSlot{},
	}
	c.active.Store(ActiveCall{})
	return c
}

// newCallID draws a random UUID: call ids are ours, never Asterisk's or
// anything derived from the caller.
func newCallID(r io.Reader) (string, error) {
	u, err := uuid.NewRandomFromReader(r)
	if err != nil {
		return "", fmt.Errorf("hotline: call id: %w", err)
	}
	return u.String(), nil
}

// request posts r to the call's goroutine and waits for its answer.
func (c *call) request(ctx context.Context, r request) (any, error) {
	reply := make(chan reqResult, 1)
	c.mbox.Push(reqMsg{ctx: ctx, r: r, reply: reply})
	select {
	case res := <-reply:
		return res.v, res.err
	case <-c.done:
		// The reply is sent before done closes; prefer it if it is there.
		select {
		case res := <-reply:
			return res.v, res.err
		default:
			return nil, ErrNoCall
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("hotline: call %s: %w", c.id, ctx.Err())
	}
}

func (c *call) now() time.Time { return c.e.d.Now() }

// ctx bounds one ARI or store operation of the call.
func (c *call) ctx() context.Context { return c.e.opCtx }

func (c *call) run() {
	defer c.e.wg.Done()
	defer c.cleanup()
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("call goroutine panicked; tearing the call down", "panic", r, "stack", string(debug.Stack()))
			c.afterPanic()
		}
	}()
	c.begin()
	events := c.sub.Events()
	for c.phase != phDone {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil // the ARI client closed; the engine is stopping
				continue
			}
			c.onEvent(ev)
		case <-c.mbox.Ready():
			for c.phase != phDone {
				m, ok := c.mbox.Pop()
				if !ok {
					break
				}
				c.onMsg(m)
			}
		case <-c.e.stop:
			if c.phase == phVoicemail {
				// What the caller said so far is kept.
				c.finishVoicemail("the daemon is stopping")
			}
			c.end(endSpec{outcome: store.OutcomeFailed, ringStop: RingStopEnded, ended: EndError, now: true})
		}
	}
}

// afterPanic does what it can to leave nothing behind: a second panic here
// is only logged.
func (c *call) afterPanic() {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("teardown after panic failed", "panic", r)
		}
	}()
	c.phase = phStart // let end run in full
	c.end(endSpec{outcome: store.OutcomeFailed, ringStop: RingStopEnded, ended: EndError, now: true})
}

func (c *call) cleanup() {
	c.disarmAll()
	c.stopMediaCheck()
	for _, cp := range []*capture{c.vm, c.tr} {
		if cp != nil {
			// Only after a panic: finishVoicemail and end take them
			// otherwise.
			cp.wait()
			cp.discard()
		}
	}
	c.vm, c.tr = nil, nil
	if c.relay != nil {
		_ = c.relay.Close()
		c.relay = nil
	}
	c.sub.Close()
	c.rings.Store(nil)
	wasActive := c.active.Load().(ActiveCall).State != ""
	c.active.Store(ActiveCall{})
	c.wipeNumber() // in case the call ended before its screening did
	freed := c.e.unregister(c)
	close(c.done)
	if wasActive || freed {
		c.e.d.Notify.CallsChanged()
	}
	if freed {
		// The volunteer is free again: waiting calls may ring them.
		c.e.pokeAll(nil)
	}
}

// wipeNumber zeroes the caller's number.
func (c *call) wipeNumber() {
	clear(c.number)
	c.number = nil
}

func (c *call) setActive(state string) {
	if state == "" {
		c.active.Store(ActiveCall{})
		return
	}
	c.active.Store(ActiveCall{CallID: c.id, State: state, StartedAt: c.startedAt, AnsweredBy: c.answerer})
}

// ---- timers ----

func (c *call) arm(k timerKind, d time.Duration) {
	c.disarm(k)
	c.timerGen++
	gen, mbox := c.timerGen, c.mbox
	c.timers[k] = &timerSlot{gen: gen, t: c.e.d.Clock.AfterFunc(d, func() { mbox.Push(timerMsg{kind: k, gen: gen}) })}
}

func (c *call) armed(k timerKind) bool { return c.timers[k] != nil }

func (c *call) disarm(k timerKind) {
	if k == tBrowser {
		c.browserBy = time.Time{}
	}
	if s := c.timers[k]; s != nil {
		s.t.Stop()
		delete(c.timers, k)
	}
}

func (c *call) disarmAll() {
	for k := range c.timers {
		c.disarm(k)
	}
}

// fired reports whether m is the live firing of its timer (not one that was
// disarmed or re-armed after it fired).
func (c *call) fired(m timerMsg) bool {
	s := c.timers[m.kind]
	if s == nil || s.gen != m.gen {
		return false
	}
	delete(c.timers, m.kind)
	if m.kind == tBrowser {
		c.browserBy = time.Time{}
	}
	return true
}

// ---- dispatch ----

// onEvent handles one event of the call's subscription, then wipes the
// caller ids it carries.
func (c *call) onEvent(ev ari.Event) {
	defer ari.WipeEvent(ev)
	switch ev := ev.(type) {
	case *ari.StasisStart:
		if ev.Channel.ID == c.mediaID && c.mediaID != "" {
			c.onMediaStart()
		}
	case *ari.ChannelHangupRequest:
		// The caller's own hangup is a hard request (a Q.850 cause); a soft
		// one comes from Asterisk (stopping, a CLI or another app). The
		// call's own hangup is sent only once it is done.
		if ev.Soft != nil && *ev.Soft {
			switch {
			case ev.Channel.ID == c.chanID:
				c.lineCut = true
			case ev.Channel.ID == c.mediaID && c.mediaID != "":
				c.mediaCut = true
			}
		}
	case *ari.StasisEnd:
		c.onChannelGone(ev.Channel.ID, c.lineCut)
	case *ari.ChannelDestroyed:
		c.onChannelGone(ev.Channel.ID, c.lineCut)
	case *ari.BridgeDestroyed:
		if ev.Bridge.ID == c.bridgeID && c.bridgeID != "" {
			c.e.disown(ari.BridgeKey(c.bridgeID))
			c.bridgeID = ""
			if !c.armed(tMediaCut) { // already waiting for the caller's line
				c.mediaLost("the bridge was destroyed")
			}
		}
	case *ari.PlaybackFinished:
		c.onPlaybackDone(ev.Playback.ID)
	case *ari.ChannelDtmfReceived:
		if ev.Channel.ID == c.chanID {
			c.onDigit(ev.Digit)
		}
	}
}

func (c *call) onMsg(m any) {
	switch m := m.(type) {
	case reqMsg:
		c.onRequest(m)
	case refreshMsg:
		if c.phase == phQueued {
			c.refreshRing()
		}
	case browserGoneMsg:
		if c.phase == phConnected && m.pubkey == c.answerer && !c.armed(tBrowser) {
			c.log.Info("volunteer's last browser socket closed; grace period started", "grace", c.e.cfg.BrowserGrace)
			c.armBrowser(c.e.cfg.BrowserGrace, false)
		}
	case relayStateMsg:
		if m.relay == c.relay && c.relay != nil {
			c.onRelayState(m.state)
		}
	case mediaCheckMsg:
		c.mediaCheck = nil
		c.checkMedia()
	case timerMsg:
		if c.fired(m) {
			c.onTimer(m.kind)
		}
	case resyncMsg:
		c.onResync(m)
	case beatMsg:
		c.e.beatAnswered(c)
	case vmEndMsg:
		c.finishVoicemail(m.why)
	}
}

func (c *call) onRequest(m reqMsg) {
	if err := m.ctx.Err(); err != nil {
		m.reply <- reqResult{err: fmt.Errorf("hotline: call %s: %w", c.id, err)}
		return
	}
	var (
		v     any
		err   error
		after func()
	)
	switch r := m.r.(type) {
	case *answerReq:
		after, err = c.onAnswer(r.pubkey)
	case *declineReq:
		err = c.onDecline(r.pubkey)
	case *hangupReq:
		after, err = c.onHangup(r.pubkey)
	case *offerReq:
		v, err = c.onOffer(m.ctx, r.pubkey, r.sdp)
	case *candidateReq:
		err = c.onCandidate(r.pubkey, r.candidate)
	case *banReq:
		after, err = c.onBan(r.actor, r.reason)
	default:
		err = fmt.Errorf("hotline: unknown request %T", m.r)
	}
	m.reply <- reqResult{v: v, err: err}
	if after != nil {
		after()
	}
}

// ---- the caller's way in ----

func (c *call) begin() {
	c.startedAt = c.now()
	res, err := c.screen()
	if err != nil {
		c.log.Error("screening the call failed", "err", err)
		c.fail("screening")
		return
	}
	switch {
	case res.banned:
		// Before anything plays: no answer, no prompt, no ring.
		c.log.Info("banned caller rejected")
		c.end(endSpec{outcome: store.OutcomeBanned, hangup: ari.ReasonRejected})
	case res.limited:
		c.log.Info("caller over the rate limit")
		if c.answerCaller() {
			c.end(endSpec{outcome: store.OutcomeRateLimited, prompt: c.e.cfg.Prompts.Busy})
		}
	case c.overflow:
		c.e.refused.Add(1)
		c.log.Warn("the hotline is at its call limit; the caller hears nobody is available", "max_calls", c.e.cfg.MaxCalls)
		if c.answerCaller() {
			c.end(endSpec{outcome: store.OutcomeUnanswered, prompt: c.e.cfg.Prompts.Unavailable})
		}
	case c.chanUp:
		// Adopted after a restart while waiting or talking: back in the
		// queue, without the greeting again.
		c.callerUp = true
		c.stopOrphanedPlayback()
		c.queue()
	default:
		if !c.answerCaller() {
			return
		}
		c.afterAnswer()
	}
}

// fail ends a call that broke before it was answered by a volunteer.
func (c *call) fail(step string) {
	c.log.Warn("ending the call after a failure", "step", step)
	c.end(endSpec{outcome: store.OutcomeFailed, ringStop: RingStopEnded, ended: EndError, prompt: c.e.cfg.Prompts.Error})
}

// answerCaller answers the caller's channel; false if the call is over.
func (c *call) answerCaller() bool {
	if err := c.e.d.ARI.Answer(c.ctx(), c.chanID); err != nil {
		if ari.IsNotFound(err) {
			c.callerGone = true
			c.end(endSpec{outcome: store.OutcomeAbandoned})
			return false
		}
		c.log.Error("answer the caller", "err", err)
		c.end(endSpec{outcome: store.OutcomeFailed})
		return false
	}
	c.callerUp = true
	return true
}

func (c *call) afterAnswer() {
	switch {
	case len(c.settings.Languages) > 1:
		c.startMenu()
	case c.settings.CaptchaEnabled:
		c.startCaptcha()
	default:
		c.queue()
	}
}

// ---- queue and ringing ----

func (c *call) queue() {
	c.phase = phQueued
	c.queuedAt = c.now()
	if c.settings.VoicemailMode == store.VoicemailAlways {
		c.startVoicemail()
		return
	}
	if c.settings.Recording && c.e.pipe.Transcribes() && !c.chanUp {
		// The caller hears that the call is transcribed before anyone can
		// answer: the rings start after the announcement (none when the
		// caller goes to voicemail at once).
		if elig, err := c.e.eligible(c.ctx(), c.now()); err == nil && len(elig) == 0 {
			c.log.Info("nobody is available to answer")
			c.unanswered()
			return
		}
		c.transcribed = true
		c.playThen(sounds(c.e.cfg.Prompts.Transcribed), c.lang, func() {
			if c.phase == phQueued {
				c.ringQueue()
			}
		})
		return
	}
	c.ringQueue()
}

// ringQueue plays the greeting and rings whoever is eligible.
func (c *call) ringQueue() {
	elig, err := c.e.eligible(c.ctx(), c.now())
	if err != nil {
		c.log.Error("read who is eligible", "err", err)
		c.fail("routing")
		return
	}
	if len(elig) == 0 {
		c.log.Info("nobody is available to answer")
		c.unanswered()
		return
	}
	if c.chanUp {
		c.startMOH()
	} else {
		c.playThen(sounds(c.e.cfg.Prompts.Greeting), c.lang, func() {
			if c.phase == phQueued {
				c.startMOH()
			}
		})
	}
	// Visible in Active before anyone hears the ring.
	c.setActive(StateRinging)
	c.ring(elig)
	c.e.d.Notify.CallsChanged()
	c.arm(tQueue, time.Duration(c.settings.QueueTimeoutSeconds)*time.Second)
	c.arm(tRefresh, c.e.cfg.RingRefresh)
}

func (c *call) startMOH() {
	if err := c.e.d.ARI.StartChannelMOH(c.ctx(), c.chanID, c.e.cfg.MOHClass); err != nil && !ari.IsNotFound(err) {
		c.log.Warn("start music on hold", "err", err)
	}
}

func (c *call) stopMOH() {
	if err := c.e.d.ARI.StopChannelMOH(c.ctx(), c.chanID); err != nil && !ari.IsNotFound(err) {
		c.log.Debug("stop music on hold", "err", err)
	}
}

// unanswered: nobody can answer, or nobody did in time. The caller leaves
// a voicemail, unless the hotline takes none.
func (c *call) unanswered() {
	if c.settings.VoicemailMode != store.VoicemailNever {
		c.startVoicemail()
		return
	}
	c.end(endSpec{outcome: store.OutcomeUnanswered, ringStop: RingStopTimeout, prompt: c.e.cfg.Prompts.Unavailable})
}

// ringSnapshot is who a call rings, since when: an immutable copy.
type ringSnapshot struct {
	startedAt time.Time
	at        map[string]time.Time
}

// publishRings makes the ring set visible to Engine.Ringing. Call it after
// every change of c.ringing and before notifying the change.
func (c *call) publishRings() {
	if len(c.ringing) == 0 {
		c.rings.Store(nil)
		return
	}
	c.rings.Store(&ringSnapshot{startedAt: c.startedAt, at: maps.Clone(c.ringing)})
}

func (c *call) isRinging(pk string) bool {
	_, ok := c.ringing[pk]
	return ok
}

// ring rings whoever of elig is not ringing yet and has not declined.
func (c *call) ring(elig map[string]bool) {
	var add []string
	for pk := range elig {
		if !c.isRinging(pk) && !c.declined[pk] {
			add = append(add, pk)
		}
	}
	if len(add) == 0 {
		return
	}
	sort.Strings(add)
	now := c.now()
	for _, pk := range add {
		c.ringing[pk] = now
		c.rung[pk] = true
	}
	c.publishRings()
	c.e.d.Notify.Ring(add, c.id, c.startedAt, now)
}

// refreshRing brings the ring set in line with who is eligible now.
func (c *call) refreshRing() {
	elig, err := c.e.eligible(c.ctx(), c.now())
	if err != nil {
		c.log.Warn("re-read who is eligible", "err", err)
		return
	}
	var stop []string
	for pk := range c.ringing {
		if !elig[pk] {
			stop = append(stop, pk)
		}
	}
	if len(stop) > 0 {
		sort.Strings(stop)
		for _, pk := range stop {
			delete(c.ringing, pk)
		}
		c.publishRings()
		c.e.d.Notify.RingStop(stop, c.id, RingStopUnavailable)
	}
	c.ring(elig)
}

func (c *call) stopRinging(reason string) {
	if len(c.ringing) == 0 {
		return
	}
	pks := make([]string, 0, len(c.ringing))
	for pk := range c.ringing {
		pks = append(pks, pk)
	}
	sort.Strings(pks)
	clear(c.ringing)
	c.publishRings()
	c.e.d.Notify.RingStop(pks, c.id, reason)
}

// ---- requests ----

func (c *call) onAnswer(pk string) (func(), error) {
	switch {
	case c.phase >= phClosing:
		return nil, ErrNoCall
	case !c.rung[pk]:
		return nil, ErrNotRung
	case c.answerer != "":
		return nil, ErrAlreadyAnswered
	case !c.isRinging(pk):
		return nil, ErrNotRung
	case !c.e.claim(pk, c):
		delete(c.ringing, pk)
		c.publishRings()
		c.e.d.Notify.RingStop([]string{pk}, c.id, RingStopUnavailable)
		return nil, ErrBusy
	}
	c.answerer = pk
	c.answeredAt = c.now()
	c.rangAt = c.ringing[pk]
	c.phase = phConnected
	delete(c.ringing, pk)
	c.publishRings()
	return c.connect, nil
}

func (c *call) onDecline(pk string) error {
	switch {
	case c.phase >= phClosing:
		return ErrNoCall
	case !c.rung[pk]:
		return ErrNotRung
	case c.answerer != "" && c.answerer != pk:
		return ErrAlreadyAnswered
	case !c.isRinging(pk):
		return ErrNotRung
	}
	delete(c.ringing, pk)
	c.declined[pk] = true
	c.publishRings()
	c.e.d.Notify.RingStop([]string{pk}, c.id, RingStopDeclined)
	return nil
}

func (c *call) onHangup(pk string) (func(), error) {
	if c.phase >= phClosing {
		return nil, ErrNoCall
	}
	if c.answerer == "" || pk != c.answerer {
		return nil, ErrNotAnswerer
	}
	return func() {
		c.log.Info("volunteer hung up")
		c.end(endSpec{ended: EndVolunteerHungUp, hangup: ari.ReasonNormal})
	}, nil
}

func (c *call) onOffer(ctx context.Context, pk, sdp string) (string, error) {
	if c.phase != phConnected || c.relay == nil {
		return "", ErrNoCall
	}
	if pk != c.answerer {
		return "", ErrNotAnswerer
	}
	answer, err := c.relay.HandleOffer(ctx, sdp)
	if err != nil {
		return "", fmt.Errorf("hotline: call %s: offer: %w", c.id, signalError(err))
	}
	// A new PeerConnection gets the full connect time, or what is left of
	// a running grace if that is longer: a volunteer back from a reload may
	// try more than once within the grace. It recovers a lost browser when
	// it connects.
	c.armBrowser(c.e.cfg.ConnectTimeout, true)
	return answer, nil
}

func (c *call) onCandidate(pk string, cand []byte) error {
	if c.phase != phConnected || c.relay == nil {
		return ErrNoCall
	}
	if pk != c.answerer {
		return ErrNotAnswerer
	}
	if err := c.relay.AddICECandidate(cand); err != nil {
		if isStaleCandidate(err) {
			return nil
		}
		return fmt.Errorf("hotline: call %s: candidate: %w", c.id, signalError(err))
	}
	return nil
}

func (c *call) onBan(actor string, reason []byte) (func(), error) {
	if c.phase >= phClosing {
		// The record is being finalised: ban from the stored record.
		return nil, ErrNoCall
	}
	if actor == "" || (actor != c.answerer && !c.e.isAdmin(c.ctx(), actor)) {
		return nil, errNotYours
	}
	if c.anonymous {
		return nil, ErrNotBannable
	}
	if err := c.e.writeBan(c.ctx(), c.id, c.hash, c.sealed, reason, actor); err != nil {
		return nil, err
	}
	return func() {
		c.log.Info("caller banned during the call")
		c.end(endSpec{outcome: store.OutcomeBanned, ringStop: RingStopEnded, ended: EndBanned, hangup: ari.ReasonNormal})
	}, nil
}

// ---- answered ----

// connect runs after the winning answer was acknowledged.
func (c *call) connect() {
	c.disarm(tQueue)
	c.disarm(tRefresh)
	c.stopRinging(RingStopAnsweredElsewhere)
	c.e.d.Notify.RingStop([]string{c.answerer}, c.id, RingStopAnswered)
	c.stopPlayback()
	c.stopMOH()
	c.setActive(StateConnected)
	c.writeAnswered()
	c.e.d.Notify.CallsChanged()
	c.e.pokeAll(c) // the winner is busy now: other calls stop ringing them
	c.log.Info("call answered", "volunteer", c.answerer, "queue_wait", c.answeredAt.Sub(c.queuedAt).Round(time.Millisecond))
	c.e.d.Notify.Connected(c.answerer, c.id)
	if err := c.setupMedia(); err != nil {
		c.log.Error("set up the call's media", "err", err)
		c.end(endSpec{ended: EndError, prompt: c.e.cfg.Prompts.Error})
		return
	}
	c.armBrowser(c.e.cfg.ConnectTimeout, false)
}

// armBrowser arms tBrowser to run out in d. keepLater: a running timer
// that runs out later is left as it is.
func (c *call) armBrowser(d time.Duration, keepLater bool) {
	by := c.now().Add(d)
	if keepLater && c.armed(tBrowser) && c.browserBy.After(by) {
		return
	}
	c.arm(tBrowser, d)
	c.browserBy = by
}

func (c *call) onRelayState(s rtc.State) {
	c.relayState = s
	switch s {
	case rtc.StateConnected:
		c.disarm(tBrowser)
		c.mediaDown = false
		c.log.Info("volunteer's browser connected")
	case rtc.StateDisconnected, rtc.StateFailed, rtc.StateClosed:
		c.mediaDown = true
		if !c.armed(tBrowser) {
			c.log.Info("volunteer's browser connection lost; grace period started", "state", s.String(), "grace", c.e.cfg.BrowserGrace)
			c.armBrowser(c.e.cfg.BrowserGrace, false)
		}
	}
	c.checkMedia()
}

// Music on hold while the volunteer's media is down.
const (
	// holdAfter: the volunteer's audio is missing when nothing arrived for
	// this long (a browser sends a packet every 20 ms, muted or not).
	holdAfter = time.Second
	// mediaCheckEvery: how often a call whose relay reports the browser
	// lost looks at the audio again.
	mediaCheckEvery = 500 * time.Millisecond
)

// checkMedia puts the caller on hold while the volunteer's media is down,
// so a caller whose volunteer is reconnecting (a reload, a crash, a network
// change) hears that the call goes on, not silence. Down is the relay
// reporting the browser disconnected, failed or closed with no audio from
// it for holdAfter: ICE can report a connection lost while the audio still
// flows on another candidate pair, and that is no reason to play music
// over the conversation. While the relay reports it lost, the audio is
// looked at again every mediaCheckEvery, and the grace is started again if
// it ran out while the audio flowed and the audio then stopped.
func (c *call) checkMedia() {
	c.stopMediaCheck()
	if c.phase != phConnected {
		return
	}
	missing := c.mediaDown && !c.browserAudioWithin(holdAfter)
	if missing && !c.armed(tBrowser) {
		c.log.Info("volunteer's audio stopped; grace period started", "grace", c.e.cfg.BrowserGrace)
		c.armBrowser(c.e.cfg.BrowserGrace, false)
	}
	c.syncHold(missing)
	if c.mediaDown {
		mbox := c.mbox
		c.mediaCheck = time.AfterFunc(mediaCheckEvery, func() { mbox.Push(mediaCheckMsg{}) })
	}
}

func (c *call) stopMediaCheck() {
	if c.mediaCheck != nil {
		c.mediaCheck.Stop()
		c.mediaCheck = nil
	}
}

// syncHold plays music on hold to the caller, or stops it. It plays on the
// bridge (a bridged channel hears the bridge, not its own hold music), so
// it waits for the caller to be bridged; the volunteer's side hears it
// too, which nobody does while their media is down.
func (c *call) syncHold(want bool) {
	want = want && c.phase == phConnected && c.bridged && c.bridgeID != "" && !c.callerGone
	switch {
	case want && !c.onHold:
		if err := c.e.d.ARI.StartBridgeMOH(c.ctx(), c.bridgeID, c.e.cfg.MOHClass); err != nil {
			c.log.Warn("start music on hold for the caller", "err", err)
			return
		}
		c.onHold = true
		c.log.Info("volunteer's media is down; the caller hears music on hold")
	case !want && c.onHold:
		c.onHold = false
		if c.bridgeID == "" {
			return // destroyed with its music
		}
		if err := c.e.d.ARI.StopBridgeMOH(c.ctx(), c.bridgeID); err != nil && !ari.IsNotFound(err) {
			c.log.Warn("stop music on hold for the caller", "err", err)
			return
		}
		c.log.Info("volunteer's media is back; music on hold stopped")
	}
}

// browserAudioFresh reports whether the volunteer's audio still arrives:
// a browser whose signaling socket closed, or whose connection ICE reports
// lost while the audio flows on another candidate pair, may still be
// talking.
func (c *call) browserAudioFresh() bool { return c.browserAudioWithin(2 * time.Second) }

// browserAudioWithin reports whether the volunteer's audio arrived in the
// last d.
func (c *call) browserAudioWithin(d time.Duration) bool {
	if c.relay == nil || c.relayState == rtc.StateClosed {
		return false
	}
	// The relay stamps packets with the real time, not the engine's Clock.
	last := c.relay.Stats().FromBrowser.Last
	return !last.IsZero() && time.Since(last) < d
}

// ---- events ----

// onChannelGone handles the end of one of the call's channels. lost: the
// caller's channel went without the caller hanging up, as far as the call
// can tell (Asterisk hung it up, or it vanished while events were down).
func (c *call) onChannelGone(id string, lost bool) {
	switch {
	case id == c.chanID:
		if c.callerGone {
			return
		}
		c.callerGone = true
		switch {
		case c.phase == phClosing:
			c.finish()
		case c.phase == phVoicemail:
			c.finishVoicemail("the caller hung up")
		case lost && c.phase == phConnected:
			c.log.Warn("the line to the caller was lost")
			c.end(endSpec{ended: EndCallerLost})
		case lost:
			c.log.Warn("the line to the caller was lost before an answer")
			c.end(endSpec{outcome: store.OutcomeFailed, ringStop: RingStopEnded})
		case c.phase == phConnected:
			c.log.Info("caller hung up")
			c.end(endSpec{ended: EndCallerHungUp})
		default:
			c.log.Info("caller hung up before an answer")
			c.end(endSpec{outcome: store.OutcomeAbandoned, ringStop: RingStopCallerHungUp})
		}
	case id == c.mediaID && c.mediaID != "":
		cut := c.mediaCut
		c.e.disown(ari.ChannelKey(c.mediaID))
		c.mediaID = ""
		c.mediaInStasis, c.mediaCut = false, false
		if cut && c.phase == phConnected && !c.callerGone {
			// Asterisk hung the media channel up. If it is stopping, the
			// caller's line goes in the same breath and the volunteer must
			// hear that the line was lost, not that the call failed.
			c.log.Info("Asterisk hung up the media channel; waiting for the caller's line")
			c.arm(tMediaCut, mediaCutWait)
			return
		}
		c.mediaLost("the media channel went away")
	}
}

// mediaLost ends an answered call whose Asterisk side of the media broke,
// or a voicemail with what it holds.
func (c *call) mediaLost(why string) {
	if c.phase == phVoicemail {
		c.log.Error("voicemail media failed", "why", why)
		c.finishVoicemail("media failed")
		return
	}
	if c.phase != phConnected {
		return
	}
	c.log.Error("call media failed", "why", why)
	c.end(endSpec{ended: EndError, prompt: c.e.cfg.Prompts.Error})
}

func (c *call) onTimer(k timerKind) {
	switch k {
	case tQueue:
		if c.phase == phQueued {
			c.log.Info("nobody answered within the queue timeout")
			c.unanswered()
		}
	case tRefresh:
		if c.phase == phQueued {
			c.refreshRing()
			c.arm(tRefresh, c.e.cfg.RingRefresh)
		}
	case tBrowser:
		if c.phase != phConnected {
			return
		}
		if c.browserAudioFresh() && !c.onHold {
			c.log.Info("volunteer's audio still flows; keeping the call")
			return
		}
		c.log.Warn("volunteer's browser did not come back; ending the call", "relay_state", c.relayState.String())
		c.end(endSpec{ended: EndBrowserLost, prompt: c.e.cfg.Prompts.Error})
	case tMedia:
		c.mediaLost("the externalMedia channel never entered the app")
	case tMediaCut:
		c.mediaLost("Asterisk hung up the media channel, and the caller's line stayed")
	case tMenu:
		if c.phase == phMenu {
			c.chooseLanguage(-1)
		}
	case tCaptcha:
		if c.phase == phCaptcha && c.captchaWant != "" {
			c.captchaWant = ""
			c.captchaWrong()
		}
	case tVoicemail:
		c.finishVoicemail("its time ran out")
	case tPrompt:
		if c.phase == phVoicemail {
			c.log.Warn("the voicemail prompt did not finish; recording anyway")
			c.stopPlayback()
			c.recordVoicemail()
		}
		if c.phase == phClosing {
			c.log.Warn("closing prompt did not finish; hanging up")
			c.finish()
		}
	}
}

func (c *call) onResync(m resyncMsg) {
	if c.phase == phDone {
		return
	}
	if m.channels != nil && !m.channels[c.chanID] {
		// Whether the caller hung up or Asterisk lost them cannot be told.
		c.log.Info("the caller's channel vanished while ARI events were down")
		c.onChannelGone(c.chanID, true)
		return
	}
	if c.phase == phConnected || c.phase == phVoicemail {
		if m.channels != nil && c.mediaID != "" && !m.channels[c.mediaID] {
			c.onChannelGone(c.mediaID, true)
			return
		}
		if m.bridges != nil && c.bridgeID != "" && !m.bridges[c.bridgeID] {
			c.e.disown(ari.BridgeKey(c.bridgeID))
			c.bridgeID = ""
			c.mediaLost("the bridge vanished while ARI events were down")
			return
		}
	}
	// Asterisk keeps per-channel subscriptions across a socket drop; after
	// its own restart there is nothing left to subscribe to. Re-subscribing
	// what still exists costs one request and covers both.
	keys := []ari.Key{ari.ChannelKey(c.chanID)}
	if c.mediaID != "" {
		keys = append(keys, ari.ChannelKey(c.mediaID))
	}
	if c.bridgeID != "" {
		keys = append(keys, ari.BridgeKey(c.bridgeID))
	}
	if _, err := c.e.d.ARI.SubscribeApplication(c.ctx(), keys...); err != nil {
		c.log.Warn("re-subscribe after resync", "err", err)
	}
	// Events missed during the gap: a playback that finished, the media
	// channel's StasisStart.
	if c.pb != nil {
		id := c.pb.id
		pb, err := c.e.d.ARI.GetPlayback(c.ctx(), id)
		if ari.IsNotFound(err) || (err == nil && (pb.State == ari.PlaybackStateDone || pb.State == ari.PlaybackStateFailed)) {
			c.onPlaybackDone(id)
		}
	}
	if (c.phase == phConnected || c.phase == phVoicemail) && c.mediaID != "" && !c.bridged {
		if ch, err := c.e.d.ARI.GetChannel(c.ctx(), c.mediaID); err == nil {
			up := ch.State == ari.StateUp
			ch.Wipe() // bridged, its connected line is the caller
			if up {
				c.onMediaStart()
			}
		}
	}
}

// ---- the way out ----

// endSpec says how a call ends. Fields left empty are not used.
type endSpec struct {
	outcome  store.Outcome // for calls nobody answered; answered calls stay "answered"
	ringStop string        // RingStop reason for volunteers still ringing
	ended    string        // Ended reason for the answering volunteer
	prompt   string        // played to the caller before the hangup
	hangup   string        // ARI hangup reason; default normal
	now      bool          // no prompt: the engine is stopping
}

// end stops the rings, tells the answerer, tears the media down, plays the
// last prompt if any and hangs up. It may run once per call; a later end
// during the closing prompt only hurries it.
func (c *call) end(s endSpec) {
	if c.phase == phDone {
		return
	}
	if c.phase == phClosing {
		if s.now || c.callerGone {
			c.finish()
		}
		return
	}
	c.disarmAll()
	switch {
	case c.answerer != "":
		c.outcome = store.OutcomeAnswered
	case s.outcome != "":
		c.outcome = s.outcome
	}
	c.stopRinging(cmp.Or(s.ringStop, RingStopEnded))
	if c.answerer != "" && c.ended.CompareAndSwap(false, true) {
		c.e.d.Notify.Ended(c.answerer, c.id, cmp.Or(s.ended, EndError))
	}
	c.teardownMedia()
	c.finishTranscript()
	wasActive := c.active.Load().(ActiveCall).State != ""
	c.setActive("")
	if wasActive {
		c.e.d.Notify.CallsChanged()
	}
	c.hangupReason = cmp.Or(s.hangup, ari.ReasonNormal)
	if s.prompt != "" && !s.now && !c.callerGone && c.callerUp {
		c.phase = phClosing
		c.arm(tPrompt, c.e.cfg.PromptLimit)
		c.playThen(sounds(s.prompt), c.lang, c.finish)
		return
	}
	c.finish()
}

// finish hangs the caller up if still there and writes the final record.
func (c *call) finish() {
	if c.phase == phDone {
		return
	}
	c.disarmAll()
	c.phase = phDone
	if !c.callerGone {
		if err := c.e.d.ARI.Hangup(c.ctx(), c.chanID, c.hangupReason); err != nil && !ari.IsNotFound(err) {
			c.log.Error("hang up the caller", "err", err)
		}
		c.callerGone = true
	}
	c.endedAt = c.now()
	c.writeFinal()
}
