package aritest

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"llamenos/ari"
)

// app is a Stasis application as Asterisk keeps it: created by the first
// socket that names it, deactivated (not destroyed) when that socket goes.
type app struct {
	name     string
	conn     *eventConn // nil while inactive
	channels map[string]bool
	bridges  map[string]bool
	missed   int
}

// eventConn is one events WebSocket. Events are queued without blocking the
// simulator and written by the connection's own goroutine, which stamps each
// frame's timestamp with the moment it is written.
type eventConn struct {
	ws   *websocket.Conn
	apps []string

	mu      sync.Mutex
	pending []ari.Event
	notify  chan struct{}
	done    chan struct{}
	once    sync.Once
}

func (ec *eventConn) push(ev ari.Event) {
	ec.mu.Lock()
	ec.pending = append(ec.pending, ev)
	ec.mu.Unlock()
	select {
	case ec.notify <- struct{}{}:
	default:
	}
}

func (ec *eventConn) take() []ari.Event {
	ec.mu.Lock()
	defer ec.mu.Unlock()
	p := ec.pending
	ec.pending = nil
	return p
}

// shut drops the connection abruptly (no close handshake), like a crash or
// a network cut.
func (ec *eventConn) shut() {
	ec.once.Do(func() {
		close(ec.done)
		_ = ec.ws.CloseNow()
	})
}

func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var names []string
	for _, n := range strings.Split(q.Get("app"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		writeJSON(w, fail(errf(http.StatusBadRequest, "Missing parameter app")))
		return
	}
	if sa := q.Get("subscribeAll"); sa != "" && sa != "true" && sa != "false" {
		writeJSON(w, fail(errf(http.StatusBadRequest, "subscribeAll must be a boolean")))
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	if s.opts.Record {
		sent := r.URL.Query()
		sent.Del("api_key")
		s.mu.Lock()
		s.record.exchanges = append(s.record.exchanges, Exchange{
			Method: r.Method, Path: "/events", EscapedPath: r.URL.EscapedPath(), Query: sent, Status: http.StatusSwitchingProtocols,
		})
		s.mu.Unlock()
	}
	ec := &eventConn{ws: ws, apps: names, notify: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ws.CloseNow()
		return
	}
	s.conns[ec] = struct{}{}
	for _, n := range names {
		a := s.appLocked(n)
		if old := a.conn; old != nil && old != ec {
			old.push(&ari.ApplicationReplaced{EventBase: ari.EventBase{Type: "ApplicationReplaced", Application: n}})
		}
		a.conn = ec
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	// Asterisk answers pings; reading also notices the peer going away,
	// and how: without a close frame Asterisk logs "Web socket closed
	// abruptly".
	readCtx, readDone := context.WithCancel(context.Background())
	readerEnded := make(chan struct{})
	go func() {
		defer close(readerEnded)
		defer readDone()
		for {
			if _, _, err := ws.Read(readCtx); err != nil {
				if websocket.CloseStatus(err) == -1 {
					select {
					case <-ec.done: // the simulator's own drop or shutdown
					default:
						s.mu.Lock()
						s.abrupt++
						s.mu.Unlock()
					}
				}
				return
			}
		}
	}()
	s.writeLoop(ec, readCtx)
	ec.shut()
	<-readerEnded
	s.mu.Lock()
	delete(s.conns, ec)
	for _, n := range ec.apps {
		if a := s.apps[n]; a != nil && a.conn == ec {
			a.conn = nil
		}
	}
	s.mu.Unlock()
}

func (s *Server) writeLoop(ec *eventConn, readCtx context.Context) {
	for {
		select {
		case <-ec.notify:
		case <-ec.done:
			return
		case <-readCtx.Done():
			return
		}
		for _, ev := range ec.take() {
			b := ev.Base()
			b.Timestamp = ari.Time{Time: time.Now()}
			b.AsteriskID = asteriskID
			data, err := json.Marshal(ev)
			if err != nil {
				s.log.Error("marshal event", "type", b.Type, "err", err)
				continue
			}
			if s.opts.Record {
				s.mu.Lock()
				s.record.events = append(s.record.events, data)
				s.mu.Unlock()
			}
			ctx, cancel := context.WithTimeout(context.Background(), s.opts.WriteTimeout)
			err = ec.ws.Write(ctx, websocket.MessageText, data)
			cancel()
			if err != nil {
				s.log.Info("events socket write failed; dropping client", "err", err)
				return
			}
		}
	}
}

func (s *Server) appLocked(name string) *app {
	a := s.apps[name]
	if a == nil {
		a = &app{name: name, channels: make(map[string]bool), bridges: make(map[string]bool)}
		s.apps[name] = a
	}
	return a
}

// AbruptCloses counts the events sockets the client dropped without a
// WebSocket close, which Asterisk logs as warnings.
func (s *Server) AbruptCloses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.abrupt
}

// DropEvents cuts every events socket at once, as a network failure or an
// Asterisk restart of the HTTP server would. The apps go inactive and miss
// events until a client reconnects. It returns how many sockets it cut.
func (s *Server) DropEvents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for ec := range s.conns {
		ec.shut()
		delete(s.conns, ec)
		for _, name := range ec.apps {
			if a := s.apps[name]; a != nil && a.conn == ec {
				a.conn = nil
			}
		}
		n++
	}
	return n
}

