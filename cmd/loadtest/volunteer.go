package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/rtp"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/rtc/rtctest"
)

const cookieName = "__Host-llamenos_session"

// account is one signed-in person: a key pair, a session, and an HTTP
// client that connects from the person's own loopback address. The daemon
// caps connections and sign-ins per address, as it should; 500 volunteers
// behind one address would be refused, so each gets its own address in
// 127.0.0.0/8 (still this machine's loopback).
type account struct {
	d      *daemonProc
	ip     net.IP
	sk     e2eetest.SecretKey
	pk     string
	cookie string
	client *http.Client
}

func newAccount(d *daemonProc, ip net.IP) (*account, error) {
	sk, err := e2eetest.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	// Requests name the daemon by its public origin (localhost:PORT, the
	// host the daemon answers to) and go to its loopback address.
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dialer.DialContext(ctx, "tcp4", d.addr)
	}
	tr := &http.Transport{DialContext: dial, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute}
	return &account{d: d, ip: ip, sk: sk, pk: sk.Public().String(), client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}, nil
}

// accountIP is volunteer i's loopback address: 127.0.1.1 onwards, the
// admin being 127.0.0.1.
func accountIP(i int) net.IP { return net.IPv4(127, 0, byte(1+i/250), byte(1+i%250)) }

type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %.200s", e.status, e.body) }

func (a *account) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.d.origin+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Origin", a.d.origin)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.cookie != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: a.cookie})
	}
	res, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			a.cookie = c.Value
		}
	}
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %w", method, path, &apiError{res.StatusCode, string(b)})
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func (a *account) proof(ctx context.Context, purpose string) (map[string]any, error) {
	var ch struct{ Challenge string }
	if err := a.do(ctx, "POST", "/api/auth/challenge", map[string]string{"purpose": purpose}, &ch); err != nil {
		return nil, err
	}
	raw, err := e2ee.DecodeBase64URL(ch.Challenge)
	if err != nil {
		return nil, err
	}
	sig, err := e2eetest.SignAuth(rand.Reader, a.sk, purpose, a.d.origin, raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{"pubkey": a.pk, "challenge": ch.Challenge, "signature": e2ee.EncodeBase64URL(sig)}, nil
}

func (a *account) profile(admins ...string) (string, error) {
	var pks []e2ee.PublicKey
	for _, r := range append([]string{a.pk}, admins...) {
		pk, err := e2ee.ParsePublicKeyHex(r)
		if err != nil {
			return "", err
		}
		pks = append(pks, pk)
	}
	env, err := e2ee.Seal(rand.Reader, []byte(`{"name":"Load Volunteer"}`), e2ee.Context{Purpose: e2ee.PurposeVolunteerProfile, ItemID: a.pk}, pks)
	if err != nil {
		return "", err
	}
	return e2ee.EncodeBase64URL(env), nil
}

// setupAdmin creates the first admin with the daemon's one-time link.
func setupAdmin(ctx context.Context, d *daemonProc) (*account, error) {
	a, err := newAccount(d, net.IPv4(127, 0, 0, 1))
	if err != nil {
		return nil, err
	}
	body, err := a.proof(ctx, "setup")
	if err != nil {
		return nil, err
	}
	body["token"] = d.setupToken()
	if body["profile"], err = a.profile(); err != nil {
		return nil, err
	}
	return a, a.do(ctx, "POST", "/api/setup", body, nil)
}

// join makes a volunteer through an invite, as a person would, and sets
// them available.
func join(ctx context.Context, admin *account, ip net.IP) (*account, error) {
	var inv struct{ Code string }
	if err := admin.do(ctx, "POST", "/api/invites", map[string]any{"role": "volunteer"}, &inv); err != nil {
		return nil, err
	}
	v, err := newAccount(admin.d, ip)
	if err != nil {
		return nil, err
	}
	body, err := v.proof(ctx, "invite")
	if err != nil {
		return nil, err
	}
	if body["profile"], err = v.profile(admin.pk); err != nil {
		return nil, err
	}
	if err := v.do(ctx, "POST", "/api/invites/"+inv.Code+"/accept", body, nil); err != nil {
		return nil, err
	}
	return v, v.do(ctx, "PUT", "/api/me/availability", map[string]bool{"available": true, "onBreak": false}, nil)
}

// volunteer is a signed-in page: a WebSocket, and while on a call a
// stand-in browser (rtctest) carrying the audio.
type volunteer struct {
	*account
	idx int
	ws  *websocket.Conn
	l   *loader

	mu      sync.Mutex
	busy    bool // claimed a call
	call    *volCall
	stopped bool
}

// volCall is a volunteer's side of one call.
type volCall struct {
	id        string
	connected chan struct{}
	answer    chan string
	ended     chan string
	endOnce   sync.Once
	browser   *rtctest.Browser

	sending   atomic.Bool
	sent      atomic.Int64 // packets with sound
	sentQuiet atomic.Int64 // packets of silence
	// Only the sending goroutine touches these.
	lastSend time.Time
	talk     talker

	rxMu       sync.Mutex
	firstAt    time.Time
	recv       int64
	firstSeq   int64 // extended sequence number of the first packet
	highestSeq int64
}

func (c *volCall) onRTP(p *rtp.Packet) {
	c.rxMu.Lock()
	defer c.rxMu.Unlock()
	if c.recv == 0 {
		c.firstAt = time.Now()
		c.firstSeq = int64(p.SequenceNumber)
		c.highestSeq = c.firstSeq
		c.recv = 1
		return
	}
	c.recv++
	// Extend the 16-bit sequence number across wraps: the nearest
	// extended number to the highest seen so far.
	ext := c.highestSeq + int64(int16(p.SequenceNumber-uint16(c.highestSeq)))
	c.highestSeq = max(c.highestSeq, ext)
}

// downCounts are the packets the browser received and the number the
// relay's sequence numbers say it sent, since the first one.
func (c *volCall) downCounts() (recv, expected int64) {
	c.rxMu.Lock()
	defer c.rxMu.Unlock()
	if c.recv == 0 {
		return 0, 0
	}
	return c.recv, c.highestSeq - c.firstSeq + 1
}

func (v *volunteer) connect(ctx context.Context) error {
	hc := &http.Client{Transport: v.client.Transport}
	h := http.Header{}
	h.Set("Origin", v.d.origin)
	h.Set("Cookie", (&http.Cookie{Name: cookieName, Value: v.cookie}).String())
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(v.d.origin, "http")+"/api/ws", &websocket.DialOptions{HTTPClient: hc, HTTPHeader: h})
	if err != nil {
		return fmt.Errorf("volunteer %d: websocket: %w", v.idx, err)
	}
	ws.SetReadLimit(1 << 20)
	v.ws = ws
	return nil
}

