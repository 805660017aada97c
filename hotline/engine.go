package hotline

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"llamenos/ari"
	"llamenos/pipeline"
)

// Engine runs the hotline's calls. Create it with New, start Run, and call
// the request methods from the API layer. All methods are safe for
// concurrent use.
type Engine struct {
	cfg Config
	d   Deps
	log *slog.Logger

	// opCtx bounds every ARI request; it is cancelled ShutdownTimeout after
	// Run's context ends, so a hung Asterisk cannot hold the shutdown.
	opCtx    context.Context
	opCancel context.CancelFunc

	mu        sync.Mutex
	running   bool
	stopped   bool
	calls     map[string]*call  // by call id
	byChannel map[string]*call  // by the caller's channel id
	owned     map[ari.Key]*call // media channels and bridges, registered before they are created
	onCall    map[string]*call  // volunteer pubkey → the call they answered
	// admitted counts the live calls within Config.MaxCalls; calls past
	// the cap (call.overflow) are not counted.
	admitted int
	// refused counts the callers turned away at Config.MaxCalls.
	refused atomic.Uint64
	// epoch counts event-socket connections. A call remembers the epoch it
	// started in; only calls from earlier epochs can have missed events, so
	// only they are checked against a resync snapshot (which may predate a
	// newer call's channel).
	epoch int
	// ended remembers the caller channels of calls that just ended, so a
	// resync snapshot taken before their hangup does not adopt them.
	ended map[string]time.Time

	hb heartbeat // see Alive

	pipe    *pipeline.Runner
	ownPipe bool // made here; Run runs it

	stop        chan struct{} // closed when Run's context ends
	wg          sync.WaitGroup
	reconcileMu sync.Mutex
}

// New checks deps and returns an engine. It does nothing until Run.
func New(cfg Config, deps Deps) (*Engine, error) {
	switch {
	case deps.ARI == nil:
		return nil, errors.New("hotline: Deps.ARI is required")
	case deps.RTC == nil:
		return nil, errors.New("hotline: Deps.RTC is required")
	case deps.Store == nil:
		return nil, errors.New("hotline: Deps.Store is required")
	case deps.Notify == nil:
		return nil, errors.New("hotline: Deps.Notify is required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Clock == nil {
		deps.Clock = realClock{}
	}
	if deps.Now == nil {
		deps.Now = deps.Clock.Now
	}
	if deps.Rand == nil {
		deps.Rand = rand.Reader
	}
	cfg.setDefaults(&deps)
	pipe, ownPipe := deps.Pipeline, false
	if pipe == nil {
		pipe, ownPipe = &pipeline.Runner{Store: deps.Store, Rand: deps.Rand, Log: deps.Log}, true
	}
	opCtx, opCancel := context.WithCancel(context.Background())
	return &Engine{
		pipe:      pipe,
		ownPipe:   ownPipe,
		cfg:       cfg,
		d:         deps,
		log:       deps.Log.With("component", "hotline"),
		opCtx:     opCtx,
		opCancel:  opCancel,
		calls:     map[string]*call{},
		byChannel: map[string]*call{},
		owned:     map[ari.Key]*call{},
		onCall:    map[string]*call{},
		ended:     map[string]time.Time{},
		hb:        heartbeat{loop: time.Now(), pending: map[*call]time.Time{}},
		stop:      make(chan struct{}),
	}, nil
}

// Run consumes the ARI client's notifications (new calls, resyncs) until ctx
// ends or the client is closed, then tears every call down: callers hung up,
// media channels hung up, bridges destroyed, relays closed, call records
// written. It returns nil when ctx ends. Call it once.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return errors.New("hotline: Run called twice")
	}
	e.running = true
	e.mu.Unlock()
	defer e.beatStopped()
	e.beat(time.Now())
	if e.ownPipe {
		pctx, stopPipe := context.WithCancel(context.Background())
		pdone := make(chan struct{})
		go func() {
			defer close(pdone)
			if err := e.pipe.Run(pctx); err != nil {
				e.log.Error("the voicemail pipeline stopped", "err", err)
			}
		}()
		// After the calls: their voicemails are stored by then.
		defer func() { stopPipe(); <-pdone }()
	}

	e.closeStaleRecords(ctx)

	var err error
	notes := e.d.ARI.Notifications()
	// The heartbeat ticks through this loop, so a stuck loop cannot stamp it.
	beat := time.NewTicker(e.cfg.StallLimit / 4)
	defer beat.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-beat.C:
			e.beat(time.Now())
		case n, ok := <-notes:
			if !ok {
				err = errors.New("hotline: the ARI client was closed")
				break loop
			}
			e.handle(n)
		}
	}
	e.shutdown()
	return err
}

