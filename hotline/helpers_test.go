package hotline

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"llamenos/ari"
	"llamenos/ari/aritest"
	"llamenos/audio"
	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/leakcheck"
	"llamenos/pipeline"
	"llamenos/rtc"
	"llamenos/rtc/rtctest"
	"llamenos/store"
)

const testApp = "llamenos"

// ---- logs ----

// logBuffer collects every log line of a test so it can be searched for
// things that must never be logged.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// ---- a deterministic, concurrency-safe Rand ----

type lockedRand struct {
	mu sync.Mutex
	r  *mrand.ChaCha8
}

func newLockedRand(seed byte) *lockedRand {
	var s [32]byte
	s[0] = seed
	return &lockedRand{r: mrand.NewChaCha8(s)}
}

func (l *lockedRand) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// ---- the fake Notifier ----

type note struct {
	kind      string // ring, stop, connected, ended, candidate, changed
	pubkeys   []string
	callID    string
	reason    string
	startedAt time.Time
	ringAt    time.Time
	candidate json.RawMessage
	at        time.Time
}

type fakeNotifier struct {
	t        testing.TB
	mu       sync.Mutex
	notes    []note
	changed  chan struct{}
	browsers map[string]*rtctest.Browser // candidate routing by pubkey
	// panicOnRing makes the next Ring panic, as a buggy hub might.
	panicOnRing atomic.Bool
	// offline are the volunteers with no browser connected (Reach).
	offline map[string]bool
}

func newFakeNotifier(t testing.TB) *fakeNotifier {
	return &fakeNotifier{t: t, changed: make(chan struct{}), browsers: map[string]*rtctest.Browser{}, offline: map[string]bool{}}
}

// Reachable makes the fake notifier the engine's Reach: everyone has a
// browser but the volunteers setOnline took offline.
func (f *fakeNotifier) Reachable(pk string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.offline[pk]
}

func (f *fakeNotifier) setOnline(pk string, online bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.offline[pk] = !online
}

func (f *fakeNotifier) add(n note) {
	n.at = time.Now()
	f.mu.Lock()
	f.notes = append(f.notes, n)
	close(f.changed)
	f.changed = make(chan struct{})
	b := f.browsers[firstOf(n.pubkeys)]
	f.mu.Unlock()
	if n.kind == "candidate" && b != nil && n.candidate != nil {
		if err := b.AddCandidate(n.candidate); err != nil {
			f.t.Errorf("daemon sent a malformed candidate: %v", err)
		}
	}
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func (f *fakeNotifier) Ring(pks []string, callID string, startedAt, ringAt time.Time) {
	if f.panicOnRing.CompareAndSwap(true, false) {
		panic("test: notifier bug")
	}
	f.add(note{kind: "ring", pubkeys: slices.Clone(pks), callID: callID, startedAt: startedAt, ringAt: ringAt})
}
func (f *fakeNotifier) RingStop(pks []string, callID, reason string) {
	f.add(note{kind: "stop", pubkeys: slices.Clone(pks), callID: callID, reason: reason})
}
func (f *fakeNotifier) Connected(pk, callID string) {
	f.add(note{kind: "connected", pubkeys: []string{pk}, callID: callID})
}
func (f *fakeNotifier) Ended(pk, callID, reason string) {
	f.add(note{kind: "ended", pubkeys: []string{pk}, callID: callID, reason: reason})
}
func (f *fakeNotifier) Candidate(pk, callID string, c json.RawMessage) {
	f.add(note{kind: "candidate", pubkeys: []string{pk}, callID: callID, candidate: c})
}
func (f *fakeNotifier) CallsChanged() { f.add(note{kind: "changed"}) }

func (f *fakeNotifier) route(pk string, b *rtctest.Browser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.browsers[pk] = b
}

func (f *fakeNotifier) all() []note {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.notes)
}

// find returns the first note matching pred, if any.
func (f *fakeNotifier) find(pred func(note) bool) (note, bool) {
	for _, n := range f.all() {
		if pred(n) {
			return n, true
		}
	}
	return note{}, false
}

// wait blocks until a note matches pred.
func (f *fakeNotifier) wait(t testing.TB, d time.Duration, what string, pred func(note) bool) note {
	t.Helper()
	deadline := time.After(d)
	for {
		f.mu.Lock()
		for _, n := range f.notes {
			if pred(n) {
				f.mu.Unlock()
				return n
			}
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %s; notes: %s", d, what, f.dump())
		}
	}
}

