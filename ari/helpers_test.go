package ari_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"runtime"
	"testing"
	"time"

	"llamenos/ari"
	"llamenos/ari/aritest"
)

const testApp = "hotline"

func testLogger() *slog.Logger {
	if os.Getenv("ARI_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// env is a simulator plus a connected client for one test.
type env struct {
	t   *testing.T
	sim *aritest.Server
	cl  *ari.Client
	ctx context.Context
	// allowReplaced accepts Run ending with ErrApplicationReplaced.
	allowReplaced bool
}

func newEnv(t *testing.T, opts aritest.Options, tweak func(*ari.Config)) *env {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	sim, err := aritest.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ari.Config{
		URL: sim.URL(), Username: sim.Username(), Password: sim.Password(), App: testApp,
		Logger: testLogger(), MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	cl, err := ari.New(cfg)
	if err != nil {
		sim.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	runErr := make(chan error, 1)
	go func() { runErr <- cl.Run(ctx) }()
	e := &env{t: t, sim: sim, cl: cl, ctx: ctx}
	t.Cleanup(func() {
		cl.Close()
		if err := <-runErr; err != nil && err != context.Canceled && !(e.allowReplaced && errors.Is(err, ari.ErrApplicationReplaced)) {
			t.Errorf("Run returned %v", err)
		}
		cancel()
		sim.Close()
	})
	if err := sim.WaitApp(ctx, testApp); err != nil {
		t.Fatal(err)
	}
	return e
}

// note waits for the next notification of type T, skipping others.
func note[T ari.Notification](e *env) T {
	e.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case n, ok := <-e.cl.Notifications():
			if !ok {
				e.t.Fatal("notifications closed")
			}
			if v, ok := n.(T); ok {
				return v
			}
		case <-timeout:
			var zero T
			e.t.Fatalf("no %T within 5s", zero)
			return zero
		}
	}
}

// next waits for the next event of type T on sub; other events are returned
// in skipped.
func next[T ari.Event](t *testing.T, sub *ari.Subscription) (T, []ari.Event) {
	t.Helper()
	var skipped []ari.Event
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev, ok := <-sub.Events():
			if !ok {
				t.Fatal("subscription closed")
			}
			if v, ok := ev.(T); ok {
				return v, skipped
			}
			skipped = append(skipped, ev)
		case <-timeout:
			var zero T
			t.Fatalf("no %T within 5s (skipped %s)", zero, types(skipped))
			return zero, nil
		}
	}
}

func types(evs []ari.Event) string {
	s := ""
	for _, e := range evs {
		s += e.Base().Type + " "
	}
	return s
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// checkGoroutines fails if the goroutine count does not settle back to
// (about) base.
func checkGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines, want <= %d:\n%s", n, base, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
