package rtc

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"llamenos/rtc/rtctest"
)

// syncBuffer is a log sink read after the writers have stopped.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var icePwd = regexp.MustCompile(`a=ice-pwd:(\S+)`)

// TestDebugLogHoldsNoSecrets: even at debug level, a call's log has
// neither side's ICE password nor Pion's dumps of its structs.
func TestDebugLogHoldsNoSecrets(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := testEngine(t, func(c *Config) { c.Logger = log })
	r, err := e.NewRelay("secrets")
	if err != nil {
		t.Fatal(err)
	}
	withAsterisk(t, r)
	b := rtctest.MustNew(t, rtctest.Options{})
	off := offer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ans, err := r.HandleOffer(ctx, off)
	if err != nil {
		t.Fatal(err)
	}
	answer(t, b, ans, 20*time.Second)
	rtctest.WaitFor(t, 20*time.Second, "relay connected", r.upConnected.Load)
	r.Close()
	e.Close()

	var secrets []string
	for _, sdp := range []string{off, ans} {
		for _, m := range icePwd.FindAllStringSubmatch(sdp, -1) {
			secrets = append(secrets, m[1])
		}
	}
	if len(secrets) < 2 {
		t.Fatalf("found %d ICE passwords in the offer and answer, want both sides'", len(secrets))
	}
	out := logs.String()
	if !strings.Contains(out, "level=") {
		t.Fatal("the engine logged nothing at debug level; the test would prove nothing")
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the log holds an ICE password:\n%s", out)
		}
	}
	if strings.Contains(out, "&{") {
		t.Errorf("the log holds a struct dump:\n%s", out)
	}
}
