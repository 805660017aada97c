package aritest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"llamenos/ari"
)

// Options configure a Server. The zero value works.
type Options struct {
	// Username and Password are the ARI credentials the server accepts
	// (HTTP Basic or the api_key=user:password query parameter). Defaults
	// "llamenos" and "simulator".
	Username string
	Password string
	// Logger receives the simulator's own diagnostics. Default: discard.
	Logger *slog.Logger
	// StasisStartDelay is the time between an externalMedia channel's
	// creation and its StasisStart. Asterisk's is a few milliseconds and
	// races the HTTP response; 0 (the default) schedules it at once, which
	// races the same way. Tests of the 422 window set it larger.
	StasisStartDelay time.Duration
	// SoundDurations gives the length of "sound:NAME" media. Other sounds
	// and "recording:" media use DefaultSoundDuration (default 1 s); each
	// "digits:"/"number:"/"characters:" symbol plays SymbolDuration
	// (default 300 ms). "tone:" media play until stopped.
	SoundDurations       map[string]time.Duration
	DefaultSoundDuration time.Duration
	SymbolDuration       time.Duration
	// Sounds is a sounds directory laid out as Asterisk's:
	// <lang>/NAME.ulaw, 8 kHz µ-law. A "sound:NAME" not in SoundDurations
	// plays the file found there for the playback's language (then NAME,
	// then en/NAME, as Asterisk looks), as long as the file lasts; the
	// caller's Call.Prompts records it. The directory is read at each
	// playback, so a file replaced meanwhile plays its new content.
	Sounds fs.FS
	// WriteTimeout is Asterisk's websocket_write_timeout: a client whose
	// socket blocks a write this long is disconnected. Default 100 ms.
	WriteTimeout time.Duration
	// HeardSeconds bounds the audio each Call keeps of what it received.
	// Default 30 s (480 KB per call).
	HeardSeconds int
	// Seed makes ids, SSRCs and initial RTP sequence numbers reproducible.
	Seed uint64
	// Record keeps every REST exchange and every event frame sent, for
	// conformance tests (Exchanges, SentEvents). Off by default so long
	// benchmarks do not grow memory.
	Record bool
	// LaxParams accepts unknown query parameters silently, as Asterisk
	// does. By default the simulator answers 400 to a parameter the ARI
	// 22 schema does not define for the operation, which catches typos
	// such as connection_over.
	LaxParams bool
}

// Server is an in-process Asterisk for tests, benchmarks and the demo. It
// listens on 127.0.0.1 only.
type Server struct {
	opts Options
	log  *slog.Logger
	ln   net.Listener
	srv  *http.Server
	base string
	done chan struct{}
	wg   sync.WaitGroup

	mu          sync.Mutex
	closed      bool
	started     time.Time
	rng         *rand.Rand
	nextID      int
	channels    map[string]*channel
	bridges     map[string]*bridge
	playbacks   map[string]*playback
	apps        map[string]*app
	conns       map[*eventConn]struct{}
	timers      map[*time.Timer]simTimer
	timerSeq    uint64
	calls       map[string]*Call
	record      recordLog
	strictDrops uint64
	abrupt      int // events sockets the client dropped without a close
}

const asteriskID = "02:00:5e:10:00:01"

// New starts a simulator on 127.0.0.1 with a random port.
func New(opts Options) (*Server, error) {
	if opts.Username == "" {
		opts.Username = "llamenos"
	}
	if opts.Password == "" {
		opts.Password = "simulator"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.DefaultSoundDuration <= 0 {
		opts.DefaultSoundDuration = time.Second
	}
	if opts.SymbolDuration <= 0 {
		opts.SymbolDuration = 300 * time.Millisecond
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 100 * time.Millisecond
	}
	if opts.HeardSeconds <= 0 {
		opts.HeardSeconds = 30
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("aritest: listen: %w", err)
	}
	s := &Server{
		opts:      opts,
		log:       opts.Logger.With("component", "aritest"),
		ln:        ln,
		base:      "http://" + ln.Addr().String() + "/ari",
		done:      make(chan struct{}),
		started:   time.Now(),
		rng:       rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)),
		channels:  make(map[string]*channel),
		bridges:   make(map[string]*bridge),
		playbacks: make(map[string]*playback),
		apps:      make(map[string]*app),
		conns:     make(map[*eventConn]struct{}),
		timers:    make(map[*time.Timer]simTimer),
		calls:     make(map[string]*Call),
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.mediaLoop()
	}()
	return s, nil
}

