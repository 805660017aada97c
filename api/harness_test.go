package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"llamenos/ari/aritest"
	"llamenos/auth"
	"llamenos/bans"
	"llamenos/callstats"
	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/hotline"
	"llamenos/leakcheck"
	"llamenos/people"
	"llamenos/prompts"
	"llamenos/records"
	"llamenos/settings"
	"llamenos/sounds"
	"llamenos/store"
)

// env is one daemon's API over a temp store, reached over real HTTP.
type env struct {
	t          *testing.T
	st         *store.Store
	srv        *Server
	ts         *httptest.Server
	origin     string
	setupToken string
	logs       *bytes.Buffer
	cancel     context.CancelFunc
	sim        *aritest.Server // with withRealEngine: the Asterisk simulator
}

// testStatic stands in for the built app: the API tests need files, not the bundle.
var testStatic = fstest.MapFS{
	"index.html":  {Data: []byte("<!doctype html><title>t</title>")},
	"app.js":      {Data: []byte("console.log(1)")},
	"app.css":     {Data: []byte("body{}")},
	"favicon.svg": {Data: []byte("<svg/>")},
}

// envSetup is what an env option may change before the server is built.
type envSetup struct {
	deps *Deps
	// realEngine runs the real call engine against the Asterisk simulator
	// instead of the given one, so call routes answer as in production.
	realEngine bool
	// listener, when set, wraps the test server's listener.
	listener func(net.Listener) net.Listener
}

type envOption func(*envSetup)

func withDeps(f func(*Deps)) envOption { return func(s *envSetup) { f(s.deps) } }

func withRealEngine(s *envSetup) { s.realEngine = true }

func newEnv(t *testing.T, calls CallEngine, opts ...envOption) *env {
	t.Helper()
	leakcheck.Check(t)
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "db"), store.Options{NoSync: true, CallerHashCost: e2ee.CallerHashCost{Time: 1, MemoryKiB: 8}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	// The origin must be known before the server is built; reserve the listener first.
	ts := httptest.NewUnstartedServer(nil)
	// Passkeys need a host name, not an IP: the browser-facing origin is
	// localhost while requests go to 127.0.0.1 on the same port.
	origin := "http://localhost:" + strings.TrimPrefix(ts.Listener.Addr().String(), "127.0.0.1:")
	a, err := auth.NewService(st, origin, "Test hotline", time.Now, log)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := a.NewSetupToken()
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{Auth: a, Audit: st, Calls: calls, Hub: NewHub(log), Static: testStatic, PublicURL: origin, Log: log}
	setup := envSetup{deps: &d}
	var sim *aritest.Server
	for _, o := range opts {
		o(&setup)
	}
	switch {
	case setup.realEngine:
		d.CallMetrics = callstats.NewMetrics()
		d.Calls, sim = startEngine(t, st, d.Hub, d.CallMetrics)
	case d.Calls == nil:
		d.Calls = &nullCalls{}
	}
	d.People = &people.Service{Store: st, Engine: d.Calls, Now: time.Now}
	if d.Records == nil {
		d.Records = &records.Service{}
	}
	d.Records.Store = st
	d.Bans = &bans.Service{Store: st}
	d.Stats = &callstats.Service{Store: st}
	d.Settings = &settings.Service{Store: st, Engine: d.Calls}
	d.Prompts = &prompts.Service{Dir: t.TempDir(), Store: st, Log: log}
	if _, err := sounds.Install(d.Prompts.Dir, 0o755, 0o644, false); err != nil {
		t.Fatal(err)
	}
	srv, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if setup.listener != nil {
		ts.Listener = setup.listener(ts.Listener)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	go srv.refreshLoop(ctx)
	e := &env{t: t, st: st, srv: srv, ts: ts, origin: origin, setupToken: tok, logs: logs, cancel: cancel, sim: sim}
	t.Cleanup(func() {
		cancel()
		srv.Hub.closeAll()
		ts.Close()
	})
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// user is a browser: a key pair and the session cookie the server set.
type user struct {
	sk     e2eetest.SecretKey
	pk     string
	cookie string
}

func newUser(t *testing.T) *user {
	t.Helper()
	sk, err := e2eetest.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &user{sk: sk, pk: sk.Public().String()}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r resp) errCode() string {
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal(r.body, &e)
	return e.Error.Code
}

// do sends a request as u (nil: anonymous) with the right Origin.
func (e *env) do(method, path string, body any, u *user) resp {
	e.t.Helper()
	return e.doOrigin(method, path, body, u, e.origin)
}

func (e *env) doOrigin(method, path string, body any, u *user, origin string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				e.t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.origin+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if u != nil && u.cookie != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: u.cookie})
	}
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if u != nil {
		for _, c := range res.Cookies() {
			if c.Name == cookieName {
				u.cookie = c.Value
			}
		}
	}
	return resp{res.StatusCode, res.Header, b}
}

func (e *env) challenge(purpose string) []byte {
	e.t.Helper()
	r := e.do("POST", "/api/auth/challenge", map[string]string{"purpose": purpose}, nil)
	if r.status != 200 {
		e.t.Fatalf("challenge: %d %s", r.status, r.body)
	}
	var out struct{ Challenge string }
	r.json(e.t, &out)
	ch, err := e2ee.DecodeBase64URL(out.Challenge)
	if err != nil {
		e.t.Fatal(err)
	}
	return ch
}

