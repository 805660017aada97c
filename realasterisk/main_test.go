//go:build asterisk

package realasterisk

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"testing/fstest"

	"llamenos/config"
	"llamenos/daemon"
	"llamenos/transcribe/transcribetest"
)

// daemonEnv, in the environment of this test binary, makes it run the
// daemon with the configuration file it names instead of the tests. It is
// not a LLAMENOS_ variable: the daemon refuses unknown ones.
const daemonEnv = "REALASTERISK_DAEMON_CONFIG"

func TestMain(m *testing.M) {
	if path := os.Getenv(daemonEnv); path != "" {
		os.Exit(runDaemon(path))
	}
	os.Exit(m.Run())
}

// runDaemon is `llamenos serve --config path` with two differences: media
// candidates on 127.0.0.1, because the stand-in browser runs on this box,
// and the test transcriber, which hears the tones callers and volunteers
// send, in place of whisper.
// It prints "setup URL" (first run) and then "ready" on stdout for the test.
func runDaemon(path string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		log.Error("configuration", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	err = daemon.Run(ctx, cfg, daemon.Options{
		Log: log, Static: fstest.MapFS{}, LoopbackMedia: true, Transcriber: &transcribetest.Transcriber{},
		OnSetupURL: func(url string) { fmt.Printf("setup %s\n", url) },
		Ready:      func() { fmt.Println("ready") },
	})
	if err != nil {
		log.Error("daemon stopped", "err", err)
		return 1
	}
	return 0
}