type wsMsg struct {
	Type      string          `json:"type"`
	CallID    string          `json:"callId"`
	SDP       string          `json:"sdp"`
	Candidate json.RawMessage `json:"candidate"`
	Reason    string          `json:"reason"`
	Code      string          `json:"code"`
	Message   string          `json:"message"`
}

// read handles the socket's messages until it closes.
func (v *volunteer) read(ctx context.Context) {
	for {
		_, b, err := v.ws.Read(ctx)
		at := time.Now()
		if err != nil {
			v.mu.Lock()
			stopped := v.stopped
			v.mu.Unlock()
			if !stopped && ctx.Err() == nil {
				v.l.fail(fmt.Errorf("volunteer %d: socket closed: %w", v.idx, err))
			}
			return
		}
		var m wsMsg
		if err := json.Unmarshal(b, &m); err != nil {
			v.l.fail(fmt.Errorf("volunteer %d: bad message: %w", v.idx, err))
			continue
		}
		switch m.Type {
		case "ring":
			v.l.rang(v, m.CallID, at)
		case "ring:stop":
			v.l.ringStopped(m.CallID)
		case "call:connected", "rtc:answer", "rtc:candidate", "call:ended":
			v.mu.Lock()
			c := v.call
			v.mu.Unlock()
			if c == nil || c.id != m.CallID {
				if m.Type != "call:ended" {
					v.l.fail(fmt.Errorf("volunteer %d: %s for a call it does not hold", v.idx, m.Type))
				}
				continue
			}
			switch m.Type {
			case "call:connected":
				close(c.connected)
			case "rtc:answer":
				c.answer <- m.SDP
			case "rtc:candidate":
				if string(m.Candidate) != "null" && len(m.Candidate) > 0 {
					if err := c.browser.AddCandidate(m.Candidate); err != nil {
						v.l.fail(fmt.Errorf("volunteer %d: %w", v.idx, err))
					}
				}
			case "call:ended":
				c.endOnce.Do(func() { c.ended <- m.Reason; close(c.ended) })
			}
		case "error":
			v.l.fail(fmt.Errorf("volunteer %d: daemon refused a message: %s %s", v.idx, m.Code, m.Message))
		}
	}
}

