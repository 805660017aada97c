package api

import (
	"context"
	"crypto/rand"
	"log/slog"
	"strings"
	"testing"
	"time"

	"llamenos/ari"
	"llamenos/ari/aritest"
	"llamenos/auth"
	"llamenos/callstats"
	"llamenos/e2ee"
	"llamenos/hotline"
	"llamenos/rtc"
	"llamenos/store"
)

// startEngine runs the real call engine, driving the Asterisk simulator,
// with hub as its notifier and metrics counting the calls that end.
func startEngine(t *testing.T, st *store.Store, hub *Hub, metrics *callstats.Metrics) (*hotline.Engine, *aritest.Server) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	sim, err := aritest.New(aritest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	client, err := ari.New(ari.Config{URL: sim.URL(), Username: sim.Username(), Password: sim.Password(), App: "llamenos", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	media, err := rtc.NewEngine(rtc.Config{IncludeLoopback: true, IPs: []string{"127.0.0.1"}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	eng, err := hotline.New(hotline.Config{App: "llamenos"}, hotline.Deps{ARI: client, RTC: media, Store: st, Notify: hub, Reach: hub, Log: log, Rand: rand.Reader, Recorded: metrics.Observe})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { client.Run(ctx); done <- struct{}{} }()
	go func() { eng.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		client.Close()
		media.Close()
	})
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := sim.WaitApp(wctx, "llamenos"); err != nil {
		t.Fatal(err)
	}
	return eng, sim
}

// The roles of the matrix.
const (
	anon = iota
	vol
	other
	admin
)

var roleNames = [...]string{"anonymous", "volunteer", "other volunteer", "admin"}

// TestRoleMatrix calls every route in the router's table as each role and
// checks the status. A route without an expectation here fails the test, so
// a new route cannot ship unchecked.
func TestRoleMatrix(t *testing.T) {
	e := newEnv(t, nil, withRealEngine, withDeps(func(d *Deps) { d.Demo = fakeDemo{} }))
	// The matrix sends hundreds of requests from one address.
	e.srv.authRL.perSec, e.srv.authRL.burst = 1000, 1000
	a := e.setupAdmin()
	v := e.join(a, "volunteer")
	o := e.join(a, "volunteer")
	admins := []string{a.pk}

	// A past call answered by v, with a note by v.
	callID, _ := store.NewID()
	hash, err := e.st.CallerKey().PhoneHash("+15550107777")
	if err != nil {
		t.Fatal(err)
	}
	num := seal(t, "+15550107777", e2ee.Context{Purpose: e2ee.PurposeCallerNumber, CallID: callID, ItemID: "caller"}, admins...)
	numEnv, _ := e2ee.DecodeBase64URL(num)
	now := time.Now()
	err = e.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.PutCall(store.Call{ID: callID, StartedAt: now.Add(-time.Hour), AnsweredAt: now.Add(-59 * time.Minute),
			EndedAt: now.Add(-50 * time.Minute), QueueWait: time.Minute, Duration: 9 * time.Minute, AnsweredBy: v.pk,
			Outcome: store.OutcomeAnswered, CallerHash: hash, CallerNumber: numEnv})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// others lists every admin but u: u plus these are an envelope's recipients.
	others := func(u *user) []string {
		if u.pk == a.pk {
			return nil
		}
		return admins
	}
	noteBody := func(author *user) map[string]any {
		id, _ := store.NewID()
		return map[string]any{"id": id, "envelope": seal(t, `{"text":"matrix"}`, e2ee.Context{Purpose: e2ee.PurposeNote, CallID: callID, ItemID: id}, append([]string{author.pk}, others(author)...)...)}
	}
	nb := noteBody(v)
	if r := e.do("POST", "/api/calls/"+callID+"/notes", nb, v); r.status != 200 {
		t.Fatalf("fixture note: %d %s", r.status, r.body)
	}
	noteID := nb["id"].(string)
	editBody := func(author *user) map[string]any {
		return map[string]any{"envelope": seal(t, `{"text":"edit"}`, e2ee.Context{Purpose: e2ee.PurposeNote, CallID: callID, ItemID: noteID}, append([]string{author.pk}, others(author)...)...)}
	}
	settings := settingsView(store.DefaultSettings())

	type expect struct {
		path   string
		body   func(role int, u *user) any
		status [4]int
	}
	const U, F = 401, 403 // unauthenticated, forbidden
	none := func(int, *user) any { return nil }
	fixed := func(b any) func(int, *user) any { return func(int, *user) any { return b } }
	missing := "0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d"
	hexMissing := strings.Repeat("ab", 32)
	table := map[string]expect{
		"GET /api/health":          {"", none, [4]int{200, 200, 200, 200}},
		"GET /api/config":          {"", none, [4]int{200, 200, 200, 200}},
		"POST /api/auth/challenge": {"", fixed(map[string]string{"purpose": "login"}), [4]int{200, 200, 200, 200}},
		"POST /api/setup": {"", func(int, *user) any {
			u := newUser(t)
			b := e.proof(u, "setup")
			b["token"] = e.setupToken
			b["profile"] = profileFor(t, u.pk)
			return b
		}, [4]int{409, 409, 409, 409}},
		"GET /api/invites/{code}": {"/api/invites/" + strings.Repeat("A", 43), none, [4]int{404, 404, 404, 404}},
		"POST /api/invites/{code}/accept": {"/api/invites/" + strings.Repeat("A", 43) + "/accept", func(int, *user) any {
			u := newUser(t)
			b := e.proof(u, "invite")
			b["profile"] = profileFor(t, u.pk, a.pk)
			return b
		}, [4]int{404, 404, 404, 404}},
		"POST /api/auth/login": {"", func(_ int, u *user) any {
			return map[string]any{"pubkey": a.pk, "challenge": e2ee.EncodeBase64URL(make([]byte, 32)), "signature": e2ee.EncodeBase64URL(make([]byte, 64))}
		}, [4]int{401, 401, 401, 401}},
		"POST /api/auth/login/passkey": {"", fixed(map[string]any{"ticket": strings.Repeat("A", 43), "credential": map[string]any{}}), [4]int{401, 401, 401, 401}},
		"POST /api/auth/logout":        {"", none, [4]int{204, 204, 204, 204}},
		"POST /api/links":              {"", fixed(map[string]any{"commitment": e2ee.EncodeBase64URL(make([]byte, 32))}), [4]int{200, 200, 200, 200}},
		"POST /api/links/{id}/status":  {"/api/links/AAAAAAAAAA/status", fixed(map[string]any{"token": strings.Repeat("A", 43)}), [4]int{404, 404, 404, 404}},
		"POST /api/links/{id}/reveal":  {"/api/links/AAAAAAAAAA/reveal", fixed(map[string]any{"token": strings.Repeat("A", 43), "pubkey": a.pk}), [4]int{404, 404, 404, 404}},
		"POST /api/links/{id}/cancel":  {"/api/links/AAAAAAAAAA/cancel", fixed(map[string]any{"token": strings.Repeat("A", 43)}), [4]int{404, 404, 404, 404}},
		"POST /api/links/{id}/claim":   {"/api/links/AAAAAAAAAA/claim", none, [4]int{U, 404, 404, 404}},
		"POST /api/links/{id}/answer":  {"/api/links/AAAAAAAAAA/answer", fixed(map[string]any{"pubkey": a.pk}), [4]int{U, 404, 404, 404}},
		"GET /api/links/{id}":          {"/api/links/AAAAAAAAAA", none, [4]int{U, 404, 404, 404}},
		"POST /api/links/{id}/seal":    {"/api/links/AAAAAAAAAA/seal", fixed(map[string]any{"sealed": e2ee.EncodeBase64URL(make([]byte, 72))}), [4]int{U, 404, 404, 404}},
		"DELETE /api/links/{id}":       {"/api/links/AAAAAAAAAA", none, [4]int{U, 404, 404, 404}},

		"GET /api/me":                     {"", none, [4]int{U, 200, 200, 200}},
		"PUT /api/me/profile":             {"", func(_ int, u *user) any { return map[string]any{"profile": profileFor(t, u.pk, others(u)...)} }, [4]int{U, 200, 200, 200}},
		"PUT /api/me/availability":        {"", fixed(map[string]bool{"available": false, "onBreak": false}), [4]int{U, 200, 200, 200}},
		"POST /api/auth/passkeys/options": {"", none, [4]int{U, 200, 200, 200}},
		"POST /api/auth/passkeys":         {"", fixed(map[string]any{"credential": map[string]any{"id": "x"}}), [4]int{U, 400, 400, 400}},
		"GET /api/auth/passkeys":          {"", none, [4]int{U, 200, 200, 200}},
		"DELETE /api/auth/passkeys/{id}":  {"/api/auth/passkeys/AAAA", none, [4]int{U, 404, 404, 404}},
		"GET /api/fields":                 {"", none, [4]int{U, 200, 200, 200}},
		"GET /api/rtc":                    {"", none, [4]int{U, 200, 200, 200}},
		"GET /api/volunteers":             {"", none, [4]int{U, F, F, 200}},
		"PATCH /api/volunteers/{pubkey}":  {"/api/volunteers/" + o.pk, fixed(map[string]bool{"active": true}), [4]int{U, F, F, 200}},
		"DELETE /api/volunteers/{pubkey}": {"/api/volunteers/" + o.pk, none, [4]int{U, F, F, 409}}, // active: deactivate first
		"POST /api/invites":               {"", fixed(map[string]string{"role": "volunteer"}), [4]int{U, F, F, 200}},
		"GET /api/invites":                {"", none, [4]int{U, F, F, 200}},
		"DELETE /api/invites/{id}":        {"/api/invites/" + hexMissing, none, [4]int{U, F, F, 404}},
		"GET /api/settings":               {"", none, [4]int{U, F, F, 200}},
		"PUT /api/settings":               {"", fixed(settings), [4]int{U, F, F, 200}},
		"GET /api/shifts":                 {"", none, [4]int{U, F, F, 200}},
		"PUT /api/shifts":                 {"", fixed(map[string]any{"rules": []any{}, "overrides": []any{}, "fallback": []string{}}), [4]int{U, F, F, 200}},
		"PUT /api/fields":                 {"", fixed(map[string]any{"fields": []any{}}), [4]int{U, F, F, 200}},
		"GET /api/bans":                   {"", none, [4]int{U, F, F, 200}},
		"POST /api/bans":                  {"", fixed(map[string]any{"number": "+15550109999", "sealed": seal(t, "+15550109999", e2ee.Context{Purpose: e2ee.PurposeBan, ItemID: "number"}, a.pk)}), [4]int{U, F, F, 204}},
		"DELETE /api/bans/{id}":           {"/api/bans/" + hexMissing, none, [4]int{U, F, F, 404}},
		"GET /api/audit":                  {"", none, [4]int{U, F, F, 200}},
		"GET /api/audit/verify":           {"", none, [4]int{U, F, F, 200}},
		"GET /api/dashboard":              {"", none, [4]int{U, F, F, 200}},
		"GET /api/prompts":                {"", none, [4]int{U, F, F, 200}},
		"GET /api/prompts/{lang}/{name}":  {"/api/prompts/en/greeting", none, [4]int{U, F, F, 200}},
		// The harness sends application/json: an admin gets as far as the
		// content type (the prompts tests upload real recordings).
		"PUT /api/prompts/{lang}/{name}":    {"/api/prompts/en/greeting", fixed([]byte("RIFF")), [4]int{U, F, F, 415}},
		"DELETE /api/prompts/{lang}/{name}": {"/api/prompts/en/greeting", none, [4]int{U, F, F, 200}},
		"GET /api/calls":                    {"", none, [4]int{U, 200, 200, 200}},
		"GET /api/calls/{id}":               {"/api/calls/" + callID, none, [4]int{U, 200, 404, 200}},
		"POST /api/calls/{id}/answer":       {"/api/calls/" + missing + "/answer", none, [4]int{U, 404, 404, 404}},
		"POST /api/calls/{id}/decline":      {"/api/calls/" + missing + "/decline", none, [4]int{U, 404, 404, 404}},
		"POST /api/calls/{id}/hangup":       {"/api/calls/" + missing + "/hangup", none, [4]int{U, 404, 404, 404}},
		"POST /api/calls/{id}/ban":          {"/api/calls/" + callID + "/ban", none, [4]int{U, 204, 404, 204}},
		"GET /api/calls/{id}/notes":         {"/api/calls/" + callID + "/notes", none, [4]int{U, 200, 404, 200}},
		"POST /api/calls/{id}/notes":        {"/api/calls/" + callID + "/notes", func(_ int, u *user) any { return noteBody(u) }, [4]int{U, 200, 404, F}},
		"GET /api/notes":                    {"", none, [4]int{U, 200, 200, 200}},
		"GET /api/notes/{id}":               {"/api/notes/" + noteID, none, [4]int{U, 200, 404, 200}},
		"PUT /api/notes/{id}":               {"/api/notes/" + noteID, func(_ int, u *user) any { return editBody(u) }, [4]int{U, 200, 404, F}},
		"POST /api/admin-set":               {"", fixed(map[string]any{"statement": map[string]string{"op": "add", "key": hexMissing, "by": hexMissing, "prev": hexMissing, "sig": hexMissing + hexMissing}}), [4]int{U, F, F, F}}, // not signed by the admin who sends it
		"GET /api/reseal":                   {"", none, [4]int{U, F, F, 200}},
		"POST /api/reseal":                  {"", fixed(map[string]any{"items": []any{}}), [4]int{U, F, F, 400}},
		"GET /api/voicemails":               {"", none, [4]int{U, F, F, 200}},
		"GET /api/voicemails/{id}":          {"/api/voicemails/" + missing, none, [4]int{U, F, F, 404}},
		"PUT /api/voicemails/{id}/handled":  {"/api/voicemails/" + missing + "/handled", fixed(map[string]bool{"handled": true}), [4]int{U, F, F, 404}},
		"GET /api/calls/{id}/transcripts":   {"/api/calls/" + callID + "/transcripts", none, [4]int{U, 200, 404, 200}},

		"POST /api/demo/calls":            {"", fixed(map[string]string{"audio": "tone"}), [4]int{U, F, F, 200}},
		"GET /api/demo/calls/{id}":        {"/api/demo/calls/sim-1", none, [4]int{U, F, F, 200}},
		"DELETE /api/demo/calls/{id}":     {"/api/demo/calls/sim-1", none, [4]int{U, F, F, 204}},
		"GET /api/demo/asterisk":          {"", none, [4]int{U, F, F, 200}},
		"POST /api/demo/tamper/copy-note": {"", fixed(map[string]string{"noteId": noteID, "callId": callID}), [4]int{U, F, F, 200}},
		"POST /api/demo/tamper/add-admin": {"", fixed(map[string]string{"pubkey": "not a key"}), [4]int{U, F, F, 400}},
	}

	users := [4]*user{nil, v, o, a}
	seen := map[string]bool{}
	for _, rt := range e.srv.routes {
		key := rt.method + " " + rt.pattern
		seen[key] = true
		exp, ok := table[key]
		if !ok {
			t.Errorf("route %s has no expectation in the role matrix; add one", key)
			continue
		}
		path := exp.path
		if path == "" {
			path = rt.pattern
		}
		for role := anon; role <= admin; role++ {
			var u *user
			if role != anon {
				// A fresh session per request: logout and similar routes must not
				// change what the next request sees.
				u = &user{sk: users[role].sk, pk: users[role].pk, cookie: freshSession(t, e, users[role].pk)}
			}
			bodyUser := users[role]
			if bodyUser == nil {
				bodyUser = newUser(t)
			}
			r := e.do(rt.method, path, exp.body(role, bodyUser), u)
			if r.status != exp.status[role] {
				t.Errorf("%s as %s: %d, want %d (%s)", key, roleNames[role], r.status, exp.status[role], strings.TrimSpace(string(r.body)))
			}
		}
	}
	for key := range table {
		if !seen[key] {
			t.Errorf("the matrix expects %s but the router has no such route", key)
		}
	}
	// The WebSocket is outside the table: anonymous is refused, the rest connect.
	if r := e.do("GET", "/api/ws", nil, nil); r.status != U {
		t.Errorf("GET /api/ws as anonymous: %d", r.status)
	}
	for _, u := range []*user{v, o, a} {
		c, err := dialWS(t, e, u)
		if err != nil {
			t.Errorf("GET /api/ws as %s…: %v", u.pk[:8], err)
			continue
		}
		c.CloseNow()
	}
}

// freshSession writes a session for pubkey straight into the store.
func freshSession(t *testing.T, e *env, pubkey string) string {
	t.Helper()
	tok, hash, err := auth.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	err = e.st.Update(context.Background(), func(tx *store.Tx) error {
		now := tx.Now()
		_, err := tx.PutSession(store.Session{TokenHash: hash, PubKey: pubkey, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// fakeDemo stands in for the demo's simulated callers: the matrix checks
// who may reach the demo routes, not what they do.
type fakeDemo struct{}

func (fakeDemo) PlaceCall(context.Context, string, string) (DemoCall, error) {
	return DemoCall{ID: "sim-1"}, nil
}

func (fakeDemo) Call(id string) (DemoCall, error) {
	if id != "sim-1" {
		return DemoCall{}, ErrDemoNoCall
	}
	return DemoCall{ID: id}, nil
}

func (fakeDemo) HangupCall(id string) error {
	if id != "sim-1" {
		return ErrDemoNoCall
	}
	return nil
}

func (fakeDemo) Asterisk() DemoAsterisk { return DemoAsterisk{} }
