package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"llamenos/auth"
	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
)

func TestSetup(t *testing.T) {
	e := newEnv(t, nil)
	var cfg struct{ SetupRequired bool }
	e.do("GET", "/api/config", nil, nil).json(t, &cfg)
	if !cfg.SetupRequired {
		t.Fatal("fresh install does not ask for setup")
	}

	a := newUser(t)
	body := e.proof(a, "setup")
	body["token"] = "AAAA" + e.setupToken[4:]
	body["profile"] = profileFor(t, a.pk)
	if r := e.do("POST", "/api/setup", body, a); r.status != 403 {
		t.Fatalf("wrong token: %d %s", r.status, r.body)
	}
	// The wrong token burnt that challenge; the right token with a new one works.
	body = e.proof(a, "setup")
	body["token"] = e.setupToken
	body["profile"] = seal(t, "x", e2ee.Context{Purpose: e2ee.PurposeVolunteerProfile, ItemID: a.pk}, newUser(t).pk)
	if r := e.do("POST", "/api/setup", body, a); r.status != 400 {
		t.Fatalf("profile not sealed to the admin: %d %s", r.status, r.body)
	}
	admin := e.setupAdmin()
	if admin.cookie == "" {
		t.Fatal("no session cookie after setup")
	}
	var me struct {
		Role   string
		Admins []string
	}
	r := e.do("GET", "/api/me", nil, admin)
	r.json(t, &me)
	if r.status != 200 || me.Role != "admin" || len(me.Admins) != 1 || me.Admins[0] != admin.pk {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	// A second setup, even with a fresh token, is refused.
	if _, err := e.srv.Auth.NewSetupToken(); err != nil {
		t.Fatal(err)
	}
	other := newUser(t)
	body = e.proof(other, "setup")
	body["token"] = e.setupToken
	body["profile"] = profileFor(t, other.pk)
	if r := e.do("POST", "/api/setup", body, other); r.status != 409 {
		t.Fatalf("second setup: %d %s", r.status, r.body)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	e := newEnv(t, nil)
	a := newUser(t)
	body := e.proof(a, "setup")
	body["token"] = e.setupToken
	body["profile"] = profileFor(t, a.pk)
	r := e.do("POST", "/api/setup", body, a)
	sc := r.header.Get("Set-Cookie")
	for _, want := range []string{cookieName + "=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		mustContain(t, sc, want)
	}
	if strings.Contains(sc, "Domain=") {
		t.Fatalf("__Host- cookies must not carry a Domain: %s", sc)
	}
	first := a.cookie
	if r := e.login(a); r.status != 200 || a.cookie == "" || a.cookie == first {
		t.Fatalf("login must issue a new token: %d %s", r.status, r.body)
	}
	// The old session still works until logout (different device); logout ends this one.
	if r := e.do("POST", "/api/auth/logout", nil, a); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	a.cookie = first
	if r := e.do("GET", "/api/me", nil, a); r.status != 200 {
		t.Fatalf("other session ended by logout: %d", r.status)
	}
}

func TestLoginReplayRejected(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	body := e.proof(admin, "login")
	if r := e.do("POST", "/api/auth/login", body, admin); r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	// The very same signed challenge again, within its TTL.
	if r := e.do("POST", "/api/auth/login", body, &user{}); r.status != 401 {
		t.Fatalf("replayed login: %d %s", r.status, r.body)
	}
	// A signature made for another origin (a look-alike site) does not verify here.
	ch := e.challenge("login")
	sig, err := e2eetest.SignAuth(rand.Reader, admin.sk, "login", "https://evil.example", ch)
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string]any{"pubkey": admin.pk, "challenge": e2ee.EncodeBase64URL(ch), "signature": e2ee.EncodeBase64URL(sig)}
	if r := e.do("POST", "/api/auth/login", bad, &user{}); r.status != 401 {
		t.Fatalf("foreign-origin signature: %d %s", r.status, r.body)
	}
	// A setup challenge cannot be used to log in.
	wrong := e.proof(admin, "setup")
	if r := e.do("POST", "/api/auth/login", wrong, &user{}); r.status != 401 {
		t.Fatalf("challenge of another purpose: %d %s", r.status, r.body)
	}
	// An unknown key gets the same answer as a bad signature.
	stranger := newUser(t)
	if r := e.do("POST", "/api/auth/login", e.proof(stranger, "login"), stranger); r.status != 401 {
		t.Fatalf("unknown key: %d %s", r.status, r.body)
	}
}

func TestInviteSingleUse(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	code := e.invite(admin, "volunteer")
	var info struct {
		Role   string
		Admins []string
	}
	r := e.do("GET", "/api/invites/"+code, nil, nil)
	r.json(t, &info)
	if r.status != 200 || info.Role != "volunteer" || len(info.Admins) != 1 {
		t.Fatalf("invite info: %d %s", r.status, r.body)
	}
	v := newUser(t)
	// A profile not sealed to the admins is refused, and the invite survives.
	body := e.proof(v, "invite")
	body["profile"] = profileFor(t, v.pk)
	if r := e.do("POST", "/api/invites/"+code+"/accept", body, v); r.status != 400 {
		t.Fatalf("profile without admins: %d %s", r.status, r.body)
	}
	if r := e.acceptAs(v, code); r.status != 200 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/me", nil, v); r.status != 200 {
		t.Fatalf("new volunteer's session: %d", r.status)
	}
	w := newUser(t)
	if r := e.acceptAs(w, code); r.status != 410 {
		t.Fatalf("reused invite: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/invites/"+code, nil, nil); r.status != 410 {
		t.Fatalf("used invite info: %d", r.status)
	}
	unknown, _, _ := auth.NewToken()
	if r := e.acceptAs(w, unknown); r.status != 404 {
		t.Fatalf("unknown invite: %d %s", r.status, r.body)
	}
	// A revoked invite is gone too.
	code2 := e.invite(admin, "volunteer")
	var list struct{ Invites []struct{ ID, UsedAt string } }
	e.do("GET", "/api/invites", nil, admin).json(t, &list)
	for _, inv := range list.Invites {
		if inv.UsedAt == "" {
			if r := e.do("DELETE", "/api/invites/"+inv.ID, nil, admin); r.status != 204 {
				t.Fatalf("revoke: %d %s", r.status, r.body)
			}
		}
	}
	if r := e.acceptAs(w, code2); r.status != 410 {
		t.Fatalf("revoked invite: %d %s", r.status, r.body)
	}
}

func TestOriginRequiredOnStateChanges(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	for _, origin := range []string{"", "https://evil.example", strings.Replace(e.origin, "localhost", "127.0.0.1", 1)} {
		r := e.doOrigin("PUT", "/api/me/availability", map[string]bool{"available": true, "onBreak": false}, admin, origin)
		if r.status != 403 {
			t.Fatalf("origin %q: %d %s", origin, r.status, r.body)
		}
	}
	if r := e.doOrigin("GET", "/api/me", nil, admin, ""); r.status != 200 {
		t.Fatalf("GET without Origin: %d", r.status)
	}
	var me struct{ Available bool }
	e.do("GET", "/api/me", nil, admin).json(t, &me)
	if me.Available {
		t.Fatal("a refused request changed state")
	}
}

func TestBadBodiesChangeNothing(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	raw := func(ct string, body []byte) resp {
		req, _ := http.NewRequest("PUT", e.origin+"/api/me/availability", bytes.NewReader(body))
		req.Header.Set("Origin", e.origin)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.AddCookie(&http.Cookie{Name: cookieName, Value: admin.cookie})
		res, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		return resp{res.StatusCode, res.Header, b.Bytes()}
	}
	cases := []struct {
		name, ct string
		body     []byte
		status   int
	}{
		{"no content type", "", []byte(`{"available":true,"onBreak":false}`), 415},
		{"form", "application/x-www-form-urlencoded", []byte(`available=true`), 415},
		{"malformed", "application/json", []byte(`{"available":tru`), 400},
		{"unknown field", "application/json", []byte(`{"available":true,"onBreak":false,"admin":true}`), 400},
		{"wrong type", "application/json", []byte(`{"available":"yes","onBreak":false}`), 400},
		{"missing field", "application/json", []byte(`{"available":true}`), 400},
		{"trailing data", "application/json", []byte(`{"available":true,"onBreak":false}{}`), 400},
		{"empty", "application/json", nil, 400},
		{"too large", "application/json", append([]byte(`{"available":true,"onBreak":false,"x":"`), bytes.Repeat([]byte("a"), 70<<10)...), 413},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := raw(tc.ct, tc.body)
			if r.status != tc.status || r.errCode() == "" {
				t.Fatalf("got %d %s, want %d with an error code", r.status, r.body, tc.status)
			}
		})
	}
	var me struct{ Available bool }
	e.do("GET", "/api/me", nil, admin).json(t, &me)
	if me.Available {
		t.Fatal("a refused body changed state")
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	e := newEnv(t, panicCalls{})
	admin := e.setupAdmin()
	check := func(name string, r resp, status int) {
		t.Helper()
		if r.status != status {
			t.Errorf("%s: status %d, want %d (%s)", name, r.status, status, r.body)
		}
		h := r.header
		want := map[string]string{
			"Strict-Transport-Security": "max-age=",
			"Content-Security-Policy":   "frame-ancestors 'none'",
			"X-Content-Type-Options":    "nosniff",
			"Referrer-Policy":           "no-referrer",
			"Permissions-Policy":        "microphone=(self)",
			"X-Frame-Options":           "DENY",
		}
		for k, sub := range want {
			if !strings.Contains(h.Get(k), sub) {
				t.Errorf("%s: header %s = %q, want it to contain %q", name, k, h.Get(k), sub)
			}
		}
		csp := h.Get("Content-Security-Policy")
		if strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: weak CSP %q", name, csp)
		}
	}
	check("api ok", e.do("GET", "/api/health", nil, nil), 200)
	check("api 401", e.do("GET", "/api/me", nil, nil), 401)
	check("api 403", e.doOrigin("POST", "/api/auth/logout", nil, nil, ""), 403)
	check("api 404", e.do("GET", "/api/nothing-here", nil, nil), 404)
	check("api wrong method", e.do("DELETE", "/api/health", nil, nil), 404)
	check("api 500", e.do("POST", "/api/calls/0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d/answer", nil, admin), 500)
	check("static index", e.do("GET", "/", nil, nil), 200)
	check("static js", e.do("GET", "/app.js", nil, nil), 200)
	check("static 404", e.do("GET", "/secret.txt", nil, nil), 404)
	check("ws refused without session", e.do("GET", "/api/ws", nil, nil), 401)
	check("ws refused bad origin", e.doOrigin("GET", "/api/ws", nil, admin, "https://evil.example"), 403)
	if !strings.Contains(e.do("GET", "/api/health", nil, nil).header.Get("Cache-Control"), "no-store") {
		t.Error("API responses must not be cached")
	}
	if !strings.Contains(e.logs.String(), "panic") {
		t.Error("the 500 was not logged")
	}
}