func (f *fakeNotifier) dump() string {
	var sb strings.Builder
	for _, n := range f.all() {
		if n.kind == "candidate" || n.kind == "changed" {
			continue
		}
		sb.WriteString("\n  " + n.kind + " " + n.callID + " " + n.reason + " " + strings.Join(short(n.pubkeys), ","))
	}
	return sb.String()
}

func short(pks []string) []string {
	out := make([]string, len(pks))
	for i, pk := range pks {
		out[i] = pk[:min(8, len(pk))]
	}
	return out
}

func isRing(callID string, pk string) func(note) bool {
	return func(n note) bool {
		return n.kind == "ring" && (callID == "" || n.callID == callID) && slices.Contains(n.pubkeys, pk)
	}
}

func isStop(callID, pk, reason string) func(note) bool {
	return func(n note) bool {
		return n.kind == "stop" && n.callID == callID && slices.Contains(n.pubkeys, pk) && (reason == "" || n.reason == reason)
	}
}

func isNote(kind, callID, pk, reason string) func(note) bool {
	return func(n note) bool {
		return n.kind == kind && n.callID == callID && slices.Contains(n.pubkeys, pk) && (reason == "" || n.reason == reason)
	}
}

// ---- the harness ----

type harnessOpts struct {
	cfg       Config
	rtcConfig func(*rtc.Config)
	simOpts   aritest.Options
	seed      byte
	hook      func(r *http.Request, resp *http.Response) *http.Response
	// hashCost is the store's caller-hash cost; zero is Argon2id's least
	// work (the suite places many calls), realHash the daemon's.
	hashCost e2ee.CallerHashCost
	// keyFile is the store's caller-key file ("" a key in memory).
	keyFile string
	// pipeline is Deps.Pipeline (nil: the engine's own); the test runs it.
	pipeline *pipeline.Runner
	// relayed is Deps.Relayed.
	relayed func(rtc.Stats)
}

var realHash = e2ee.DefaultCallerHashCost

type harness struct {
	t      *testing.T
	sim    *aritest.Server
	st     *store.Store
	rtc    *rtc.Engine
	n      *fakeNotifier
	clock  *fakeClock // the engine's: its timers fire only when a test advances it
	logs   *logBuffer
	log    *slog.Logger
	opts   harnessOpts
	admin  e2eetest.SecretKey
	engine *runningEngine
	// lastCall is the simulator call answerAndConnect placed.
	lastCall *aritest.Call
	starts   int
}

// runningEngine is one daemon: an ARI client and an Engine.
type runningEngine struct {
	cl        *ari.Client
	eng       *Engine
	transport *cutTransport
	cancel    context.CancelFunc
	ariDone   chan error
	runDone   chan error
	stopped   bool
}

// cutTransport fails every request once cut: a crashed daemon's REST calls
// never reach Asterisk.
type cutTransport struct {
	base *http.Transport
	cut  atomic.Bool
	// hook, when set, may answer a request itself (a scripted ARI error)
	// or rewrite the simulator's response.
	hook atomic.Pointer[func(r *http.Request, resp *http.Response) *http.Response]
}

func (c *cutTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("test: the daemon crashed")
	}
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if h := c.hook.Load(); h != nil {
		resp = (*h)(r, resp)
	}
	return resp, nil
}

func (c *cutTransport) setHook(f func(r *http.Request, resp *http.Response) *http.Response) {
	c.hook.Store(&f)
}

// ariError builds the response Asterisk gives for a failed request.
func ariError(r *http.Request, status int, msg string) *http.Response {
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(`{"message":"` + msg + `"}`)), Request: r,
	}
}