func (e *env) proof(u *user, purpose string) map[string]any {
	e.t.Helper()
	ch := e.challenge(purpose)
	sig, err := e2eetest.SignAuth(rand.Reader, u.sk, purpose, e.origin, ch)
	if err != nil {
		e.t.Fatal(err)
	}
	return map[string]any{"pubkey": u.pk, "challenge": e2ee.EncodeBase64URL(ch), "signature": e2ee.EncodeBase64URL(sig)}
}

func seal(t *testing.T, plain string, ctx e2ee.Context, recipients ...string) string {
	t.Helper()
	var pks []e2ee.PublicKey
	for _, r := range recipients {
		pk, err := e2ee.ParsePublicKeyHex(r)
		if err != nil {
			t.Fatal(err)
		}
		pks = append(pks, pk)
	}
	env, err := e2ee.Seal(rand.Reader, []byte(plain), ctx, pks)
	if err != nil {
		t.Fatal(err)
	}
	return e2ee.EncodeBase64URL(env)
}

func profileFor(t *testing.T, owner string, admins ...string) string {
	return seal(t, `{"name":"Canary Person","phone":"+15550001111"}`,
		e2ee.Context{Purpose: e2ee.PurposeVolunteerProfile, ItemID: owner}, append([]string{owner}, admins...)...)
}

func (e *env) setupAdmin() *user {
	e.t.Helper()
	a := newUser(e.t)
	body := e.proof(a, "setup")
	body["token"] = e.setupToken
	body["profile"] = profileFor(e.t, a.pk)
	if r := e.do("POST", "/api/setup", body, a); r.status != 200 {
		e.t.Fatalf("setup: %d %s", r.status, r.body)
	}
	// The first admin starts the signed admin set, as their browser does.
	e.adminSet(a, e2ee.AdminAdd, a, 200)
	return a
}

// adminSet has by sign and post a statement about subject and checks the
// answer's status.
func (e *env) adminSet(by *user, op string, subject *user, want int) resp {
	e.t.Helper()
	set, err := store.Read(context.Background(), e.st, func(tx *store.Tx) (e2ee.AdminSet, error) { return tx.AdminSet() })
	if err != nil {
		e.t.Fatal(err)
	}
	st, err := e2eetest.SignAdminStatement(rand.Reader, by.sk, e2ee.AdminStatement{Op: op, Key: subject.sk.Public(), Prev: set.Head})
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.do("POST", "/api/admin-set", map[string]any{"statement": store.AdminStatementView(st)}, by)
	if r.status != want {
		e.t.Fatalf("admin set %s: %d %s, want %d", op, r.status, r.body, want)
	}
	return r
}

func (e *env) invite(admin *user, role string) string {
	e.t.Helper()
	r := e.do("POST", "/api/invites", map[string]any{"role": role}, admin)
	if r.status != 200 {
		e.t.Fatalf("invite: %d %s", r.status, r.body)
	}
	var out struct{ Code string }
	r.json(e.t, &out)
	return out.Code
}

func (e *env) admins() []string {
	e.t.Helper()
	admins, err := store.Read(context.Background(), e.st, func(tx *store.Tx) ([]string, error) { return tx.ActiveAdmins() })
	if err != nil {
		e.t.Fatal(err)
	}
	return admins
}

func (e *env) acceptAs(u *user, code string) resp {
	e.t.Helper()
	body := e.proof(u, "invite")
	body["profile"] = profileFor(e.t, u.pk, e.admins()...)
	return e.do("POST", "/api/invites/"+code+"/accept", body, u)
}

func (e *env) join(admin *user, role string) *user {
	e.t.Helper()
	u := e.joinByRole(admin, role)
	if role == "admin" {
		// The inviting admin's browser vouches for the new admin.
		e.adminSet(admin, e2ee.AdminAdd, u, 200)
	}
	return u
}

// joinByRole accepts an invite for role and stops there: an admin by role
// whom the admin set does not vouch for yet.
func (e *env) joinByRole(admin *user, role string) *user {
	e.t.Helper()
	u := newUser(e.t)
	if r := e.acceptAs(u, e.invite(admin, role)); r.status != 200 {
		e.t.Fatalf("accept: %d %s", r.status, r.body)
	}
	return u
}

func (e *env) login(u *user) resp {
	e.t.Helper()
	u.cookie = ""
	return e.do("POST", "/api/auth/login", e.proof(u, "login"), u)
}

// nullCalls is a call engine with no calls: enough for everything that
// is not the call path.
type nullCalls struct{}

func (nullCalls) Answer(context.Context, string, string) error  { return hotline.ErrNoCall }
func (nullCalls) Decline(context.Context, string, string) error { return hotline.ErrNoCall }
func (nullCalls) Hangup(context.Context, string, string) error  { return hotline.ErrNoCall }
func (nullCalls) Offer(context.Context, string, string, string) (string, error) {
	return "", hotline.ErrNoCall
}
func (nullCalls) Candidate(context.Context, string, string, json.RawMessage) error {
	return hotline.ErrNoCall
}
func (nullCalls) BanCaller(context.Context, string, string, []byte) error { return hotline.ErrNoCall }
func (nullCalls) Active() []hotline.ActiveCall                            { return nil }
func (nullCalls) OnCall(string) bool                                      { return false }
func (nullCalls) Ringable(context.Context) (map[string]bool, error)       { return nil, nil }
func (nullCalls) Ringing(string) []hotline.Ring                           { return nil }
func (nullCalls) CurrentCall(string) string                               { return "" }
func (nullCalls) VolunteersChanged()                                      {}
func (nullCalls) BrowserGone(string)                                      {}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}
