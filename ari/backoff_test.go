package ari_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"llamenos/ari"
)

// scriptedAsterisk answers the client's HTTP with no network at all, so the
// client can run inside a synctest bubble where time only moves when every
// goroutine waits on a timer. Each events-socket handshake takes the next
// entry of script: 0 refuses it, d > 0 accepts it and drops the socket d
// later. REST calls get 503.
type scriptedAsterisk struct {
	mu     sync.Mutex
	script []time.Duration
	dials  []time.Time // when each handshake arrived
	ended  []time.Time // when each attempt failed or its socket dropped
}

func (s *scriptedAsterisk) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/events") {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
			Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.dials = append(s.dials, now)
	var hold time.Duration
	if len(s.script) > 0 {
		hold, s.script = s.script[0], s.script[1:]
	}
	if hold == 0 {
		s.ended = append(s.ended, now)
		return nil, errors.New("test: connection refused")
	}
	s.ended = append(s.ended, now.Add(hold))
	client, server := net.Pipe()
	go func() {
		time.Sleep(hold)
		server.Close()
	}()
	go func() { _, _ = io.Copy(io.Discard, server) }()
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return &http.Response{
		StatusCode: http.StatusSwitchingProtocols, Status: "101 Switching Protocols", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"},
			"Sec-Websocket-Accept": {base64.StdEncoding.EncodeToString(sum[:])}},
		Body: client, Request: r,
	}, nil
}

// TestReconnectBackoff: the reconnect delay doubles from MinBackoff up to
// MaxBackoff, with at most ±20% jitter; a connection that lasted at least
// MaxBackoff starts it over, a shorter one does not; and Run returns as
// soon as its context ends, mid-wait. The clock is synctest's: the test
// takes no real time.
func TestReconnectBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const minB, maxB = time.Second, 8 * time.Second
		refuse := time.Duration(0)
		s := &scriptedAsterisk{script: []time.Duration{
			refuse, refuse, refuse, // waits 1, 2, 4
			100 * time.Millisecond, // short-lived: the wait goes on growing, 8
			refuse,                 // capped, 8
			maxB,                   // lived MaxBackoff: back to 1
			refuse, refuse,         // 2, 4
		}}
		want := []time.Duration{1, 2, 4, 8, 8, 1, 2, 4}
		cl, err := ari.New(ari.Config{URL: "http://asterisk.invalid/ari", Username: "u", Password: "p", App: testApp,
			HTTPClient: &http.Client{Transport: s}, MinBackoff: minB, MaxBackoff: maxB,
			PingInterval: time.Hour, Logger: testLogger()})
		mustOK(t, err)
		defer cl.Close()
		// Stop during a wait after the last scripted attempt, however the
		// jitter fell.
		var stopAt time.Duration
		for i, w := range want {
			stopAt += w*time.Second*12/10 + s.script[i]
		}
		stopAt += time.Second
		start := time.Now()
		ctx, cancel := context.WithTimeout(t.Context(), stopAt)
		defer cancel()
		if err := cl.Run(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Run = %v, want deadline exceeded", err)
		}
		if d := time.Since(start); d != stopAt {
			t.Errorf("Run returned %v after the start, want %v: as its context ended", d, stopAt)
		}
		if cl.Connected() {
			t.Error("still reports connected")
		}

		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.dials) < len(want)+1 {
			t.Errorf("%d attempts, want at least %d", len(s.dials), len(want)+1)
		}
		for i, w := range want {
			if i+1 >= len(s.dials) {
				break
			}
			w *= time.Second
			gap := s.dials[i+1].Sub(s.ended[i])
			if gap < w*8/10 || gap > w*12/10 {
				t.Errorf("wait %d: %v, want %v ±20%%", i+1, gap, w)
			}
		}
	})
}