// newHarness sets up a test's daemon parts, closed when the test ends. It
// checks the test for leaked goroutines, so call it before anything else
// that is closed at the end.
func newHarness(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	leakcheck.Check(t)
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if o.simOpts.DefaultSoundDuration == 0 {
		o.simOpts.DefaultSoundDuration = 100 * time.Millisecond
	}
	if o.simOpts.SymbolDuration == 0 {
		o.simOpts.SymbolDuration = 20 * time.Millisecond
	}
	sim, err := aritest.New(o.simOpts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	if o.hashCost == (e2ee.CallerHashCost{}) {
		o.hashCost = e2ee.CallerHashCost{Time: 1, MemoryKiB: 8}
	}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), store.Options{NoSync: true, CallerHashCost: o.hashCost, KeyFile: o.keyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rc := rtc.Config{IncludeLoopback: true, IPs: []string{"127.0.0.1"}, Logger: log}
	if o.rtcConfig != nil {
		o.rtcConfig(&rc)
	}
	re, err := rtc.NewEngine(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { re.Close() })
	h := &harness{t: t, sim: sim, st: st, rtc: re, n: newFakeNotifier(t), clock: newFakeClock(time.Now()), logs: logs, log: log, opts: o}
	h.admin = h.volunteer(store.RoleAdmin, false)
	t.Cleanup(h.stopAll)
	return h
}

// volunteer adds an active volunteer and returns their secret key.
func (h *harness) volunteer(role store.Role, available bool) e2eetest.SecretKey {
	h.t.Helper()
	sk, err := e2eetest.GenerateKey(crand.Reader)
	if err != nil {
		h.t.Fatal(err)
	}
	h.update(func(tx *store.Tx) error {
		_, err := tx.CreateVolunteer(store.Volunteer{PubKey: sk.Public().String(), Role: role, Active: true, Available: available})
		if err != nil || role != store.RoleAdmin {
			return err
		}
		// Admins are vouched for in the signed admin set: the first by
		// themself, the others by the harness's admin.
		set, err := tx.AdminSet()
		if err != nil {
			return err
		}
		signer := sk
		if set.Len > 0 {
			signer = h.admin
		}
		st, err := e2eetest.SignAdminStatement(crand.Reader, signer, e2ee.AdminStatement{Op: e2ee.AdminAdd, Key: sk.Public(), Prev: set.Head})
		if err != nil {
			return err
		}
		_, err = tx.AppendAdminStatement(st)
		return err
	})
	return sk
}

func (h *harness) volunteers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = h.volunteer(store.RoleVolunteer, true).Public().String()
	}
	return out
}

// onShift adds n available volunteers, all on one all-week, all-day
// shift, and returns their public keys.
func (h *harness) onShift(n int) []string {
	h.t.Helper()
	pks := h.volunteers(n)
	h.shift(pks...)
	return pks
}

// shift puts pks on an all-week, all-day shift.
func (h *harness) shift(pks ...string) {
	h.t.Helper()
	id, err := store.NewID()
	if err != nil {
		h.t.Fatal(err)
	}
	h.update(func(tx *store.Tx) error {
		_, err := tx.PutShiftRule(store.ShiftRule{ID: id, Days: []time.Weekday{0, 1, 2, 3, 4, 5, 6}, Start: "00:00", End: "24:00", Volunteers: pks})
		return err
	})
}

func (h *harness) setVolunteer(pk string, fn func(*store.Volunteer)) {
	h.t.Helper()
	h.update(func(tx *store.Tx) error {
		_, err := tx.UpdateVolunteer(pk, func(v *store.Volunteer) error { fn(v); return nil })
		return err
	})
}

func (h *harness) settings(fn func(*store.Settings)) {
	h.t.Helper()
	h.update(func(tx *store.Tx) error {
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		fn(&s)
		return tx.PutSettings(s)
	})
}

