package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"llamenos/store"
)

// WebSocket close codes the browser app understands (docs/api.md).
const (
	closeRevoked websocket.StatusCode = 4001
	closeFlood   websocket.StatusCode = 4008
	// closeTooManySockets: the account already holds as many sockets as
	// it may (Deps.MaxSocketsPerAccount): too many tabs or devices open.
	closeTooManySockets websocket.StatusCode = 4029
	// closeServerFull: the server holds as many sockets as it may
	// (Deps.MaxSockets); the standard "try again later".
	closeServerFull = websocket.StatusTryAgainLater
)

const (
	wsSendBuffer   = 64
	wsWriteTimeout = 5 * time.Second
	wsMaxMessage   = 64 << 10
	wsFloodWindow  = 10 * time.Second
	wsFloodLimit   = 50
	wsPingEvery    = 25 * time.Second
	// reachGrace is how long a volunteer whose last socket closed still
	// counts as reachable (Hub.Reachable): a page reloading or reconnecting
	// is back well within it. A daemon that just started counts everyone
	// the same way for as long, since their pages are reconnecting to it.
	reachGrace = 25 * time.Second
)

// Hub tracks every open browser socket by user and session, and is the
// call engine's notifier (notify.go). Sends never block the caller: each
// socket has a bounded queue (wsSendBuffer messages) and a writer
// goroutine; a socket whose queue is full is closed at once, its write in
// progress abandoned, rather than slowing everyone else.
type Hub struct {
	log   *slog.Logger
	mu    sync.Mutex
	conns map[string]map[*wsConn]struct{} // pubkey → sockets
	wg    sync.WaitGroup
	kick  chan struct{} // presence refresh requests (CallsChanged)
	// closing: closeAll has begun; no socket is added after it.
	closing bool

	// callMu orders a new socket's welcome against the call events
	// (ring, ring:stop, call:connected, call:ended): the welcome is built
	// and queued, and the socket registered, with no call event in flight,
	// so the socket gets either the state before an event and then the
	// event, or the state after it.
	callMu sync.Mutex

	// Reachability (Reachable): when each volunteer's last socket closed,
	// and when the hub started; reach is kicked when someone's first socket
	// opens or last one closes.
	grace time.Duration
	since time.Time
	left  map[string]time.Time
	reach chan struct{}
	now   func() time.Time
	// writeTimeout bounds one write to a socket (wsWriteTimeout).
	writeTimeout time.Duration

	// slots counts the sockets each account holds or is opening (admit),
	// and slotTotal everyone's: what the socket limits are checked on.
	slots     map[string]int
	slotTotal int
	// Refusals and drops, for the metrics.
	refusedAccount, refusedTotal, slowClosed atomic.Uint64
}

type wsConn struct {
	pubkey  string
	role    atomic.Pointer[string] // re-read on every change of the account and by the session sweep
	session [32]byte
	c       *websocket.Conn
	send    chan []byte
	done    chan struct{}
	once    sync.Once
	code    websocket.StatusCode
	reason  string
	// writes bounds every write; abort cancels it, which abandons a write
	// in progress (the connection is then torn down without a close
	// frame: a peer that stopped reading would not read one).
	writes context.Context
	abort  context.CancelFunc
	// slow: it did not keep up (tooSlow), so it is being closed without a
	// close handshake (Hub.run).
	slow atomic.Bool
}

func newWSConn(pubkey string, session [32]byte, c *websocket.Conn) *wsConn {
	writes, abort := context.WithCancel(context.Background())
	return &wsConn{pubkey: pubkey, session: session, c: c, send: make(chan []byte, wsSendBuffer),
		done: make(chan struct{}), writes: writes, abort: abort}
}

// NewHub returns a hub with no sockets. Build it first: the call engine
// takes it as its notifier, the server serves its sockets.
func NewHub(log *slog.Logger) *Hub {
	return &Hub{log: log, conns: map[string]map[*wsConn]struct{}{}, slots: map[string]int{}, kick: make(chan struct{}, 1),
		grace: reachGrace, since: time.Now(), left: map[string]time.Time{}, reach: make(chan struct{}, 1), now: time.Now,
		writeTimeout: wsWriteTimeout}
}

// add registers c, or reports false once the hub is shutting down. The
// wait group is joined under the lock, so closeAll never waits while a
// socket is still being added.
func (h *Hub) add(c *wsConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.wg.Add(1)
	set := h.conns[c.pubkey]
	if set == nil {
		set = map[*wsConn]struct{}{}
		h.conns[c.pubkey] = set
		h.kickReach()
	}
	set[c] = struct{}{}
	return true
}

