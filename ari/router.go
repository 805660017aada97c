package ari

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"llamenos/mailbox"
)

// Notification is what Client.Notifications delivers: *NewChannel,
// *Unrouted, *ConnectionState or *Resync.
type Notification interface{ notification() }

// NewChannel reports a StasisStart for a channel no subscription expected:
// normally a new inbound call (or, after a restart, an orphan). The client
// has already created Subscription for the channel, so no later event of
// the channel can be missed; Event is the StasisStart itself (it is not
// repeated on Subscription.Events). Close the subscription if the channel is
// not wanted.
type NewChannel struct {
	Subscription *Subscription
	Event        *StasisStart
}

// Unrouted carries an event that matched no subscription, e.g. the
// ChannelDestroyed of a channel nobody tracks.
type Unrouted struct {
	Event Event
}

// ConnectionState reports the events socket going up or down. Err says why
// it went down (nil on a clean shutdown).
type ConnectionState struct {
	Connected bool
	Err       error
	At        time.Time
}

// Resync is published after every successful connection, the first one
// included: a snapshot for adopting or cleaning up what exists. Events that
// happened while the socket was down are lost for good (Asterisk does not
// replay them), so compare this snapshot with what the calls believe.
type Resync struct {
	// Reconnect is false for the first connection of Run.
	Reconnect   bool
	Application *Application // the app's channel_ids and bridge_ids
	Channels    []Channel    // every channel Asterisk has, caller ids included (Wipe)
	Bridges     []Bridge     // every bridge Asterisk has
	// Err is set when part of the snapshot could not be fetched; the
	// fields that were fetched are still filled in.
	Err error
}

// AppChannels returns the channels the app is subscribed to, i.e. those in
// Application.ChannelIDs. They share their caller ids with r: Wipe erases
// both.
func (r *Resync) AppChannels() []Channel {
	if r.Application == nil {
		return nil
	}
	ids := make(map[string]bool, len(r.Application.ChannelIDs))
	for _, id := range r.Application.ChannelIDs {
		ids[id] = true
	}
	var out []Channel
	for _, ch := range r.Channels {
		if ids[ch.ID] {
			out = append(out, ch)
		}
	}
	return out
}

func (*NewChannel) notification()      {}
func (*Unrouted) notification()        {}
func (*ConnectionState) notification() {}
func (*Resync) notification()          {}

// Subscription receives, in socket order, every event that refers to one of
// its keys. Its queue is unbounded up to Config.MaxQueue, so a slow consumer
// delays only itself. Typically one call's goroutine owns one Subscription.
type Subscription struct {
	c      *Client
	q      *mailbox.Box[Event]
	out    chan Event
	done   chan struct{}
	pumped chan struct{} // closed when the pump has stopped
	once   sync.Once
	keys   map[Key]struct{} // guarded by router.mu
}

// Events delivers the subscription's events. It is closed after Close (or
// Client.Close). The receiver owns each event and wipes it (WipeEvent) when
// done.
func (s *Subscription) Events() <-chan Event { return s.out }

// Done is closed when the subscription is closed.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Expect routes events for keys to this subscription. Call it before the
// request that creates the resource (a client-chosen channel, bridge or
// playback id), since its first event can arrive before the HTTP response.
// A key owned by another subscription moves to this one.
func (s *Subscription) Expect(keys ...Key) { s.c.router.expect(s, keys) }

// Forget stops routing keys to this subscription. Terminal events forget
// their key by themselves: ChannelDestroyed, BridgeDestroyed,
// PlaybackFinished, RecordingFinished and RecordingFailed.
func (s *Subscription) Forget(keys ...Key) { s.c.router.forget(s, keys) }

// Keys returns the keys currently routed to the subscription.
func (s *Subscription) Keys() []Key { return s.c.router.keysOf(s) }

// Dropped counts events lost to the MaxQueue cap.
func (s *Subscription) Dropped() uint64 { return s.q.Dropped() }

// Close removes the subscription's routes, wipes and discards undelivered
// events and closes Events. When it returns no undelivered event is left
// unwiped. It is idempotent.
func (s *Subscription) Close() {
	s.once.Do(func() {
		s.c.router.remove(s)
		s.q.Close()
		close(s.done)
		<-s.pumped
	})
}

