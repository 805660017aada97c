//go:build asterisk

package realasterisk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/rtc/rtctest"
	"llamenos/store"
)

// person is someone signed in to the daemon, as their browser would be.
type person struct {
	t      *testing.T
	d      *llamenos
	sk     e2eetest.SecretKey
	pk     string
	cookie string
}

const sessionCookie = "__Host-llamenos_session"

func newPerson(t *testing.T, d *llamenos) *person {
	t.Helper()
	sk, err := e2eetest.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &person{t: t, d: d, sk: sk, pk: sk.Public().String()}
}

// do sends one API request with the browser's Origin and p's session, and
// decodes a 2xx answer into out.
func (p *person) do(method, path string, body, out any) (int, error) {
	var rd io.Reader
	ctype := "application/json"
	if raw, ok := body.([]byte); ok { // a recording
		rd, ctype = bytes.NewReader(raw), "audio/wav"
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	// To 127.0.0.1, where it listens, as to the host of its public URL.
	req, err := http.NewRequest(method, "http://"+p.d.addr+path, rd)
	if err != nil {
		return 0, err
	}
	req.Host = p.d.host()
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Origin", p.d.origin)
	if p.cookie != "" {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: p.cookie})
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, err
	}
	for _, c := range res.Cookies() {
		if c.Name == sessionCookie {
			p.cookie = c.Value
		}
	}
	if res.StatusCode/100 != 2 {
		return res.StatusCode, fmt.Errorf("%s %s: %s: %s", method, path, res.Status, b)
	}
	if out != nil && len(b) > 0 {
		return res.StatusCode, json.Unmarshal(b, out)
	}
	return res.StatusCode, nil
}

// must is do that fails the test on any error.
func (p *person) must(method, path string, body, out any) {
	p.t.Helper()
	if _, err := p.do(method, path, body, out); err != nil {
		p.t.Fatal(err)
	}
}

// proof signs a fresh challenge for purpose, as the browser does.
func (p *person) proof(purpose string) map[string]any {
	p.t.Helper()
	var ch struct{ Challenge string }
	p.must("POST", "/api/auth/challenge", map[string]string{"purpose": purpose}, &ch)
	raw, err := e2ee.DecodeBase64URL(ch.Challenge)
	if err != nil {
		p.t.Fatal(err)
	}
	sig, err := e2eetest.SignAuth(rand.Reader, p.sk, purpose, p.d.origin, raw)
	if err != nil {
		p.t.Fatal(err)
	}
	return map[string]any{"pubkey": p.pk, "challenge": ch.Challenge, "signature": e2ee.EncodeBase64URL(sig)}
}

// profile seals a made-up profile to its owner and the admins.
func (p *person) profile(admins ...string) string {
	p.t.Helper()
	var pks []e2ee.PublicKey
	for _, s := range append([]string{p.pk}, admins...) {
		pk, err := e2ee.ParsePublicKeyHex(s)
		if err != nil {
			p.t.Fatal(err)
		}
		pks = append(pks, pk)
	}
	env, err := e2ee.Seal(rand.Reader, []byte(`{"name":"Test Person"}`),
		e2ee.Context{Purpose: e2ee.PurposeVolunteerProfile, ItemID: p.pk}, pks)
	if err != nil {
		p.t.Fatal(err)
	}
	return e2ee.EncodeBase64URL(env)
}

// setupAdmin creates the first admin with the daemon's setup token.
func setupAdmin(t *testing.T, d *llamenos) *person {
	t.Helper()
	if d.setup == "" {
		t.Fatal("the daemon printed no setup link")
	}
	a := newPerson(t, d)
	body := a.proof("setup")
	body["token"] = d.setup
	body["profile"] = a.profile()
	a.must("POST", "/api/setup", body, nil)
	// The first admin starts the signed admin set, as their browser does:
	// the daemon seals voicemails, transcripts and caller numbers to the
	// admins it vouches for, and to nobody before it.
	st, err := e2eetest.SignAdminStatement(rand.Reader, a.sk, e2ee.AdminStatement{Op: e2ee.AdminAdd, Key: a.sk.Public(), Prev: e2ee.AdminSet{}.Head})
	if err != nil {
		t.Fatal(err)
	}
	a.must("POST", "/api/admin-set", map[string]any{"statement": store.AdminStatementView(st)}, nil)
	return a
}

// invite makes a volunteer through an invite from admin.
func invite(t *testing.T, d *llamenos, admin *person) *person {
	t.Helper()
	var inv struct{ Code string }
	admin.must("POST", "/api/invites", map[string]any{"role": "volunteer"}, &inv)
	v := newPerson(t, d)
	var info struct{ Admins []string }
	v.must("GET", "/api/invites/"+inv.Code, nil, &info)
	body := v.proof("invite")
	body["profile"] = v.profile(info.Admins...)
	v.must("POST", "/api/invites/"+inv.Code+"/accept", body, nil)
	return v
}

// setAvailable sets p available (or not), off break.
func (p *person) setAvailable(available bool) {
	p.t.Helper()
	p.must("PUT", "/api/me/availability", map[string]bool{"available": available, "onBreak": false}, nil)
}