func (e *Engine) handle(n ari.Notification) {
	switch n := n.(type) {
	case *ari.NewChannel:
		e.onNewChannel(n)
	case *ari.Resync:
		e.mu.Lock()
		epoch := e.epoch
		e.mu.Unlock()
		e.spawn(func() { e.reconcile(n, epoch) })
	case *ari.ConnectionState:
		if n.Connected {
			e.mu.Lock()
			e.epoch++
			e.mu.Unlock()
			e.log.Info("ARI events connected")
		} else {
			e.log.Warn("ARI events disconnected; calls continue, events resume after the resync", "err", n.Err)
		}
	case *ari.Unrouted:
		// Late events of channels already torn down: nothing to do.
		e.log.Debug("unrouted ARI event", "type", n.Event.Base().Type)
		ari.WipeEvent(n.Event)
	}
}

// spawn runs f on a goroutine that shutdown waits for.
func (e *Engine) spawn(f func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
}

// onNewChannel starts a call for a new caller channel. The call keeps a
// copy of the caller's number; the StasisStart's caller ids are wiped.
func (e *Engine) onNewChannel(n *ari.NewChannel) {
	defer ari.WipeEvent(n.Event)
	ch := n.Event.Channel
	if isMediaChannel(&ch, n.Event.Args) {
		// Only an orphan reaches here: our own media channels are expected
		// by their call's subscription before they are created.
		n.Subscription.Close()
		e.log.Warn("hanging up an orphaned media channel", "channel", ch.ID, "name", ch.Name)
		e.spawn(func() { e.hangupOrphan(ch.ID) })
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped || e.byChannel[ch.ID] != nil {
		// Stopping, or a resync adopted the channel first and owns its events.
		n.Subscription.Close()
		return
	}
	e.startCallLocked(n.Subscription, ch, false)
}

// startCallLocked registers and starts a call for a caller channel.
func (e *Engine) startCallLocked(sub *ari.Subscription, ch ari.Channel, adopted bool) {
	id, err := newCallID(e.d.Rand)
	if err != nil {
		e.log.Error("cannot draw a call id; hanging up", "channel", ch.ID, "err", err)
		sub.Close()
		e.spawn(func() { e.hangupOrphan(ch.ID) })
		return
	}
	c := newCall(e, id, sub, ch, adopted)
	c.epoch = e.epoch
	if !adopted && e.cfg.MaxCalls > 0 && e.admitted >= e.cfg.MaxCalls {
		c.overflow = true
	} else {
		e.admitted++
	}
	e.calls[id] = c
	e.byChannel[ch.ID] = c
	e.wg.Add(1)
	go c.run()
}

func (e *Engine) hangupOrphan(channelID string) {
	ctx, cancel := context.WithTimeout(e.opCtx, e.cfg.ShutdownTimeout)
	defer cancel()
	if err := e.d.ARI.Hangup(ctx, channelID, ari.ReasonNormal); err != nil && !ari.IsNotFound(err) {
		e.log.Warn("hang up orphaned channel", "channel", channelID, "err", err)
	}
}

func (e *Engine) shutdown() {
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	close(e.stop)
	t := time.AfterFunc(e.cfg.ShutdownTimeout, e.opCancel)
	e.wg.Wait()
	t.Stop()
	e.opCancel()
}

// lookup returns a live call.
func (e *Engine) lookup(callID string) *call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[callID]
}

