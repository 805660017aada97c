package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestGoroutineProfile: the count is read off the profile's first line,
// and the whole profile is saved to a file.
func TestGoroutineProfile(t *testing.T) {
	const profile = "goroutine profile: total 7\n3 @ 0x1 0x2\n#\t0x1\tmain.f+0x1\t/x.go:1\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/debug/pprof/goroutine" || r.URL.Query().Get("debug") != "1" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(profile))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	if n, err := goroutines(ctx, addr); err != nil || n != 7 {
		t.Fatalf("goroutines = %d, %v; want 7", n, err)
	}
	path, err := saveGoroutines(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	if b, err := os.ReadFile(path); err != nil || string(b) != profile {
		t.Fatalf("saved %q, %v; want the profile", b, err)
	}
	srv.Close()
	if _, err := goroutines(ctx, addr); err == nil {
		t.Fatal("no error from a listener that is gone")
	}
}