// message is one WebSocket message from the daemon, stamped on arrival.
type message struct {
	Type      string          `json:"type"`
	CallID    string          `json:"callId"`
	Reason    string          `json:"reason"`
	SDP       string          `json:"sdp"`
	Candidate json.RawMessage `json:"candidate"`
	Calls     []struct {
		CallID string `json:"callId"`
		State  string `json:"state"`
	} `json:"calls"`
	// Rings: in the hello, the calls ringing this volunteer right now.
	Rings []struct {
		CallID string `json:"callId"`
	} `json:"rings"`
	// Call: in the hello, the call the volunteer is on, if any.
	Call *struct {
		CallID string `json:"callId"`
	} `json:"call"`
	at time.Time
}

// rung matches a ring for callID: a ring message, or the hello of a
// socket that connected while the call was already ringing.
func rung(callID string) func(message) bool {
	return func(m message) bool {
		if m.Type == "ring" {
			return m.CallID == callID
		}
		return m.Type == "hello" && slices.ContainsFunc(m.Rings, func(r struct {
			CallID string `json:"callId"`
		}) bool {
			return r.CallID == callID
		})
	}
}

// socket is p's open /api/ws. The candidates the daemon trickles go
// straight to the browser of the call being set up.
type socket struct {
	p    *person
	c    *websocket.Conn
	msgs chan message

	mu      sync.Mutex
	browser *rtctest.Browser
	done    chan struct{}
}

// connect opens p's WebSocket; it is closed when the test ends.
func (p *person) connect() *socket {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	h := http.Header{"Origin": {p.d.origin}, "Cookie": {sessionCookie + "=" + p.cookie}}
	c, _, err := websocket.Dial(ctx, "ws://"+p.d.addr+"/api/ws", &websocket.DialOptions{HTTPHeader: h, Host: p.d.host()})
	if err != nil {
		p.t.Fatalf("websocket: %v", err)
	}
	s := &socket{p: p, c: c, msgs: make(chan message, 1024), done: make(chan struct{})}
	go s.read()
	p.t.Cleanup(s.close)
	return s
}

func (s *socket) read() {
	defer close(s.done)
	for {
		_, b, err := s.c.Read(context.Background())
		if err != nil {
			close(s.msgs)
			return
		}
		var m message
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		m.at = time.Now()
		if m.Type == "rtc:candidate" {
			s.mu.Lock()
			b := s.browser
			s.mu.Unlock()
			if b != nil {
				if err := b.AddCandidate(m.Candidate); err != nil {
					s.p.t.Errorf("the daemon sent a malformed candidate: %v", err)
				}
			}
			continue
		}
		select {
		case s.msgs <- m:
		default:
			s.p.t.Errorf("socket: message %s dropped, the test reads too slowly", m.Type)
		}
	}
}

func (s *socket) close() {
	s.c.Close(websocket.StatusNormalClosure, "")
	<-s.done
}

// next waits up to d for a message that match accepts, skipping others,
// and fails the test without one.
func (s *socket) next(d time.Duration, what string, match func(message) bool) message {
	s.p.t.Helper()
	m, err := s.try(d, what, match)
	if err != nil {
		s.p.t.Fatal(err)
	}
	return m
}

// try is next that returns the failure instead.
func (s *socket) try(d time.Duration, what string, match func(message) bool) (message, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				return message{}, fmt.Errorf("the socket closed while waiting for %s", what)
			}
			if match(m) {
				return m, nil
			}
		case <-timer.C:
			return message{}, fmt.Errorf("no %s within %v", what, d)
		}
	}
}

// is matches a message type (and call, unless callID is empty).
func is(typ, callID string) func(message) bool {
	return func(m message) bool { return m.Type == typ && (callID == "" || m.CallID == callID) }
}

// answer takes the call and brings the stand-in browser's WebRTC up, as
// the app does after a ring: answer, wait for call:connected, offer, apply
// the answer and the trickled candidates.
func (s *socket) answer(callID string) *rtctest.Browser {
	s.p.t.Helper()
	s.p.must("POST", "/api/calls/"+callID+"/answer", nil, nil)
	s.next(10*time.Second, "call:connected", is("call:connected", callID))
	b := rtctest.MustNew(s.p.t, rtctest.Options{})
	s.mu.Lock()
	s.browser = b
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer, err := b.Offer(ctx)
	if err != nil {
		s.p.t.Fatal(err)
	}
	msg, _ := json.Marshal(map[string]string{"type": "rtc:offer", "callId": callID, "sdp": offer})
	if err := s.c.Write(ctx, websocket.MessageText, msg); err != nil {
		s.p.t.Fatal(err)
	}
	ans := s.next(20*time.Second, "rtc:answer", is("rtc:answer", callID))
	if err := b.SetAnswer(ans.SDP); err != nil {
		s.p.t.Fatal(err)
	}
	if err := b.WaitConnected(ctx); err != nil {
		s.p.t.Fatal(err)
	}
	return b
}