// Answer claims a ringing call for pubkey. Exactly one of any number of
// concurrent answers wins; the others get ErrAlreadyAnswered. ErrNoCall: the
// call does not exist or has ended. ErrNotRung (or an error wrapping it):
// the call never rang for pubkey, they declined it, it stopped ringing for
// them, or they are on another call.
func (e *Engine) Answer(ctx context.Context, callID, pubkey string) error {
	_, err := e.request(ctx, callID, &answerReq{pubkey: pubkey})
	return err
}

// Decline stops the ringing for pubkey only; the call keeps ringing for the
// others and will not ring pubkey again.
func (e *Engine) Decline(ctx context.Context, callID, pubkey string) error {
	_, err := e.request(ctx, callID, &declineReq{pubkey: pubkey})
	return err
}

// Hangup ends the call from the volunteer's side; only the volunteer who
// answered may (ErrNotAnswerer otherwise).
func (e *Engine) Hangup(ctx context.Context, callID, pubkey string) error {
	_, err := e.request(ctx, callID, &hangupReq{pubkey: pubkey})
	return err
}

// Offer hands the answering browser's SDP offer to the call's media relay
// and returns the answer SDP. A later offer (the browser reconnecting)
// replaces the PeerConnection and restarts ConnectTimeout. Malformed offers
// return an error wrapping rtc.ErrBadOffer or rtc.ErrNoPCMU (400).
func (e *Engine) Offer(ctx context.Context, callID, pubkey, sdp string) (string, error) {
	v, err := e.request(ctx, callID, &offerReq{pubkey: pubkey, sdp: sdp})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// Candidate applies a trickled ICE candidate from the answering browser.
// Candidates of an earlier offer are ignored; a malformed one returns an
// error wrapping rtc.ErrBadCandidate (400). Deliver Offer and Candidate in
// the order the browser sent them.
func (e *Engine) Candidate(ctx context.Context, callID, pubkey string, c json.RawMessage) error {
	_, err := e.request(ctx, callID, &candidateReq{pubkey: pubkey, candidate: c})
	return err
}

// BanCaller bans the caller of a live or past call by the call's caller
// hash. The ban's Number is the call's sealed caller-number envelope and
// reason an envelope from the browser (may be nil), sealed to every active
// admin. actor must be the volunteer who answered or an active admin;
// anyone else gets ErrNoCall, as for a call that does not exist. A live
// call is hung up at once. ErrNotBannable for a withheld number.
func (e *Engine) BanCaller(ctx context.Context, callID, actor string, reason []byte) error {
	if c := e.lookup(callID); c != nil {
		_, err := c.request(ctx, &banReq{actor: actor, reason: reason})
		if errors.Is(err, errNotYours) {
			return ErrNoCall
		}
		if !errors.Is(err, ErrNoCall) {
			return err
		}
		// The call ended meanwhile; its record is final now.
	}
	return e.banPastCall(ctx, callID, actor, reason)
}

func (e *Engine) request(ctx context.Context, callID string, r request) (any, error) {
	c := e.lookup(callID)
	if c == nil {
		return nil, ErrNoCall
	}
	return c.request(ctx, r)
}

// Active lists the calls that are ringing or connected, oldest first.
// Calls still in the language menu or CAPTCHA are not listed.
func (e *Engine) Active() []ActiveCall {
	e.mu.Lock()
	out := make([]ActiveCall, 0, len(e.calls))
	for _, c := range e.calls {
		if a, ok := c.active.Load().(ActiveCall); ok && a.State != "" {
			out = append(out, a)
		}
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		return out[i].CallID < out[j].CallID
	})
	return out
}

// CallsRefused returns how many callers were turned away because
// Config.MaxCalls calls were live when they called.
func (e *Engine) CallsRefused() uint64 { return e.refused.Load() }