func (s *Subscription) push(ev Event) {
	if s.q.Push(ev) {
		s.c.stats.dropped.Add(1)
		s.c.log.Error("subscription queue full: dropped its oldest event", "max", s.c.cfg.MaxQueue, "keys", len(s.Keys()))
	}
}

// router maps keys to subscriptions. Only the dispatcher goroutine pushes
// events, so each subscription sees them in socket order.
type router struct {
	c      *Client
	mu     sync.Mutex
	routes map[Key]*Subscription
	subs   map[*Subscription]struct{}
	closed bool
}

func newRouter(c *Client) *router {
	return &router{c: c, routes: make(map[Key]*Subscription), subs: make(map[*Subscription]struct{})}
}

// Subscribe returns a new subscription that receives the events of keys. Use
// it for resources the app creates itself (outbound channels, adopted
// channels after a Resync); inbound calls arrive already subscribed through
// NewChannel.
func (c *Client) Subscribe(keys ...Key) *Subscription {
	r := c.router
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.newSubLocked()
	r.expectLocked(s, keys)
	return s
}

// newSubLocked creates a subscription and starts its pump. After the client
// is closed it returns a subscription that is already closed.
func (r *router) newSubLocked() *Subscription {
	s := &Subscription{
		c:      r.c,
		q:      mailbox.New[Event](r.c.cfg.MaxQueue).OnDiscard(WipeEvent),
		out:    make(chan Event),
		done:   make(chan struct{}),
		pumped: make(chan struct{}),
		keys:   make(map[Key]struct{}),
	}
	if r.closed {
		s.once.Do(func() { s.q.Close(); close(s.done); close(s.out); close(s.pumped) })
		return s
	}
	r.subs[s] = struct{}{}
	r.c.wg.Add(1)
	go func() {
		defer r.c.wg.Done()
		defer close(s.pumped)
		mailbox.Pump(s.q, s.out, s.done)
	}()
	return s
}

func (r *router) expect(s *Subscription, keys []Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, live := r.subs[s]; !live {
		return
	}
	r.expectLocked(s, keys)
}

func (r *router) expectLocked(s *Subscription, keys []Key) {
	for _, k := range keys {
		if k.ID() == "" {
			continue
		}
		if prev := r.routes[k]; prev != nil && prev != s {
			delete(prev.keys, k)
		}
		r.routes[k] = s
		s.keys[k] = struct{}{}
	}
}

func (r *router) forget(s *Subscription, keys []Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range keys {
		if r.routes[k] == s {
			delete(r.routes, k)
		}
		delete(s.keys, k)
	}
}

func (r *router) forgetKeyLocked(k Key) {
	if s := r.routes[k]; s != nil {
		delete(s.keys, k)
		delete(r.routes, k)
	}
}

func (r *router) keysOf(s *Subscription) []Key {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Key, 0, len(s.keys))
	for k := range s.keys {
		out = append(out, k)
	}
	return out
}

func (r *router) remove(s *Subscription) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range s.keys {
		if r.routes[k] == s {
			delete(r.routes, k)
		}
	}
	clear(s.keys)
	delete(r.subs, s)
}

func (r *router) closeAll() {
	r.mu.Lock()
	r.closed = true
	subs := make([]*Subscription, 0, len(r.subs))
	for s := range r.subs {
		subs = append(subs, s)
	}
	r.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
}

