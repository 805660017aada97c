package hotline

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"llamenos/rtc/rtctest"
)

// stallLimit is short so a stall shows quickly, and long enough that a
// loaded machine does not stall a healthy loop that long.
const stallLimit = 500 * time.Millisecond

// waitAlive waits until Alive's verdict satisfies ok.
func waitAlive(t *testing.T, e *Engine, what string, ok func(error) bool) error {
	t.Helper()
	var err error
	rtctest.WaitFor(t, 10*time.Second, what, func() bool {
		err = e.Alive(time.Now())
		return ok(err)
	})
	return err
}

func healthy(err error) bool { return err == nil }

// stallOn is a log handler that holds still whichever goroutine logs a
// message starting with msg, while armed, until release closes: a way to
// stop one loop at a known point without touching its locks.
type stallOn struct {
	slog.Handler
	msg     string
	armed   *atomic.Bool
	reached chan struct{}
	release chan struct{}
}

func newStallOn(h slog.Handler, msg string) stallOn {
	return stallOn{Handler: h, msg: msg, armed: new(atomic.Bool), reached: make(chan struct{}, 1), release: make(chan struct{})}
}

func (s stallOn) Handle(ctx context.Context, r slog.Record) error {
	if s.armed.Load() && strings.HasPrefix(r.Message, s.msg) {
		select {
		case s.reached <- struct{}{}:
		default:
		}
		<-s.release
	}
	return s.Handler.Handle(ctx, r)
}

func (s stallOn) WithAttrs(as []slog.Attr) slog.Handler {
	s.Handler = s.Handler.WithAttrs(as)
	return s
}

func (s stallOn) WithGroup(name string) slog.Handler {
	s.Handler = s.Handler.WithGroup(name)
	return s
}

// TestAliveSeesAStuckEventLoop: Run's loop held still while it handles a
// notification stops its heartbeat, Alive says so, and it recovers once
// the loop runs again. Nothing else is held, so only a heartbeat that goes
// through the loop can see it.
func TestAliveSeesAStuckEventLoop(t *testing.T) {
	h := newHarness(t, harnessOpts{cfg: Config{StallLimit: stallLimit}})
	stall := newStallOn(h.log.Handler(), "ARI events disconnected")
	var once sync.Once
	unblock := func() { once.Do(func() { close(stall.release) }) }
	t.Cleanup(unblock)
	h.log = slog.New(stall)
	r := h.start()
	waitAlive(t, r.eng, "a healthy engine", healthy)

	stall.armed.Store(true)
	if h.sim.DropEvents() != 1 {
		t.Fatal("no events socket to drop")
	}
	select {
	case <-stall.reached: // Run's loop is logging the disconnection
	case <-time.After(10 * time.Second):
		t.Fatal("the engine never handled the disconnection")
	}
	err := waitAlive(t, r.eng, "Alive to see the stuck loop", func(err error) bool { return err != nil })
	unblock()
	if !strings.Contains(err.Error(), "event loop has not turned over") {
		t.Errorf("Alive = %v, want the event loop named", err)
	}
	waitAlive(t, r.eng, "Alive to recover", healthy)

	h.stop(r)
	if err := r.eng.Alive(time.Now()); !errors.Is(err, ErrStopped) {
		t.Errorf("Alive after Run returned = %v, want ErrStopped", err)
	}
}

// TestAliveSeesAStuckCallLoop: a call's loop waiting on an ARI answer that
// does not come stops answering the heartbeat while Run's loop runs on.
func TestAliveSeesAStuckCallLoop(t *testing.T) {
	held, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	h := newHarness(t, harnessOpts{cfg: Config{StallLimit: stallLimit}, hook: func(r *http.Request, resp *http.Response) *http.Response {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/answer") {
			select {
			case held <- struct{}{}:
			default:
			}
			select { // Asterisk answered; its reply is held up
			case <-release:
			case <-r.Context().Done():
			}
		}
		return resp
	}})
	t.Cleanup(unblock)
	r := h.start()
	waitAlive(t, r.eng, "a healthy engine", healthy)

	call := h.place("+15553330060", nil)
	<-held
	err := waitAlive(t, r.eng, "Alive to see the stuck call", func(err error) bool { return err != nil })
	unblock()
	if !strings.Contains(err.Error(), "1 call loop(s) have not turned over") {
		t.Errorf("Alive = %v, want one call loop named", err)
	}
	waitAlive(t, r.eng, "Alive to recover", healthy)
	call.Hangup()
	waitDone(t, call, 10*time.Second, "the call to end")
}