func (h *harness) update(fn func(*store.Tx) error) {
	h.t.Helper()
	if err := h.st.Update(context.Background(), fn); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) record(callID string) store.Call {
	h.t.Helper()
	var c store.Call
	err := h.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		c, err = tx.Call(callID)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// start runs a daemon against the simulator and waits for its socket.
func (h *harness) start() *runningEngine {
	h.t.Helper()
	ct := &cutTransport{base: &http.Transport{Proxy: nil}}
	if h.opts.hook != nil {
		ct.setHook(h.opts.hook)
	}
	cl, err := ari.New(ari.Config{
		URL: h.sim.URL(), Username: h.sim.Username(), Password: h.sim.Password(), App: testApp,
		HTTPClient: &http.Client{Transport: ct}, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Logger: h.log,
	})
	if err != nil {
		h.t.Fatal(err)
	}
	// Each daemon draws its own ids: a restarted one must not repeat them.
	h.starts++
	seed := h.opts.seed + byte(h.starts)
	eng, err := New(h.opts.cfg, Deps{ARI: cl, RTC: h.rtc, Store: h.st, Notify: h.n, Reach: h.n, Log: h.log, Clock: h.clock, Rand: newLockedRand(seed), Pipeline: h.opts.pipeline, Relayed: h.opts.relayed})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &runningEngine{cl: cl, eng: eng, transport: ct, cancel: cancel, ariDone: make(chan error, 1), runDone: make(chan error, 1)}
	go func() { r.ariDone <- cl.Run(ctx) }()
	go func() { r.runDone <- eng.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := h.sim.WaitApp(wctx, testApp); err != nil {
		h.t.Fatal(err)
	}
	h.engine = r
	return r
}

// stop ends a daemon the way systemd would: cancel, wait for Run, close
// the ARI client.
func (h *harness) stop(r *runningEngine) {
	h.t.Helper()
	if r == nil || r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	select {
	case err := <-r.runDone:
		if err != nil {
			h.t.Errorf("Engine.Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Fatal("Engine.Run did not return within 20 s of its context ending")
	}
	r.cl.Close()
	<-r.ariDone
	r.transport.base.CloseIdleConnections()
}

func (h *harness) stopAll() {
	if h.engine != nil {
		h.stop(h.engine)
	}
}

// place places a call from number and returns it.
func (h *harness) place(number string, src audio.Source) *aritest.Call {
	h.t.Helper()
	return h.placeSpec(aritest.CallSpec{CallerNumber: number, Audio: src})
}

func (h *harness) placeSpec(spec aritest.CallSpec) *aritest.Call {
	h.t.Helper()
	spec.App, spec.DialedNumber, spec.Args = testApp, "+15550000000", []string{"inbound"}
	// On a loaded machine the simulator may have dropped the engine's
	// events socket (a write blocked past its WriteTimeout, as Asterisk's
	// websocket_write_timeout does) and the client is reconnecting: the
	// caller arrives once the app is back, as it would on a retry.
	wctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.sim.WaitApp(wctx, testApp); err != nil {
		h.t.Fatal(err)
	}
	c, err := h.sim.PlaceCall(spec)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// calls lists every call record, newest first.
func (h *harness) calls() []store.Call {
	h.t.Helper()
	var out []store.Call
	err := h.st.View(context.Background(), func(tx *store.Tx) error {
		var err error
		out, _, err = tx.ListCalls(store.CallFilter{}, "", 200)
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}

// rings returns the ids of every call that rang, in order.
func (h *harness) rings() []string {
	var ids []string
	for _, n := range h.n.all() {
		if n.kind == "ring" && !slices.Contains(ids, n.callID) {
			ids = append(ids, n.callID)
		}
	}
	return ids
}

// waitEmpty waits until the simulator holds no channel and no bridge.
func (h *harness) waitEmpty(d time.Duration) {
	h.t.Helper()
	rtctest.WaitFor(h.t, d, "the simulator to hold no channel and no bridge", func() bool {
		return len(h.sim.Channels()) == 0 && len(h.sim.Bridges()) == 0
	})
}

// live reports whether call id is still live once the call has handled
// everything posted to it before (timer firings included): a request that
// changes nothing, answered in mailbox order.
func (h *harness) live(r *runningEngine, id string) bool {
	h.t.Helper()
	err := r.eng.Decline(context.Background(), id, "nobody")
	switch {
	case errors.Is(err, ErrNotRung):
		return true
	case errors.Is(err, ErrNoCall):
		return false
	}
	h.t.Fatalf("probing call %s: %v", id, err)
	return false
}

func waitDone(t testing.TB, c *aritest.Call, d time.Duration, what string) {
	t.Helper()
	select {
	case <-c.Done():
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
}

// connectBrowser answers callID as pk with a fresh browser and brings its
// WebRTC connection up.
func (h *harness) connectBrowser(eng *Engine, callID, pk string) *rtctest.Browser {
	h.t.Helper()
	b := rtctest.MustNew(h.t, rtctest.Options{})
	h.n.route(pk, b)
	h.n.wait(h.t, 10*time.Second, "Connected", isNote("connected", callID, pk, ""))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := b.Connect(ctx, func(ctx context.Context, offer string) (string, error) {
		return eng.Offer(ctx, callID, pk, offer)
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func tail(pcm []int16, d time.Duration) []int16 {
	n := int(d.Seconds() * audio.SampleRate)
	if len(pcm) > n {
		return pcm[len(pcm)-n:]
	}
	return pcm
}

// hears waits until the last 400 ms of get() carry freq.
func hears(t testing.TB, d time.Duration, what string, freq float64, get func() []int16) {
	t.Helper()
	rtctest.WaitFor(t, d, what, func() bool {
		pcm := tail(get(), 400*time.Millisecond)
		return len(pcm) >= 3200 && audio.DetectTone(pcm, audio.SampleRate, freq, 0.5)
	})
}