// emitLocked sends an event to apps (deduplicated). mk builds a fresh event
// per app, since each copy carries its own application name and timestamp.
func (s *Server) emitLocked(apps []string, mk func() ari.Event) {
	slices.Sort(apps)
	apps = slices.Compact(apps)
	for _, name := range apps {
		if name == "" {
			continue
		}
		a := s.apps[name]
		if a == nil {
			continue
		}
		if a.conn == nil {
			a.missed++
			continue
		}
		ev := mk()
		ev.Base().Application = name
		a.conn.push(ev)
	}
}

// channelAppsLocked lists the apps that see a channel's events: the app it
// is in plus apps subscribed to it.
func (s *Server) channelAppsLocked(ch *channel) []string {
	var out []string
	if ch.app != "" {
		out = append(out, ch.app)
	}
	for name, a := range s.apps {
		if a.channels[ch.id] {
			out = append(out, name)
		}
	}
	return out
}

func (s *Server) bridgeAppsLocked(b *bridge) []string {
	var out []string
	for name, a := range s.apps {
		if a.bridges[b.id] {
			out = append(out, name)
		}
	}
	return out
}

func base(typ string) ari.EventBase { return ari.EventBase{Type: typ} }

// Shutdown simulates the first thing a stopping Asterisk does ("core stop
// now", systemctl stop): every channel gets a soft hangup with
// AST_SOFTHANGUP_SHUTDOWN in its ChannelHangupRequest, then leaves its
// bridge, StasisEnd and ChannelDestroyed (cause 0), all delivered on the
// events sockets, which stay open. Call handles end with cause 0. Follow it
// with Restart for the process going away.
//
// The channels go one by one, those named in first first, then the rest by
// id. Asterisk's order is its channel container's, and a channel whose own
// thread reacts at once (an externalMedia channel in Stasis) can finish
// leaving before the loop reaches the next channel.
func (s *Server) Shutdown(first ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	chans := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		chans = append(chans, ch)
	}
	rank := func(c *channel) int {
		if i := slices.Index(first, c.id); i >= 0 {
			return i
		}
		return len(first)
	}
	slices.SortFunc(chans, func(a, b *channel) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	for _, ch := range chans {
		if ch.hungUp {
			continue
		}
		snap := ch.snapshot(false)
		flag, soft := softHangupShutdown, true
		s.emitLocked(s.channelAppsLocked(ch), func() ari.Event {
			return &ari.ChannelHangupRequest{EventBase: base("ChannelHangupRequest"), Cause: &flag, Soft: &soft, Channel: snap}
		})
		s.destroyChannelLocked(ch, 0)
	}
}

// Restart simulates Asterisk restarting: every events socket is cut, and
// every channel, bridge and playback vanishes without an event (the process
// died with them). Apps are forgotten until a client connects again. Call
// handles end with cause 0. The URL and credentials stay the same.
func (s *Server) Restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ec := range s.conns {
		ec.shut()
		delete(s.conns, ec)
	}
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	clear(s.timers)
	for _, ch := range s.channels {
		s.dropChannelLocked(ch, 0)
	}
	clear(s.bridges)
	clear(s.playbacks)
	clear(s.apps)
}