// URL returns the ARI base URL, e.g. "http://127.0.0.1:40123/ari".
func (s *Server) URL() string { return s.base }

// Username and Password return the accepted credentials.
func (s *Server) Username() string { return s.opts.Username }

// Password: see Username.
func (s *Server) Password() string { return s.opts.Password }

// Close stops everything: event sockets, HTTP, timers, RTP sockets and the
// media clock. It waits for all of the simulator's goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	clear(s.timers)
	for ec := range s.conns {
		ec.shut()
	}
	for _, ch := range s.channels {
		if ch.rtp != nil {
			ch.rtp.conn.Close()
		}
	}
	for _, c := range s.calls {
		c.finish(0)
	}
	s.mu.Unlock()
	_ = s.srv.Close()
	s.wg.Wait()
}

// simTimer is a pending afterLocked call.
type simTimer struct {
	due time.Time
	seq uint64 // arming order, for timers due at the same instant
	fn  func()
}

// after runs fn under s.mu after d unless the timer is cancelled or the
// server closes first. Call with s.mu held.
//
// Timers run in the order they come due. Each time.AfterFunc callback is
// a goroutine of its own, and on a starved machine two that are due
// together take s.mu in any order (the runtime runs the newer goroutine
// first): a key press due before a prompt ends would reach the app after
// the prompt's end. So the first callback to run takes every timer due by
// then, earliest first, and the others find theirs gone.
func (s *Server) afterLocked(d time.Duration, fn func()) *time.Timer {
	if s.closed {
		return nil
	}
	var t *time.Timer
	s.wg.Add(1)
	t = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, live := s.timers[t]; !live {
			return
		}
		s.runDueLocked(t)
	})
	s.timerSeq++
	s.timers[t] = simTimer{due: time.Now().Add(d), seq: s.timerSeq, fn: fn}
	return t
}

// runDueLocked runs fired (nil for none), and every other pending timer
// due by now, earliest first. A timer armed meanwhile waits for its own
// callback; one cancelled by an earlier one's fn does not run.
func (s *Server) runDueLocked(fired *time.Timer) {
	now := time.Now()
	if st, ok := s.timers[fired]; ok && st.due.After(now) {
		now = st.due
	}
	var due []*time.Timer
	for t, st := range s.timers {
		if !st.due.After(now) {
			due = append(due, t)
		}
	}
	slices.SortFunc(due, func(a, b *time.Timer) int {
		x, y := s.timers[a], s.timers[b]
		return cmp.Or(x.due.Compare(y.due), cmp.Compare(x.seq, y.seq))
	})
	for _, t := range due {
		st, live := s.timers[t]
		if !live {
			continue
		}
		s.cancelLocked(t)
		st.fn()
	}
}

func (s *Server) cancelLocked(t *time.Timer) {
	if t == nil {
		return
	}
	if _, live := s.timers[t]; !live {
		return
	}
	delete(s.timers, t)
	if t.Stop() {
		s.wg.Done()
	}
}

func (s *Server) newIDLocked() string {
	s.nextID++
	return fmt.Sprintf("%d.%d", s.started.Unix(), s.nextID)
}

// ---- HTTP plumbing ----

// apiError is an ARI error answer: status plus {"message": ...}.
type apiError struct {
	status  int
	message string
}

func errf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, message: fmt.Sprintf(format, args...)}
}

// response is a handler's answer: a JSON body (nil = 204) or an error.
type response struct {
	status   int
	body     any
	location string
}

func ok(body any) response { return response{status: http.StatusOK, body: body} }
func noContent() response  { return response{status: http.StatusNoContent} }
func fail(e *apiError) response {
	return response{status: e.status, body: map[string]string{"message": e.message}}
}

