package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"llamenos/ari/aritest"
	"llamenos/config"
)

// running is one daemon under test, with systemd's notify socket.
type running struct {
	sock    *notifySocket
	logs    *syncWriter
	addr    string // the browser-facing listener
	metrics string // the metrics listener
	cancel  context.CancelFunc
	done    chan error
}

// startDaemon runs the daemon against the ARI at ariURL with a one-second
// watchdog, on opt.Listener or a fresh one. It sets NOTIFY_SOCKET and WATCHDOG_USEC, so tests using it do
// not run in parallel.
func startDaemon(t *testing.T, ariURL string, sim *aritest.Server, opt Options) *running {
	t.Helper()
	sock := newNotifySocket(t)
	t.Setenv("NOTIFY_SOCKET", sock.path)
	t.Setenv("WATCHDOG_USEC", "1000000")
	ln := opt.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Data.Dir = t.TempDir()
	cfg.Data.CallerKeyFile = filepath.Join(t.TempDir(), config.CallerKeyName)
	cfg.Server.Listen = ln.Addr().String()
	cfg.Server.PublicURL = fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	cfg.Server.MetricsListen = ""
	metrics, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opt.MetricsListener = metrics
	cfg.Asterisk.ARIURL = ariURL
	cfg.Asterisk.ARIUser, cfg.Asterisk.ARIPassword = sim.Username(), sim.Password()
	logs := &syncWriter{}
	opt.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opt.Static = fstest.MapFS{}
	opt.Listener = ln
	opt.LoopbackMedia = true
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{sock: sock, logs: logs, addr: ln.Addr().String(), metrics: metrics.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- Run(ctx, cfg, opt) }()
	t.Cleanup(func() {
		r.cancel()
		r.wait(t)
		if t.Failed() {
			t.Logf("daemon logs:\n%s", logs.String())
		}
	})
	sock.waitFor(t, 20*time.Second, "READY", func(s string) bool { return strings.HasPrefix(s, "READY=1\n") })
	return r
}

// wait waits for Run to return and returns its error.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err // for the next caller
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30 s")
		return nil
	}
}

func newSim(t *testing.T) *aritest.Server {
	t.Helper()
	sim, err := aritest.New(aritest.Options{LaxParams: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	return sim
}

// TestWatchdogStopsWhenACallLoopStalls: a call whose loop waits on an
// Asterisk that does not answer stops the watchdog pings and STATUS says
// why; once Asterisk answers, the pings resume.
func TestWatchdogStopsWhenACallLoopStalls(t *testing.T) {
	sim := newSim(t)
	// Between the daemon and the simulator: while hold is set, a channel
	// answer request gets no reply until release closes.
	var hold atomic.Bool
	held, release := make(chan struct{}, 1), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	target, err := url.Parse(sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/answer") {
			select {
			case held <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(unblock)

	d := startDaemon(t, front.URL+target.Path, sim, Options{StallLimit: time.Second})
	d.sock.waitFor(t, 20*time.Second, "ARI to connect", is("STATUS=answering calls"))
	d.sock.waitFor(t, 10*time.Second, "a ping", is(ping))

	hold.Store(true)
	call, err := sim.PlaceCall(aritest.CallSpec{App: "llamenos", CallerNumber: "+15553330070", DialedNumber: "+15550000000", Args: []string{"inbound"}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the call never asked to answer the caller")
	}
	d.sock.waitFor(t, 10*time.Second, "the pings to stop", func(s string) bool {
		return strings.HasPrefix(s, "STATUS=not pinging the watchdog: ") && strings.Contains(s, "call loop(s) have not turned over")
	})
	unblock()
	for _, s := range d.sock.waitFor(t, 10*time.Second, "the status to recover", is("STATUS=answering calls")) {
		if s == ping {
			t.Fatal("pinged while a call loop stood still")
		}
	}
	d.sock.waitFor(t, 10*time.Second, "the pings to resume", is(ping))
	if !strings.Contains(d.logs.String(), "not pinging the systemd watchdog") {
		t.Error("no warning says the pings stopped")
	}

	call.Hangup()
	d.cancel()
	if err := d.wait(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	d.sock.waitFor(t, 10*time.Second, "STOPPING", is("STOPPING=1"))
}

// TestWatchdogPingsWhileARIIsDown: losing Asterisk shows in STATUS and
// the metrics listener's /api/health, and the pings go on: the daemon
// reconnects by itself.
func TestWatchdogPingsWhileARIIsDown(t *testing.T) {
	sim := newSim(t)
	d := startDaemon(t, sim.URL(), sim, Options{})
	d.sock.waitFor(t, 20*time.Second, "ARI to connect", is("STATUS=answering calls"))
	d.sock.waitFor(t, 10*time.Second, "a ping", is(ping))

	sim.Close() // Asterisk is gone and stays gone
	d.sock.waitFor(t, 10*time.Second, "STATUS to say ARI is down", func(s string) bool {
		return strings.HasPrefix(s, "STATUS=Asterisk (ARI) is not connected")
	})
	for range 3 {
		d.sock.waitFor(t, 10*time.Second, "a ping while ARI is down", func(s string) bool {
			if s != ping {
				t.Fatalf("got %q while ARI is down, want only pings", s)
			}
			return true
		})
	}

	resp, err := http.Get("http://" + d.metrics + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h struct{ Status, ARI string }
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if h.Status != "ok" || h.ARI != "disconnected" {
		t.Errorf("/api/health = %+v, want ok with ari disconnected", h)
	}
}

// TestRunEndsWhenHTTPFails: the HTTP listener failing ends the daemon at
// once, so systemd restarts it, instead of leaving it running without HTTP.
func TestRunEndsWhenHTTPFails(t *testing.T) {
	sim := newSim(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, sim.URL(), sim, Options{Listener: ln})
	ln.Close()
	err = d.wait(t)
	if err == nil || !strings.Contains(err.Error(), "http: api: serve") {
		t.Fatalf("Run = %v, want the HTTP server's failure", err)
	}
	d.sock.waitFor(t, 10*time.Second, "STOPPING", is("STOPPING=1"))
}