// route delivers ev to every subscription owning one of its keys. An
// unexpected StasisStart opens a new subscription (under the same lock, so
// the channel's next event already finds it).
func (r *router) route(ev Event) {
	var targets [4]*Subscription
	n := 0
	r.mu.Lock()
	for _, k := range ev.Keys() {
		s := r.routes[k]
		if s == nil {
			continue
		}
		dup := false
		for _, t := range targets[:n] {
			dup = dup || t == s
		}
		if !dup && n < len(targets) {
			targets[n] = s
			n++
		}
	}
	if n == 0 {
		if ss, ok := ev.(*StasisStart); ok && ss.Channel.ID != "" && !r.closed {
			s := r.newSubLocked()
			r.expectLocked(s, ss.Keys())
			r.mu.Unlock()
			r.c.notify(&NewChannel{Subscription: s, Event: ss})
			return
		}
		r.mu.Unlock()
		r.c.notify(&Unrouted{Event: ev})
		return
	}
	switch e := ev.(type) {
	case *ChannelDestroyed:
		r.forgetKeyLocked(ChannelKey(e.Channel.ID))
	case *BridgeDestroyed:
		r.forgetKeyLocked(BridgeKey(e.Bridge.ID))
	case *PlaybackFinished:
		r.forgetKeyLocked(PlaybackKey(e.Playback.ID))
	case *RecordingFinished:
		r.forgetKeyLocked(RecordingKey(e.Recording.Name))
	case *RecordingFailed:
		r.forgetKeyLocked(RecordingKey(e.Recording.Name))
	}
	r.mu.Unlock()
	// Each subscription owns what it gets, so each gets a copy of its own,
	// all made before any is delivered (and may be wiped).
	var evs [len(targets)]Event
	evs[0] = ev
	for i := 1; i < n; i++ {
		evs[i] = cloneEvent(ev)
	}
	for i, s := range targets[:n] {
		s.push(evs[i])
	}
}

// Notifications delivers NewChannel, Unrouted, ConnectionState and Resync
// values in order. Read it continuously: it is the only way new calls
// arrive. It is closed by Close. The receiver owns the caller ids in each
// notification and wipes them (WipeNotification) when done; those of
// notifications never read are wiped by Close.
func (c *Client) Notifications() <-chan Notification { return c.notesC }

func (c *Client) notify(n Notification) {
	if c.notes.Push(n) {
		c.stats.dropped.Add(1)
		c.log.Error("notification queue full: dropped the oldest notification", "max", c.cfg.MaxQueue)
	}
}

// dispatchLoop decodes frames queued by the reader and routes them. It runs
// for the client's whole life, across reconnects.
func (c *Client) dispatchLoop() {
	defer c.wg.Done()
	for {
		m, ok := c.raw.Pop()
		if !ok {
			select {
			case <-c.raw.Ready():
				continue
			case <-c.closed:
				return
			}
		}
		c.dispatch(m)
	}
}

func (c *Client) dispatch(m rawMessage) {
	ev, err := DecodeEvent(m.data)
	clear(m.data) // the frame's caller ids now live in ev only
	if err != nil {
		c.stats.malformed.Add(1)
		// The error text names the type and field, never the payload.
		c.log.Warn("ignoring malformed event", "err", err, "bytes", len(m.data))
		return
	}
	ev.Base().Received = m.received
	switch e := ev.(type) {
	case *UnknownEvent:
		c.stats.unknown.Add(1)
		c.log.Debug("ignoring unmodelled event", "type", e.Type)
		WipeEvent(e)
		return
	case *ApplicationReplaced:
		c.log.Error("another connection took over the Stasis application")
		select {
		case c.replaced <- struct{}{}:
		default:
		}
		c.notify(&Unrouted{Event: ev})
		return
	}
	c.router.route(ev)
}

// ErrApplicationReplaced is returned by Run when another WebSocket took the
// app over. Run does not fight back by reconnecting: two daemons stealing
// the app from each other would both miss events.
var ErrApplicationReplaced = errors.New("ari: application replaced by another connection")

// Stats are counters for monitoring.
type Stats struct {
	Events     uint64 // frames read off the socket
	Malformed  uint64 // frames that did not decode
	Unknown    uint64 // events of unmodelled types (ignored)
	Dropped    uint64 // entries lost to MaxQueue caps
	Reconnects uint64 // successful connections after the first
	Queued     int    // frames waiting for the dispatcher
}

type counters struct {
	events, malformed, unknown, dropped, reconnects atomic.Uint64
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		Events:     c.stats.events.Load(),
		Malformed:  c.stats.malformed.Load(),
		Unknown:    c.stats.unknown.Load(),
		Dropped:    c.stats.dropped.Load(),
		Reconnects: c.stats.reconnects.Load(),
		Queued:     c.raw.Len(),
	}
}