// request is a parsed REST call.
type request struct {
	method string
	segs   []string // decoded path segments after /ari
	params url.Values
	vars   map[string]string // body "variables"
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	segs, okPath := splitPath(r.URL.EscapedPath())
	if !okPath {
		writeJSON(w, fail(errf(http.StatusNotFound, "Resource not found")))
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		writeJSON(w, fail(errf(http.StatusUnauthorized, "Authentication required")))
		return
	}
	if len(segs) == 1 && segs[0] == "events" && r.Method == http.MethodGet {
		s.serveEvents(w, r)
		return
	}
	req := &request{method: r.Method, segs: segs, params: r.URL.Query()}
	req.params.Del("api_key")
	sentQuery := r.URL.Query() // before body keys are merged in
	sentQuery.Del("api_key")
	var rawBody []byte
	if r.Body != nil {
		rawBody, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	resp := s.parseBody(req, rawBody)
	if resp.status == 0 {
		resp = s.handle(req)
	}
	body := writeJSON(w, resp)
	if s.opts.Record {
		s.mu.Lock()
		s.record.exchanges = append(s.record.exchanges, Exchange{
			Method: r.Method, Path: "/" + strings.Join(segs, "/"), EscapedPath: r.URL.EscapedPath(),
			Query: sentQuery, RequestBody: rawBody, Status: resp.status, ResponseBody: body,
		})
		s.mu.Unlock()
	}
}

// parseBody applies Asterisk's body rule: "variables" holds channel
// variables and any other key is a query parameter.
func (s *Server) parseBody(req *request, raw []byte) response {
	if len(bytes.TrimSpace(raw)) == 0 {
		return response{}
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		return fail(errf(http.StatusBadRequest, "Error parsing request body"))
	}
	for k, v := range body {
		if k == "variables" {
			var vars map[string]any
			if err := json.Unmarshal(v, &vars); err != nil {
				return fail(errf(http.StatusBadRequest, "variables must be an object"))
			}
			req.vars = make(map[string]string, len(vars))
			for name, val := range vars {
				switch x := val.(type) {
				case string:
					req.vars[name] = x
				case map[string]any:
					str, _ := x["value"].(string)
					req.vars[name] = str
				default:
					return fail(errf(http.StatusBadRequest, "variable %s must be a string", name))
				}
			}
			continue
		}
		var str string
		if json.Unmarshal(v, &str) != nil {
			str = string(v)
		}
		req.params.Set(k, str)
	}
	return response{}
}

func (s *Server) authorized(r *http.Request) bool {
	want := s.opts.Username + ":" + s.opts.Password
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Basic ") {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
		return err == nil && string(b) == want
	}
	return r.URL.Query().Get("api_key") == want
}

// splitPath turns "/ari/channels/a%2Fb/answer" into ["channels" "a/b"
// "answer"]: split first, decode each segment after, as res_ari does.
func splitPath(p string) ([]string, bool) {
	rest, found := strings.CutPrefix(p, "/ari/")
	if !found {
		return nil, false
	}
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.Split(rest, "/")
	for i, part := range parts {
		d, err := url.PathUnescape(part)
		if err != nil || d == "" {
			return nil, false
		}
		parts[i] = d
	}
	return parts, true
}

func writeJSON(w http.ResponseWriter, resp response) []byte {
	if resp.status == http.StatusNoContent || resp.body == nil {
		w.WriteHeader(resp.status)
		return nil
	}
	b, err := json.Marshal(resp.body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	if resp.location != "" {
		w.Header().Set("Location", resp.location)
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(b)
	return b
}

// ---- recording for conformance tests ----

// Exchange is one recorded REST call (Options.Record).
type Exchange struct {
	Method       string
	Path         string     // decoded, "/channels/ID/answer"
	EscapedPath  string     // as sent
	Query        url.Values // as sent, without api_key
	RequestBody  []byte
	Status       int
	ResponseBody []byte
}

type recordLog struct {
	exchanges []Exchange
	events    [][]byte
}

// Exchanges returns the recorded REST calls (Options.Record).
func (s *Server) Exchanges() []Exchange {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Exchange(nil), s.record.exchanges...)
}

// SentEvents returns every event frame written to an events socket, as
// sent (Options.Record).
func (s *Server) SentEvents() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.record.events...)
}

// ---- inspection ----

// Channels returns snapshots of every live channel, for orphan checks.
func (s *Server) Channels() []ari.Channel {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ari.Channel, 0, len(s.channels))
	for _, ch := range s.sortedChannelsLocked() {
		out = append(out, ch.snapshot(false))
	}
	return out
}

// Bridges returns snapshots of every live bridge.
func (s *Server) Bridges() []ari.Bridge {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ari.Bridge, 0, len(s.bridges))
	for _, b := range s.sortedBridgesLocked() {
		out = append(out, b.snapshot())
	}
	return out
}

// WaitApp blocks until an events socket for app is connected.
func (s *Server) WaitApp(ctx context.Context, app string) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if s.AppConnected(app) {
			return nil
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("aritest: wait for app %s: %w", app, ctx.Err())
		}
	}
}

// AppConnected reports whether app has an active events socket.
func (s *Server) AppConnected(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[name]
	return a != nil && a.conn != nil
}

// MissedEvents counts events dropped because their app had no socket, as
// Asterisk drops them ("Inactive Stasis app ... missed message").
func (s *Server) MissedEvents() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.apps {
		n += a.missed
	}
	return n
}
