package api

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// brokenListener fails every Accept with err, as a listener whose socket
// broke does.
type brokenListener struct {
	addr net.Addr
	err  error
}

func (l brokenListener) Accept() (net.Conn, error) { return nil, l.err }
func (l brokenListener) Close() error              { return nil }
func (l brokenListener) Addr() net.Addr            { return l.addr }

// TestServeReturnsWhenTheListenerFails: a Serve whose listener fails must
// return that failure at once, not wait for the daemon's context, or the
// daemon runs on without HTTP.
func TestServeReturnsWhenTheListenerFails(t *testing.T) {
	broken := errors.New("test: the listener broke")
	for _, tc := range []struct {
		name   string
		listen func(t *testing.T) (net.Listener, func())
		want   func(error) bool
	}{
		{"accept fails", func(t *testing.T) (net.Listener, func()) {
			return brokenListener{addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, err: broken}, func() {}
		}, func(err error) bool { return errors.Is(err, broken) }},
		{"listener closed", func(t *testing.T) (net.Listener, func()) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			return ln, func() { ln.Close() }
		}, func(err error) bool { return errors.Is(err, net.ErrClosed) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ln, breakIt := tc.listen(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- e.srv.Serve(ctx, ln) }()
			breakIt()
			select {
			case err := <-done:
				if err == nil || !tc.want(err) {
					t.Fatalf("Serve returned %v, want the listener's error", err)
				}
			case <-time.After(10 * time.Second):
				cancel()
				<-done
				t.Fatal("Serve still ran 10 s after its listener failed, with its context alive")
			}
		})
	}
}