// Socket limits refused by admit.
const (
	limitAccount = "account"
	limitTotal   = "total"
)

// admit takes a socket slot for pubkey before its socket is accepted, or
// names the limit that refuses it: perAccount sockets of one account, or
// total sockets in all. A slot taken is given back with release once its
// socket has closed.
func (h *Hub) admit(pubkey string, perAccount, total int) (refused string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.slots[pubkey] >= perAccount:
		h.refusedAccount.Add(1)
		return limitAccount
	case h.slotTotal >= total:
		h.refusedTotal.Add(1)
		return limitTotal
	}
	h.slots[pubkey]++
	h.slotTotal++
	return ""
}

func (h *Hub) release(pubkey string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.slotTotal--
	if h.slots[pubkey]--; h.slots[pubkey] <= 0 {
		delete(h.slots, pubkey)
	}
}

func (h *Hub) remove(c *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if set := h.conns[c.pubkey]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(h.conns, c.pubkey)
			h.left[c.pubkey] = h.now()
			h.kickReach()
		}
	}
}

func (h *Hub) kickReach() {
	select {
	case h.reach <- struct{}{}:
	default:
	}
}

// Reachable reports whether pubkey can hear a ring: a socket of theirs is
// open, or their last one closed less than the grace ago (a page
// reloading or reconnecting), or they have not connected since the hub
// started less than the grace ago (their page reconnecting to a restarted
// daemon). It is the call engine's hotline.Reach.
func (h *Hub) Reachable(pubkey string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.conns[pubkey]) > 0 {
		return true
	}
	at, ok := h.left[pubkey]
	if !ok {
		at = h.since
	}
	return h.now().Sub(at) < h.grace
}

// nextReachChange returns how long until someone without a socket stops
// counting as reachable, and false when nobody is within the grace.
func (h *Hub) nextReachChange() (time.Duration, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	var next time.Duration
	found := false
	consider := func(at time.Time) {
		if d := at.Add(h.grace).Sub(now); d > 0 && (!found || d < next) {
			next, found = d, true
		}
	}
	consider(h.since)
	for pk, at := range h.left {
		if len(h.conns[pk]) == 0 {
			consider(at)
		}
	}
	return next, found
}

// snapshot returns the sockets matching keep, so sends happen without the lock.
func (h *Hub) snapshot(keep func(*wsConn) bool) []*wsConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []*wsConn
	for _, set := range h.conns {
		for c := range set {
			if keep(c) {
				out = append(out, c)
			}
		}
	}
	return out
}

// count returns the number of open sockets.
func (h *Hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, set := range h.conns {
		n += len(set)
	}
	return n
}

// connected reports whether pubkey has at least one open socket.
func (h *Hub) connected(pubkey string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns[pubkey]) > 0
}

func encode(msg any) []byte {
	b, err := json.Marshal(msg)
	if err != nil {
		// Messages are our own structs; failing to encode one is a programming error.
		panic(err)
	}
	return b
}

// sendTo queues msg for every socket of pubkey.
func (h *Hub) sendTo(pubkey string, msg any) {
	b := encode(msg)
	for _, c := range h.snapshot(func(c *wsConn) bool { return c.pubkey == pubkey }) {
		c.enqueue(b)
	}
}

// broadcast queues a message built per socket (per-role payloads); build
// returns nil to skip a socket.
func (h *Hub) broadcast(build func(pubkey, role string) any) {
	for _, c := range h.snapshot(func(*wsConn) bool { return true }) {
		if msg := build(c.pubkey, *c.role.Load()); msg != nil {
			c.enqueue(encode(msg))
		}
	}
}

// setRole changes the role every socket of pubkey is served as, so a
// demoted admin's open socket stops getting admin messages at once.
func (h *Hub) setRole(pubkey, role string) {
	for _, c := range h.snapshot(func(c *wsConn) bool { return c.pubkey == pubkey }) {
		c.role.Store(&role)
	}
}

// closeUser closes every socket of pubkey (deactivation, logout everywhere).
func (h *Hub) closeUser(pubkey string, code websocket.StatusCode, reason string) {
	for _, c := range h.snapshot(func(c *wsConn) bool { return c.pubkey == pubkey }) {
		c.shut(code, reason)
	}
}

// closeSession closes the sockets opened with one session (logout).
func (h *Hub) closeSession(session [32]byte, code websocket.StatusCode, reason string) {
	for _, c := range h.snapshot(func(c *wsConn) bool { return c.session == session }) {
		c.shut(code, reason)
	}
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	for _, c := range h.snapshot(func(*wsConn) bool { return true }) {
		c.shut(websocket.StatusGoingAway, "server shutting down")
	}
	h.wg.Wait()
}

