package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestDebugListenIsLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0", "nonsense"} {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"serve", "--config", "/nonexistent", "--debug-listen", addr}, &out, &errb)
		if code != 2 || !strings.Contains(errb.String(), "--debug-listen") {
			t.Errorf("serve --debug-listen %s: exit %d: %s", addr, code, errb.String())
		}
	}
}

func TestDebugListenServesProfiles(t *testing.T) {
	stop, addr, err := serveDebugAddr(context.Background(), "127.0.0.1:0", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(string(b), "goroutine profile: total ") {
		t.Fatalf("HTTP %d: %.100s", res.StatusCode, b)
	}
}
