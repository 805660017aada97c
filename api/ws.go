package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"llamenos/auth"
	"llamenos/people"
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
	if err == nil && who.MustEnrolPasskey {
		err = errEnrolFirst()
	}
	if err != nil {
		writeError(w, r, s.Log, err)
		return
	}
	refused := s.Hub.admit(who.PubKey, s.MaxSocketsPerAccount, s.MaxSockets)
	// The Origin was checked above against the one configured origin.
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		if refused == "" {
			s.Hub.release(who.PubKey)
		}
		return // Accept has answered the client
	}
	if refused != "" {
		// Refused after the upgrade: a page learns a socket's close code
		// and reason, never the status of a refused upgrade.
		s.Log.Warn("websocket refused at its limit", "limit", refused)
		code, reason := closeTooManySockets, "too many connections for this account"
		if refused == limitTotal {
			code, reason = closeServerFull, "server has too many connections; try again later"
		}
		c.Close(code, reason)
		return
	}
	defer s.Hub.release(who.PubKey)
	conn := newWSConn(who.PubKey, who.Session, c)
	role := string(who.Role)
	conn.role.Store(&role)
	// What takes a store read is gathered first; the welcome itself is
	// queued with no call event in flight (Hub.run), so it must be quick.
	me, err := s.People.Me(r.Context(), who.PubKey)
	if err != nil {
		s.Log.Warn("websocket hello failed", "err", err)
	}
	after := [][]byte{encode(s.presenceFor(role))}
	if role == string(store.RoleAdmin) {
		after = append(after, encode(s.activeCallsMsg()))
	}
	welcome := func() {
		if err == nil {
			conn.enqueue(encode(s.helloMsg(conn.pubkey, me)))
		}
		for _, b := range after {
			conn.enqueue(b)
		}
	}
	// The request context ends when the handler returns; the socket lives on
	// the server's lifetime instead, and ends with Shutdown.
	s.Hub.run(context.WithoutCancel(r.Context()), conn, welcome, s.onWSMessage)
	if !s.Hub.connected(who.PubKey) {
		s.Calls.BrowserGone(who.PubKey)
	}
}

// helloMsg is a socket's first message: the account's state, and the
// calls ringing them and the call they answered, as the socket would know
// them had it been open all along. The call events sent after it pick up
// where it leaves off (Hub.run).
func (s *Server) helloMsg(pubkey string, m people.Me) map[string]any {
	rings := make([]ringEntry, 0)
	for _, r := range s.Calls.Ringing(pubkey) {
		rings = append(rings, ringEntry{CallID: r.CallID, StartedAt: r.StartedAt.UTC(), RingAt: r.RingAt.UTC()})
	}
	var call any // null: no call of theirs is in progress
	if id := s.Calls.CurrentCall(pubkey); id != "" {
		call = map[string]string{"callId": id}
	}
	return map[string]any{"type": "hello", "pubkey": m.PubKey, "role": m.Role,
		"available": m.Available, "onBreak": m.OnBreak, "onShift": m.OnShift, "onCall": m.OnCall,
		"rings": rings, "call": call}
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
	if err := s.Auth.SessionAlive(ctx, c.session); err != nil {
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
			return err
		}
		c.enqueue(encode(map[string]string{"type": "rtc:answer", "callId": m.CallID, "sdp": answer}))
	case "rtc:candidate":
		if len(m.Candidate) == 0 || len(m.Candidate) > 4096 {
			return errBadRequest("candidate must be an RTCIceCandidateInit object")
		}
		if err := s.Calls.Candidate(ctx, m.CallID, c.pubkey, m.Candidate); err != nil {
			return err
		}
	default:
		return errBadRequest("unknown message type %q", typ)
	}
	return nil
}

// presenceFor shapes presence per role: volunteers learn only whether
// someone is available (a call arriving now would ring someone), never how
// many or who; admins get counts.
func (s *Server) presenceFor(role string) map[string]any {
	p, err := s.People.CountPresence(context.Background())
	if err != nil {
		s.Log.Warn("presence unavailable", "err", err)
	}
	if role == string(store.RoleAdmin) {
		return map[string]any{"type": "presence", "available": p.Available, "onCall": p.OnCall, "total": p.Total}
	}
	return map[string]any{"type": "presence", "hasAvailable": p.Available > 0}
}

// pushPresence asks the refresh loop to send fresh presence and active
// calls to everyone. It never blocks.
func (s *Server) pushPresence() { s.Hub.CallsChanged() }

// refreshLoop sends fresh presence and active calls to every socket after
// each kick (Hub.CallsChanged), until ctx ends. It also tells the call
// engine when who can be rung changes: a volunteer's first socket opened,
// or the grace of one whose sockets all closed ran out.
func (s *Server) refreshLoop(ctx context.Context) {
	sweep := time.NewTicker(sessionSweepEvery)
	defer sweep.Stop()
	expiry := time.NewTimer(0)
	defer expiry.Stop()
	rearm := func() {
		d, ok := s.Hub.nextReachChange()
		if !ok {
			d = sessionSweepEvery // nothing to expire; the next kick re-arms
		}
		expiry.Reset(d)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			s.sweepSockets(ctx)
			continue
		case <-s.Hub.reach:
			s.Calls.VolunteersChanged()
			rearm()
		case <-expiry.C:
			s.Calls.VolunteersChanged()
			rearm()
		case <-s.Hub.kick:
		}
		admin, vol := s.presenceFor(string(store.RoleAdmin)), s.presenceFor(string(store.RoleVolunteer))
		calls := s.activeCallsMsg()
		s.Hub.broadcast(func(_, role string) any {
			if role == string(store.RoleAdmin) {
				return admin
			}
			return vol
		})
		s.Hub.broadcast(func(_, role string) any {
			if role == string(store.RoleAdmin) {
				return calls
			}
			return nil
		})
	}
}

// sessionSweepEvery is how often open sockets are checked against their
// sessions and accounts: a session that expired while its socket stayed
// open is closed within this time.
const sessionSweepEvery = 30 * time.Second

// sweepSockets closes sockets whose session has ended (expired, signed
// out, account deactivated) and serves every other as its account's
// current role.
func (s *Server) sweepSockets(ctx context.Context) {
	roles := map[string]string{}
	for _, c := range s.Hub.snapshot(func(*wsConn) bool { return true }) {
		if err := s.Auth.SessionAlive(ctx, c.session); errors.Is(err, auth.ErrUnauthorized) {
			c.shut(closeRevoked, "session ended")
			continue
		} else if err != nil {
			s.Log.Warn("socket sweep: session check failed", "err", err)
			continue
		}
		role, ok := roles[c.pubkey]
		if !ok {
			r, err := s.People.Role(ctx, c.pubkey)
			if err != nil {
				s.Log.Warn("socket sweep: account check failed", "err", err)
				continue
			}
			role = string(r)
			roles[c.pubkey] = role
		}
		c.role.Store(&role)
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