// OnCall reports whether pubkey has answered a call that is not over.
func (e *Engine) OnCall(pubkey string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.onCall[pubkey] != nil
}

// Ringable returns who a call arriving now would ring, by the rule the
// queue uses: active, available, not on a break, not on a call, with a
// browser connected (or reconnecting), and on shift or, when none of those
// is, in the fallback group. Presence counts it, so "someone is available"
// means exactly that a caller would not hear "nobody is available".
func (e *Engine) Ringable(ctx context.Context) (map[string]bool, error) {
	return e.eligible(ctx, e.d.Now())
}

// Ringing lists the calls ringing pubkey now, oldest first, as their Ring
// notifications told them. A browser that connects while a call rings is
// told these, since the Ring itself went only to the sockets open then.
func (e *Engine) Ringing(pubkey string) []Ring {
	e.mu.Lock()
	var out []Ring
	for _, c := range e.calls {
		if r := c.rings.Load(); r != nil {
			if at, ok := r.at[pubkey]; ok {
				out = append(out, Ring{CallID: c.id, StartedAt: r.startedAt, RingAt: at})
			}
		}
	}
	e.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.Before(out[j].StartedAt)
		}
		return out[i].CallID < out[j].CallID
	})
	return out
}

// CurrentCall returns the id of the call pubkey answered, until they have
// been told it ended (Ended); "" when there is none. A browser that
// (re)connects compares it with the call it shows.
func (e *Engine) CurrentCall(pubkey string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.onCall[pubkey]; c != nil && !c.ended.Load() {
		return c.id
	}
	return ""
}

// VolunteersChanged tells waiting calls that availability, breaks, shifts,
// roles, the volunteer list or who has a browser connected changed: newly eligible volunteers are rung,
// and rings stop for those no longer eligible. It does not block.
func (e *Engine) VolunteersChanged() { e.pokeAll(nil) }

// BrowserGone says the volunteer's last WebSocket closed. If they are on a
// call, the BrowserGrace timer starts; the call ends unless their WebRTC
// connection is still carrying their audio when it runs out, or a new offer
// arrives meanwhile. It does not block.
func (e *Engine) BrowserGone(pubkey string) {
	e.mu.Lock()
	c := e.onCall[pubkey]
	e.mu.Unlock()
	if c != nil {
		c.mbox.Push(browserGoneMsg{pubkey: pubkey})
	}
}

// pokeAll asks every call but skip to re-read who is eligible.
func (e *Engine) pokeAll(skip *call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.calls {
		if c != skip {
			c.mbox.Push(refreshMsg{})
		}
	}
}

// claim makes pubkey busy with c, unless they already are with another call.
func (e *Engine) claim(pubkey string, c *call) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if other := e.onCall[pubkey]; other != nil && other != c {
		return false
	}
	e.onCall[pubkey] = c
	return true
}

func (e *Engine) reachable(pubkey string) bool {
	return e.d.Reach == nil || e.d.Reach.Reachable(pubkey)
}

func (e *Engine) isOnCall(pubkey string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.onCall[pubkey] != nil
}

// own registers a media channel or bridge before the request that creates
// it, so a concurrent resync does not take it for an orphan.
func (e *Engine) own(k ari.Key, c *call) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.owned[k] = c
}

func (e *Engine) disown(k ari.Key) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.owned, k)
}

// unregister drops an ended call from every index.
func (e *Engine) unregister(c *call) (freed bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.calls[c.id] == c {
		delete(e.calls, c.id)
		if !c.overflow {
			e.admitted--
		}
	}
	if e.byChannel[c.chanID] == c {
		delete(e.byChannel, c.chanID)
	}
	now := time.Now()
	for id, at := range e.ended {
		if now.Sub(at) > time.Minute {
			delete(e.ended, id)
		}
	}
	e.ended[c.chanID] = now
	for k, o := range e.owned {
		if o == c {
			delete(e.owned, k)
		}
	}
	for pk, o := range e.onCall {
		if o == c {
			delete(e.onCall, pk)
			freed = true
		}
	}
	return freed
}
