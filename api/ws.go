package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"llamenos/auth"
	"llamenos/store"
)

// serveWS upgrades an authenticated same-origin request to the app's
// socket. Refusals are ordinary JSON errors, with the security headers.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if err := s.checkOrigin(r); err != nil {
		writeError(w, r, s.Log, err)
		return
	}
	who, err := s.identify(r)
	if err != nil {
		writeError(w, r, s.Log, err)
		return
	}
	// The Origin was checked above against the one configured origin.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return // Accept has answered the client
	}
	conn := &wsConn{pubkey: who.PubKey, role: string(who.Role), session: who.Session, c: c,
		send: make(chan []byte, wsSendBuffer), done: make(chan struct{})}
	s.sendHello(r.Context(), conn)
	// The request context ends when the handler returns; the socket lives on
	// the server's lifetime instead, and ends with Shutdown.
	s.hub.run(context.WithoutCancel(r.Context()), conn, s.onWSMessage)
	if !s.hub.connected(who.PubKey) {
		s.Calls.BrowserGone(who.PubKey)
	}
}

func (s *Server) sendHello(ctx context.Context, c *wsConn) {
	me, err := store.Read(ctx, s.Store, func(tx *store.Tx) (meJSON, error) { return s.meView(tx, c.pubkey) })
	if err != nil {
		s.Log.Warn("websocket hello failed", "err", err)
		return
	}
	c.enqueue(encode(map[string]any{"type": "hello", "pubkey": me.PubKey, "role": me.Role,
		"available": me.Available, "onBreak": me.OnBreak, "onShift": me.OnShift, "onCall": me.OnCall}))
	c.enqueue(encode(s.presenceFor(c.role)))
	if c.role == string(store.RoleAdmin) {
		c.enqueue(encode(s.activeCallsMsg()))
	}
}

type signalMsg struct {
	Type      string          `json:"type"`
	CallID    string          `json:"callId"`
	SDP       string          `json:"sdp"`
	Candidate json.RawMessage `json:"candidate"`
}

const maxSDP = 16 << 10

func (s *Server) onWSMessage(ctx context.Context, c *wsConn, typ string, raw json.RawMessage) error {
	if typ == "ping" {
		c.enqueue(encode(map[string]string{"type": "pong"}))
		return nil
	}
	var m signalMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		return errBadRequest("malformed %s message", typ)
	}
	if store.ValidID(m.CallID) != nil {
		return errBadRequest("callId must be a call id")
	}
	// A revoked session must not keep signaling on an old socket.
	if _, err := s.sessionAlive(ctx, c); err != nil {
		c.shut(closeRevoked, "session ended")
		return nil
	}
	switch typ {
	case "rtc:offer":
		if m.SDP == "" || len(m.SDP) > maxSDP {
			return errBadRequest("sdp must be 1 to %d bytes", maxSDP)
		}
		answer, err := s.Calls.Offer(ctx, m.CallID, c.pubkey, m.SDP)
		if err != nil {
			return callError(err)
		}
		c.enqueue(encode(map[string]string{"type": "rtc:answer", "callId": m.CallID, "sdp": answer}))
	case "rtc:candidate":
		if len(m.Candidate) == 0 || len(m.Candidate) > 4096 {
			return errBadRequest("candidate must be an RTCIceCandidateInit object")
		}
		if err := s.Calls.Candidate(ctx, m.CallID, c.pubkey, m.Candidate); err != nil {
			return callError(err)
		}
	default:
		return errBadRequest("unknown message type %q", typ)
	}
	return nil
}

// sessionAlive re-checks the socket's session in the store.
func (s *Server) sessionAlive(ctx context.Context, c *wsConn) (store.Session, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) (store.Session, error) {
		sess, err := tx.Session(c.session)
		if err == nil && !s.Now().Before(sess.ExpiresAt) {
			err = auth.ErrUnauthorized
		}
		return sess, err
	})
}

// presenceFor shapes presence per role: volunteers learn only whether
// someone is available (reference §5.1), admins get counts.
func (s *Server) presenceFor(role string) map[string]any {
	counts, err := store.Read(context.Background(), s.Store, func(tx *store.Tx) ([3]int, error) {
		vols, err := tx.Volunteers()
		var c [3]int // available, on a call, total active
		for _, v := range vols {
			if !v.Active {
				continue
			}
			c[2]++
			if s.Calls.OnCall(v.PubKey) {
				c[1]++
			} else if v.Available && !v.OnBreak {
				c[0]++
			}
		}
		return c, err
	})
	if err != nil {
		s.Log.Warn("presence unavailable", "err", err)
	}
	if role == string(store.RoleAdmin) {
		return map[string]any{"type": "presence", "available": counts[0], "onCall": counts[1], "total": counts[2]}
	}
	return map[string]any{"type": "presence", "hasAvailable": counts[0] > 0}
}

// pushPresence asks the refresh loop to send fresh presence and active
// calls to everyone. It never blocks: kicks coalesce, so a burst of changes
// costs one refresh, and the call engine can call it from its own goroutines.
func (s *Server) pushPresence() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// refreshLoop serves pushPresence until ctx ends.
func (s *Server) refreshLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.kick:
		}
		admin, vol := s.presenceFor(string(store.RoleAdmin)), s.presenceFor(string(store.RoleVolunteer))
		calls := s.activeCallsMsg()
		s.hub.broadcast(func(_, role string) any {
			if role == string(store.RoleAdmin) {
				return admin
			}
			return vol
		})
		s.hub.broadcast(func(_, role string) any {
			if role == string(store.RoleAdmin) {
				return calls
			}
			return nil
		})
	}
}

type activeCallJSON struct {
	CallID     string    `json:"callId"`
	State      string    `json:"state"`
	StartedAt  time.Time `json:"startedAt"`
	AnsweredBy string    `json:"answeredBy,omitempty"`
}

func (s *Server) activeCallsMsg() map[string]any {
	calls := s.Calls.Active()
	out := make([]activeCallJSON, 0, len(calls))
	for _, c := range calls {
		out = append(out, activeCallJSON{c.CallID, c.State, c.StartedAt.UTC(), c.AnsweredBy})
	}
	return map[string]any{"type": "calls:active", "calls": out}
}

// Notifier delivers the call engine's events to browsers. Every method only
// queues messages, so the engine never waits on a browser.
type Notifier struct{ s *Server }

func (n *Notifier) Ring(pubkeys []string, callID string, startedAt, ringAt time.Time) {
	msg := map[string]any{"type": "ring", "callId": callID, "startedAt": startedAt.UTC(), "ringAt": ringAt.UTC()}
	for _, pk := range pubkeys {
		n.s.hub.sendTo(pk, msg)
	}
}

func (n *Notifier) RingStop(pubkeys []string, callID, reason string) {
	msg := map[string]any{"type": "ring:stop", "callId": callID, "reason": reason}
	for _, pk := range pubkeys {
		n.s.hub.sendTo(pk, msg)
	}
}

func (n *Notifier) Connected(pubkey, callID string) {
	n.s.hub.sendTo(pubkey, map[string]any{"type": "call:connected", "callId": callID})
}

func (n *Notifier) Ended(pubkey, callID, reason string) {
	n.s.hub.sendTo(pubkey, map[string]any{"type": "call:ended", "callId": callID, "reason": reason})
}

func (n *Notifier) Candidate(pubkey, callID string, candidate json.RawMessage) {
	n.s.hub.sendTo(pubkey, map[string]any{"type": "rtc:candidate", "callId": callID, "candidate": candidate})
}

func (n *Notifier) CallsChanged() { n.s.pushPresence() }