func (v *volunteer) send(ctx context.Context, m any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return v.ws.Write(ctx, websocket.MessageText, b)
}

// answer takes call id: the answer request, the offer, the connection,
// and the first packet of the caller's audio. It returns the time from
// the answer request to that packet.
func (v *volunteer) answer(ctx context.Context, id string) (*volCall, time.Duration, error) {
	c := &volCall{id: id, connected: make(chan struct{}), answer: make(chan string, 1), ended: make(chan string, 1), talk: newTalker()}
	first := make(chan struct{})
	var firstOnce sync.Once
	b, err := rtctest.New(rtctest.Options{OnRTP: func(p *rtp.Packet) {
		c.onRTP(p)
		firstOnce.Do(func() { close(first) })
	}})
	if err != nil {
		return nil, 0, err
	}
	c.browser = b
	v.mu.Lock()
	v.call = c
	v.mu.Unlock()
	start := time.Now()
	if err := v.do(ctx, "POST", "/api/calls/"+id+"/answer", nil, nil); err != nil {
		return c, 0, fmt.Errorf("volunteer %d: answer: %w", v.idx, err)
	}
	step := func(what string, ch <-chan struct{}) error {
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("volunteer %d: waiting for %s: %w", v.idx, what, ctx.Err())
		}
	}
	if err := step("call:connected", c.connected); err != nil {
		return c, 0, err
	}
	offer, err := b.Offer(ctx)
	if err != nil {
		return c, 0, err
	}
	if err := v.send(ctx, map[string]string{"type": "rtc:offer", "callId": id, "sdp": offer}); err != nil {
		return c, 0, fmt.Errorf("volunteer %d: send offer: %w", v.idx, err)
	}
	select {
	case sdp := <-c.answer:
		if err := b.SetAnswer(sdp); err != nil {
			return c, 0, err
		}
	case <-ctx.Done():
		return c, 0, fmt.Errorf("volunteer %d: waiting for rtc:answer: %w", v.idx, ctx.Err())
	}
	if err := b.WaitConnected(ctx); err != nil {
		return c, 0, err
	}
	if err := step("the caller's first packet", first); err != nil {
		return c, 0, err
	}
	lat := time.Since(start)
	// The microphone starts once the caller is heard: the caller is in the
	// bridge then, so everything sent counts against what the caller hears.
	c.sending.Store(true)
	return c, lat, nil
}

// release forgets the volunteer's call once it has ended.
func (v *volunteer) release(c *volCall) {
	c.sending.Store(false)
	c.browser.Close()
	v.mu.Lock()
	if v.call == c {
		v.call = nil
	}
	v.busy = false
	v.mu.Unlock()
}

var errNoRing = errors.New("no volunteer claimed the call")

// talker says when a stand-in volunteer speaks: talk spurts of 0.5–1.5 s
// and pauses of 0.3–1.0 s, as in a conversation, so the relay's playout
// buffer meets pauses as it does with a person.
type talker struct {
	rng      *mrand.Rand
	speaking bool
	left     int // packets left in this spurt or pause
}

func newTalker() talker {
	rng := mrand.New(mrand.NewPCG(mrand.Uint64(), mrand.Uint64()))
	return talker{rng: rng, speaking: rng.IntN(2) == 0, left: 1 + rng.IntN(50)}
}

// next reports whether the next 20 ms packet carries sound.
func (t *talker) next() bool {
	if t.left == 0 {
		t.speaking = !t.speaking
		if t.speaking {
			t.left = 25 + t.rng.IntN(51)
		} else {
			t.left = 15 + t.rng.IntN(36)
		}
	}
	t.left--
	return t.speaking
}
