package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dialStalling opens u's socket over a connection whose receive buffer is
// as small as the kernel allows, so that once the test stops reading it,
// the server's writes back up after a few kilobytes rather than megabytes
// (with smallSendBuffers on the server's side).
func dialStalling(t *testing.T, e *env, u *user) *websocket.Conn {
	t.Helper()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024) })
		return errors.Join(err, serr)
	}}
	tr := &http.Transport{DialContext: d.DialContext, Proxy: nil}
	t.Cleanup(tr.CloseIdleConnections)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Origin", e.origin)
	h.Set("Cookie", cookieName+"="+u.cookie)
	c, _, err := websocket.Dial(ctx, strings.Replace(e.origin, "http", "ws", 1)+"/api/ws",
		&websocket.DialOptions{HTTPHeader: h, HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// smallSendBuffers makes every connection the server accepts keep a send
// buffer as small as the kernel allows, so a peer that stops reading
// blocks the server's writes after a few kilobytes.
func smallSendBuffers(s *envSetup) {
	s.listener = func(ln net.Listener) net.Listener { return sndbufListener{ln} }
}

type sndbufListener struct{ net.Listener }

func (l sndbufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetWriteBuffer(1024); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// metricsBody returns the metrics listener's /metrics.
func (e *env) metricsBody() string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestSlowSocketIsClosedOthersKeepUp: a browser that stops reading while
// the hub sends rings to it and to a healthy browser is closed once its
// queue is full, while the healthy one gets every message, in order, as
// it is sent; nothing of the slow socket is left behind (newEnv checks
// for goroutines). Writes never time out here, so only the full queue
// can close the slow socket.
func TestSlowSocketIsClosedOthersKeepUp(t *testing.T) {
	e := newEnv(t, nil, smallSendBuffers, withDeps(func(d *Deps) { d.Hub.writeTimeout = time.Hour }))
	admin := e.setupAdmin()
	stalled := e.join(admin, "volunteer")
	healthy := e.socket(admin)
	readUntil(t, healthy, 5*time.Second, "hello", ofType("hello"))
	slow := dialStalling(t, e, stalled)
	// The hello is written after the socket is registered; from here on
	// the slow browser reads nothing.
	readUntil(t, slow, 5*time.Second, "hello", ofType("hello"))

	// Far more than the kernel buffers between the two ends (a few
	// kilobytes: about a hundred rings) and the socket's queue hold, so the
	// bound is reached only if the full queue fails to close the socket.
	const limit = 5000
	pks := []string{admin.pk, stalled.pk}
	at := time.Now()
	sent, closedAt := 0, -1
	for ; sent < limit && (closedAt < 0 || sent < closedAt+10); sent++ {
		id := fmt.Sprintf("c%d", sent)
		want := "ring"
		if sent%2 == 0 {
			e.srv.Hub.Ring(pks, id, at, at)
		} else {
			want = "ring:stop"
			e.srv.Hub.RingStop(pks, id, "timeout")
		}
		// The healthy browser gets this message before the next is sent:
		// neither the hub nor its socket waits on the slow one.
		f := readUntil(t, healthy, 10*time.Second, want+" "+id, func(m map[string]any) bool {
			return m["type"] == "ring" || m["type"] == "ring:stop"
		})
		if f.m["type"] != want || f.m["callId"] != id {
			t.Fatalf("healthy browser got %s after %d messages, want %s %s", f.raw, sent, want, id)
		}
		if closedAt < 0 && !e.srv.Hub.connected(stalled.pk) {
			closedAt = sent
		}
	}
	if closedAt < 0 {
		t.Fatalf("the socket that stopped reading is still open after %d messages", sent)
	}
	t.Logf("slow socket closed after %d messages; %d sent in all", closedAt+1, sent)
	if !e.srv.Hub.connected(admin.pk) || e.srv.Hub.count() != 1 {
		t.Fatalf("%d sockets open, want the healthy one only", e.srv.Hub.count())
	}
	if body := e.metricsBody(); !strings.Contains(body, "llamenos_browser_sockets_slow_closed_total 1\n") {
		t.Errorf("metrics do not count the slow socket:\n%s", body)
	}

	// The slow browser, reading again, finds what was buffered for it and
	// then the end of the connection, not a socket still open.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	frames := 0
	for ; frames <= limit; frames++ {
		if _, _, err := slow.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the slow socket is still open after %d buffered frames", frames)
			}
			t.Logf("the slow socket ended after %d buffered frames: %v", frames, err)
			break
		}
	}
	if frames >= sent {
		t.Errorf("the slow socket got %d frames of %d: it was not cut off", frames, sent)
	}

	// The healthy socket is still served.
	if err := healthy.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	readUntil(t, healthy, 5*time.Second, "pong", ofType("pong"))
}

// TestSocketLimits: an account past its socket limit, and anyone past the
// server's, gets a socket that is closed at once with a code and reason
// the page can show; a freed slot is taken again; the metrics count the
// refusals.
func TestSocketLimits(t *testing.T) {
	e := newEnv(t, nil, withDeps(func(d *Deps) { d.MaxSocketsPerAccount, d.MaxSockets = 2, 3 }))
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")

	refusedWith := func(u *user, code websocket.StatusCode, reason string) {
		t.Helper()
		c, err := dialWS(t, e, u)
		if err != nil {
			t.Fatalf("the upgrade itself failed (%v): a page could not tell why", err)
		}
		defer c.CloseNow()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, msg, err := c.Read(ctx)
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
			t.Fatalf("socket past the limit: read %q, %v; want close %d %q", msg, err, code, reason)
		}
	}

	v1, v2 := e.socket(v), e.socket(v)
	readUntil(t, v1, 5*time.Second, "hello", ofType("hello"))
	readUntil(t, v2, 5*time.Second, "hello", ofType("hello"))
	refusedWith(v, 4029, "too many connections for this account")
	a1 := e.socket(admin)
	readUntil(t, a1, 5*time.Second, "hello", ofType("hello"))
	refusedWith(admin, 1013, "server has too many connections; try again later")
	if n := e.srv.Hub.count(); n != 3 {
		t.Fatalf("%d sockets open, want 3", n)
	}
	body := e.metricsBody()
	for _, want := range []string{`llamenos_browser_sockets_refused_total{limit="account"} 1`, `llamenos_browser_sockets_refused_total{limit="total"} 1`} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}

	// One of v's sockets closes: its slot is free for v again.
	v1.Close(websocket.StatusNormalClosure, "")
	waitFor(t, 10*time.Second, "the closed socket's slot to be released", func() bool {
		e.srv.Hub.mu.Lock()
		defer e.srv.Hub.mu.Unlock()
		return e.srv.Hub.slots[v.pk] == 1
	})
	v3 := e.socket(v)
	readUntil(t, v3, 5*time.Second, "hello", ofType("hello"))
	if e.srv.Hub.refusedAccount.Load() != 1 || e.srv.Hub.refusedTotal.Load() != 1 {
		t.Error("a socket within the limits was counted as refused")
	}
}

// TestMetricsCountRefusedCalls: the engine's count of callers turned away
// at the cap on live calls is on /metrics.
func TestMetricsCountRefusedCalls(t *testing.T) {
	e := newEnv(t, nil, withDeps(func(d *Deps) { d.CallsRefused = func() uint64 { return 7 } }))
	if body := e.metricsBody(); !strings.Contains(body, "\nllamenos_calls_refused_total 7\n") {
		t.Errorf("metrics lack the refused calls:\n%s", body)
	}
}