// panicCalls makes a handler fail badly, to see a 500 keep its headers.
type panicCalls struct{ nullCalls }

func (panicCalls) Answer(context.Context, string, string) error { panic("engine exploded") }

func dialWS(t *testing.T, e *env, u *user) (*websocket.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Origin", e.origin)
	h.Set("Cookie", cookieName+"="+u.cookie)
	c, _, err := websocket.Dial(ctx, strings.Replace(e.origin, "http", "ws", 1)+"/api/ws", &websocket.DialOptions{HTTPHeader: h})
	return c, err
}

func TestDeactivationRevokesAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	c, err := dialWS(t, e, v)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, hello, err := c.Read(ctx)
	if err != nil || !strings.Contains(string(hello), `"type":"hello"`) {
		t.Fatalf("hello: %s %v", hello, err)
	}
	if r := e.do("PATCH", "/api/volunteers/"+v.pk, map[string]bool{"active": false}, admin); r.status != 200 {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/me", nil, v); r.status != 401 {
		t.Fatalf("deactivated session: %d", r.status)
	}
	for {
		_, _, err = c.Read(ctx)
		if err != nil {
			break
		}
	}
	if websocket.CloseStatus(err) != closeRevoked {
		t.Fatalf("socket closed with %v, want %d", err, closeRevoked)
	}
	if r := e.login(v); r.status != 401 {
		t.Fatalf("deactivated volunteer logged in: %d", r.status)
	}
	if _, err := dialWS(t, e, v); err == nil {
		t.Fatal("deactivated volunteer opened a socket")
	}
}

func TestLastAdminKept(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	for _, body := range []map[string]any{{"active": false}, {"role": "volunteer"}} {
		if r := e.do("PATCH", "/api/volunteers/"+admin.pk, body, admin); r.status != 409 {
			t.Fatalf("%v on the last admin: %d %s", body, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/me", nil, admin); r.status != 200 {
		t.Fatalf("last admin lost access: %d", r.status)
	}
}

func TestNamesNeverStoredInPlaintext(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	e.join(admin, "volunteer")
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(e.st.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, canary := range []string{"Canary Person", "15550001111"} {
		if bytes.Contains(db, []byte(canary)) {
			t.Fatalf("%q found in the database file", canary)
		}
	}
	if strings.Contains(e.logs.String(), "Canary") || strings.Contains(e.logs.String(), "15550001111") {
		t.Fatal("profile content reached the log")
	}
}