// enqueue queues b without ever waiting. A socket whose queue is full is
// not keeping up (a browser that stopped reading, a network that stalled):
// it is closed at once, its write in progress abandoned, so it holds
// nothing of the hub's and the page reconnects and is welcomed afresh.
func (c *wsConn) enqueue(b []byte) {
	select {
	case <-c.done:
	case c.send <- b:
	default:
		c.tooSlow()
	}
}

// tooSlow closes a socket that is not keeping up, abandoning its write in
// progress: its queue is full, or one write has waited wsWriteTimeout.
func (c *wsConn) tooSlow() {
	if c.slow.CompareAndSwap(false, true) {
		c.shut(websocket.StatusPolicyViolation, "too slow")
		if c.abort != nil {
			c.abort()
		}
	}
}

func (c *wsConn) shut(code websocket.StatusCode, reason string) {
	c.once.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
	})
}

// run owns the socket until it closes: a writer loop here, a reader in its
// own goroutine feeding onMessage. It returns when either side ends.
// welcome queues the socket's first messages. It runs just before the
// socket is registered, with no call event in flight (callMu): nothing
// else reaches the socket before its welcome, and no call event falls
// between the state the welcome tells and the events that follow it.
func (h *Hub) run(ctx context.Context, c *wsConn, welcome func(), onMessage func(ctx context.Context, c *wsConn, typ string, raw json.RawMessage) error) {
	h.callMu.Lock()
	welcome()
	added := h.add(c)
	h.callMu.Unlock()
	if !added {
		c.c.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	defer h.wg.Done()
	defer h.remove(c)
	defer c.abort()
	c.c.SetReadLimit(wsMaxMessage)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		h.readLoop(ctx, c, onMessage)
	}()

	ping := time.NewTicker(wsPingEvery)
	defer ping.Stop()
	for {
		select {
		case b := <-c.send:
			wctx, wcancel := context.WithTimeout(c.writes, h.writeTimeout)
			err := c.c.Write(wctx, websocket.MessageText, b)
			wcancel()
			switch {
			case err == nil:
			case errors.Is(err, context.DeadlineExceeded):
				c.tooSlow()
			default:
				c.shut(websocket.StatusGoingAway, "write failed")
			}
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(c.writes, h.writeTimeout)
			err := c.c.Ping(pctx)
			pcancel()
			if err != nil {
				c.shut(websocket.StatusGoingAway, "ping failed")
			}
		case <-readerDone:
			c.shut(websocket.StatusNormalClosure, "")
		case <-ctx.Done():
			c.shut(websocket.StatusGoingAway, "server shutting down")
		case <-c.done:
			if c.slow.Load() {
				// A peer that stopped reading would not read a close
				// frame either, and writing one could wait on it.
				h.slowClosed.Add(1)
				h.log.Warn("closed a browser socket that stopped reading", "queued", wsSendBuffer)
				c.c.CloseNow()
			} else {
				c.c.Close(c.code, c.reason)
			}
			cancel()
			<-readerDone
			return
		}
	}
}

func (h *Hub) readLoop(ctx context.Context, c *wsConn, onMessage func(ctx context.Context, c *wsConn, typ string, raw json.RawMessage) error) {
	windowStart, count := time.Now(), 0
	for {
		typ, data, err := c.c.Read(ctx)
		if err != nil {
			return
		}
		if now := time.Now(); now.Sub(windowStart) > wsFloodWindow {
			windowStart, count = now, 0
		}
		if count++; count > wsFloodLimit {
			c.shut(closeFlood, "too many messages")
			return
		}
		if typ != websocket.MessageText {
			c.enqueue(encode(wsError("bad_request", "send JSON text messages")))
			continue
		}
		var env struct {
			Type   string `json:"type"`
			CallID string `json:"callId"`
		}
		if err := json.Unmarshal(data, &env); err != nil || env.Type == "" {
			c.enqueue(encode(wsError("bad_request", "message must be a JSON object with a type")))
			continue
		}
		if err := onMessage(ctx, c, env.Type, data); err != nil {
			ae, ok := refusal(err)
			if !ok {
				h.log.Error("websocket message failed", "type", env.Type, "err", err)
				ae = &apiError{Code: "internal", Message: "internal error"}
			}
			msg := wsError(ae.Code, ae.Message)
			// A refusal about a call names it, so the page can tell which
			// call the daemon no longer has.
			if env.CallID != "" && store.ValidID(env.CallID) == nil {
				msg["callId"] = env.CallID
			}
			c.enqueue(encode(msg))
		}
	}
}

func wsError(code, msg string) map[string]string {
	return map[string]string{"type": "error", "code": code, "message": msg}
}
