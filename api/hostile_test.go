package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"llamenos/records"
	"llamenos/store"
)

// The attacks of a hostile insider or a flood, each reproduced against the
// real API over a real store; each of these failed before its fix.

// TestRemovedAdminsInvitesDie: an admin's invites die with their admin
// rights, by deactivation or demotion; the invite list says who made each.
func TestRemovedAdminsInvitesDie(t *testing.T) {
	for _, how := range []struct {
		name   string
		change map[string]any
	}{
		{"deactivated", map[string]any{"active": false}},
		{"demoted", map[string]any{"role": "volunteer"}},
	} {
		t.Run(how.name, func(t *testing.T) {
			e := newEnv(t, nil)
			admin := e.setupAdmin()
			// By role only: a vouched admin leaves by a signed removal
			// (TestAdminSetRemovalDemotes).
			admin2 := e.joinByRole(admin, "admin")
			code := e.invite(admin2, "admin")
			kept := e.invite(admin, "volunteer")

			var list struct {
				Invites []struct {
					CreatedBy string `json:"createdBy"`
					RevokedAt *string
				}
			}
			e.do("GET", "/api/invites", nil, admin).json(t, &list)
			byCreator := map[string]int{}
			for _, inv := range list.Invites {
				byCreator[inv.CreatedBy]++
			}
			if byCreator[admin2.pk] != 1 || byCreator[admin.pk] != 2 {
				t.Fatalf("invite creators: %v", byCreator)
			}

			if r := e.do("PATCH", "/api/volunteers/"+admin2.pk, how.change, admin); r.status != 200 {
				t.Fatalf("remove admin2: %d %s", r.status, r.body)
			}
			if r := e.do("GET", "/api/invites/"+code, nil, nil); r.status != 410 {
				t.Fatalf("removed admin's invite still answers %d: %s", r.status, r.body)
			}
			comeback := newUser(t)
			if r := e.acceptAs(comeback, code); r.status != 410 {
				t.Fatalf("removed admin's invite accepted: %d %s", r.status, r.body)
			}
			if r := e.login(comeback); r.status == 200 {
				t.Fatal("an account came from a dead invite")
			}
			e.do("GET", "/api/invites", nil, admin).json(t, &list)
			for _, inv := range list.Invites {
				if inv.CreatedBy == admin2.pk && inv.RevokedAt == nil {
					t.Fatal("the removed admin's invite is not shown revoked")
				}
			}
			// The remaining admin's invites are untouched.
			if r := e.acceptAs(newUser(t), kept); r.status != 200 {
				t.Fatalf("a live admin's invite: %d %s", r.status, r.body)
			}
		})
	}
}

// TestHostMustBeThePublicOne: a request naming another host (DNS rebinding,
// or the IP typed instead of the name) is refused with the address to open;
// health probes answer on any name.
func TestHostMustBeThePublicOne(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	for _, host := range []string{"attacker.example", strings.TrimPrefix(e.ts.URL, "http://"), "localhost"} {
		for _, path := range []string{"/api/me", "/", "/api/ws"} {
			req, _ := http.NewRequest("GET", e.ts.URL+path, nil)
			req.Host = host
			req.AddCookie(&http.Cookie{Name: cookieName, Value: admin.cookie})
			res, err := e.ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(string(body), e.origin) {
				t.Errorf("Host %s %s: %d %s", host, path, res.StatusCode, body)
			}
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Errorf("Host %s %s: no security headers on the refusal", host, path)
			}
		}
	}
	req, _ := http.NewRequest("GET", e.ts.URL+"/api/health", nil)
	req.Host = "attacker.example"
	res, err := e.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Errorf("health on another name: %d", res.StatusCode)
	}
	if r := e.do("GET", "/api/me", nil, admin); r.status != 200 {
		t.Errorf("the public host: %d", r.status)
	}
}

func TestSameHost(t *testing.T) {
	for _, tc := range []struct {
		req, public, scheme string
		want                bool
	}{
		{"hotline.example", "hotline.example", "https", true},
		{"hotline.example:443", "hotline.example", "https", true},
		{"HOTLINE.example.", "hotline.example", "https", true},
		{"hotline.example:8443", "hotline.example", "https", false},
		{"localhost:8080", "localhost:8080", "http", true},
		{"127.0.0.1:8080", "localhost:8080", "http", false},
		{"[::1]:8080", "localhost:8080", "http", false},
		{"evil.example", "hotline.example", "https", false},
	} {
		if got := sameHost(tc.req, tc.public, tc.scheme); got != tc.want {
			t.Errorf("sameHost(%q, %q) = %v", tc.req, tc.public, got)
		}
	}
}

// TestOneVolunteerCannotFillTheDisk: a volunteer who saves huge notes and
// edits them over and over is refused (413 for one too large, 429 past the
// daily limit or the count limits), and the database stops growing.
func TestOneVolunteerCannotFillTheDisk(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	callID := e.answeredCall(v)
	note := func(id string, size int) map[string]string {
		plain := `{"text":"` + strings.Repeat("a", size) + `"}`
		return map[string]string{"id": id, "envelope": seal(t, plain, notePurpose(callID, id), v.pk, admin.pk)}
	}
	size := func() int64 {
		fi, err := os.Stat(e.st.Path())
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()

	huge := "9b2c4e6a-1d3f-4a5b-8c7d-0e1f2a3b4c5d"
	if r := e.do("POST", "/api/calls/"+callID+"/notes", note(huge, 700<<10), v); r.status != 413 {
		t.Fatalf("a 700 KiB note: %d %s", r.status, r.body)
	}
	id := "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
	if r := e.do("POST", "/api/calls/"+callID+"/notes", note(id, 200<<10), v); r.status != 200 {
		t.Fatalf("first note: %d %s", r.status, r.body)
	}
	saved := int64(200 << 10)
	refused := false
	for i := 0; i < 40 && !refused; i++ {
		body := note(id, 200<<10)
		r := e.do("PUT", "/api/notes/"+id, map[string]string{"envelope": body["envelope"]}, v)
		switch r.status {
		case 200:
			saved += 200 << 10
		case 429:
			if !strings.Contains(string(r.body), `"quota_exceeded"`) {
				t.Fatalf("429 without its code: %s", r.body)
			}
			refused = true
		default:
			t.Fatalf("edit %d: %d %s", i, r.status, r.body)
		}
	}
	if !refused || saved > records.DefaultBytesPerDay {
		t.Fatalf("refused=%v after %d KiB saved; the daily limit is %d KiB", refused, saved>>10, records.DefaultBytesPerDay>>10)
	}
	// A new note counts against the same limit as edits.
	if r := e.do("POST", "/api/calls/"+callID+"/notes", note("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", 200<<10), v); r.status != 429 {
		t.Fatalf("a new note past the daily limit: %d %s", r.status, r.body)
	}
	// bbolt grows its file in steps of up to 16 MiB; beyond one step, growth
	// is bounded by what was saved (each edit keeps the replaced envelope).
	if grown := size() - before; grown > 2*records.DefaultBytesPerDay+16<<20 {
		t.Fatalf("the database grew by %d MiB", grown>>20)
	}
	t.Logf("saved %d KiB before the refusal; database grew by %d KiB", saved>>10, (size()-before)>>10)
}

// TestNoteCountLimits: one author's notes on a call, and the saves of one
// note, are bounded.
func TestNoteCountLimits(t *testing.T) {
	lim := records.Limits{NotesPerCall: 3, RevisionsPerNote: 4}
	e := newEnv(t, nil, withDeps(func(d *Deps) { d.Records = &records.Service{Limits: lim} }))
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	callID := e.answeredCall(v)
	post := func(id string) int {
		env := seal(t, `{"text":"n"}`, notePurpose(callID, id), v.pk, admin.pk)
		return e.do("POST", "/api/calls/"+callID+"/notes", map[string]string{"id": id, "envelope": env}, v).status
	}
	ids := []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
		"33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"}
	for i, id := range ids {
		want := 200
		if i >= lim.NotesPerCall {
			want = 429
		}
		if got := post(id); got != want {
			t.Fatalf("note %d: %d, want %d", i+1, got, want)
		}
	}
	for rev := 2; rev <= lim.RevisionsPerNote+1; rev++ {
		env := seal(t, `{"text":"edit"}`, notePurpose(callID, ids[0]), v.pk, admin.pk)
		want := 200
		if rev > lim.RevisionsPerNote {
			want = 429
		}
		if r := e.do("PUT", "/api/notes/"+ids[0], map[string]string{"envelope": env}, v); r.status != want {
			t.Fatalf("save %d: %d, want %d: %s", rev, r.status, want, r.body)
		}
	}
}

// TestChallengeFloodDoesNotBlockSignIn: many source addresses ask for
// sign-in challenges as fast as they are allowed and never answer; a
// volunteer signing in meanwhile succeeds, and the refusals are not logged
// as errors. (That no number of unanswered challenges fills anything is
// shown in auth's TestChallengeFlood, with 50,000; the old table held
// 20,000.)
func TestChallengeFloodDoesNotBlockSignIn(t *testing.T) {
	frozen := time.Now() // no refill during the flood, however slow the machine
	e := newEnv(t, nil, withDeps(func(d *Deps) {
		d.LoginsPerMinute = 100 // bursts of 100 challenges
		d.Now = func() time.Time { return frozen }
	}))
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	const sources = 24 // 127.0.0.2 …: each its own address, as from many machines
	var wg sync.WaitGroup
	issued := make([]int, sources)
	for i := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i))}
			c := &http.Client{Transport: &http.Transport{
				DialContext:         (&net.Dialer{LocalAddr: local}).DialContext,
				MaxIdleConnsPerHost: 1,
			}}
			defer c.CloseIdleConnections()
			for range 120 { // past the burst: the last are refused
				req, _ := http.NewRequest("POST", e.origin+"/api/auth/challenge", strings.NewReader(`{"purpose":"login"}`))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Origin", e.origin)
				r, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode == 200 {
					issued[i]++
				} else if r.StatusCode != 429 {
					t.Errorf("challenge during the flood: %d", r.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range issued {
		total += n
	}
	if total != sources*100 {
		t.Fatalf("the flood got %d challenges; each address should get its burst of 100 and no more", total)
	}
	if r := e.login(v); r.status != 200 {
		t.Fatalf("sign-in after %d unanswered challenges: %d %s", total, r.status, r.body)
	}
	if logs := e.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Fatalf("refusals logged as errors:\n%.2000s", logs)
	}
}

// TestDemotedSocketLosesAdminMessages: an admin demoted while their socket
// is open is served as a volunteer from that moment; a socket whose session
// expired is closed by the sweep.
func TestDemotedSocketLosesAdminMessages(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	admin2 := e.joinByRole(admin, "admin")
	c, err := dialWS(t, e, admin2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Wait until the socket is registered: the hello comes after.
	if _, hello, err := c.Read(ctx); err != nil || !strings.Contains(string(hello), `"role":"admin"`) {
		t.Fatalf("hello: %s %v", hello, err)
	}
	probe := func() map[string]string {
		roles := map[string]string{}
		for _, s := range e.srv.Hub.snapshot(func(*wsConn) bool { return true }) {
			roles[s.pubkey] = *s.role.Load()
		}
		return roles
	}
	if got := probe()[admin2.pk]; got != "admin" {
		t.Fatalf("before: served as %q", got)
	}
	if r := e.do("PATCH", "/api/volunteers/"+admin2.pk, map[string]string{"role": "volunteer"}, admin); r.status != 200 {
		t.Fatalf("demote: %d %s", r.status, r.body)
	}
	if got := probe()[admin2.pk]; got != "volunteer" {
		t.Fatalf("a demoted admin's socket is still served as %q", got)
	}

	// The session ends by time while the socket is open.
	err = e.st.Update(ctx, func(tx *store.Tx) error {
		ss, err := tx.SessionsFor(admin2.pk)
		if err != nil {
			return err
		}
		for _, s := range ss {
			s.ExpiresAt = s.CreatedAt.Add(time.Nanosecond) // long past
			if _, err := tx.PutSession(s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv.sweepSockets(ctx)
	for {
		if _, _, err = c.Read(ctx); err != nil {
			break
		}
	}
	if websocket.CloseStatus(err) != closeRevoked {
		t.Fatalf("socket of an expired session: %v", err)
	}
}

// TestPasskeyPolicyHoldsEverySession: once passkeys are required, a session
// opened without one — before the policy, by a password-only sign-in, or
// by accepting an invite — can only read who it is and enrol a passkey.
func TestPasskeyPolicyHoldsEverySession(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	code := e.invite(admin, "volunteer")
	var set map[string]any
	e.do("GET", "/api/settings", nil, admin).json(t, &set)
	set["passkeyPolicy"] = map[string]bool{"admins": false, "volunteers": true}
	if r := e.do("PUT", "/api/settings", set, admin); r.status != 200 {
		t.Fatalf("require passkeys: %d %s", r.status, r.body)
	}
	held := func(who string, u *user) {
		t.Helper()
		var me struct {
			MustEnrolPasskey bool `json:"mustEnrolPasskey"`
		}
		if r := e.do("GET", "/api/me", nil, u); r.status != 200 {
			t.Fatalf("%s: /api/me %d", who, r.status)
		} else {
			r.json(t, &me)
		}
		if !me.MustEnrolPasskey {
			t.Fatalf("%s: not told to enrol a passkey", who)
		}
		for _, rq := range []struct{ method, path string }{
			{"GET", "/api/calls"}, {"GET", "/api/notes"}, {"GET", "/api/fields"}, {"GET", "/api/rtc"},
			{"PUT", "/api/me/availability"},
		} {
			var body any
			if rq.method == "PUT" {
				body = map[string]bool{"available": true}
			}
			if r := e.do(rq.method, rq.path, body, u); r.status != 403 || r.errCode() != "passkey_required" {
				t.Fatalf("%s: %s %s answered %d %s", who, rq.method, rq.path, r.status, r.body)
			}
		}
		if _, err := dialWS(t, e, u); err == nil {
			t.Fatalf("%s: opened a socket", who)
		}
		if r := e.do("POST", "/api/auth/passkeys/options", nil, u); r.status != 200 {
			t.Fatalf("%s: cannot start enrolling: %d %s", who, r.status, r.body)
		}
	}
	held("the session from before the policy", v)
	if r := e.login(v); r.status != 200 {
		t.Fatalf("sign-in without a passkey: %d %s", r.status, r.body)
	}
	held("a new password-only session", v)
	newcomer := newUser(t)
	if r := e.acceptAs(newcomer, code); r.status != 200 {
		t.Fatalf("accept: %d %s", r.status, r.body)
	}
	held("a session from an invite", newcomer)
	// Admins are not covered by this policy: untouched.
	if r := e.do("GET", "/api/calls", nil, admin); r.status != 200 {
		t.Fatalf("admin: %d", r.status)
	}
}

// TestSlowBodiesAreCut: connections that trickle a request body are closed
// once the request deadline passes, instead of being held forever.
func TestSlowBodiesAreCut(t *testing.T) {
	const timeout = time.Second
	e := newEnv(t, nil, withDeps(func(d *Deps) { d.RequestTimeout = timeout }))
	const n = 40
	addr := strings.TrimPrefix(e.ts.URL, "http://")
	closed := make(chan time.Duration, n)
	start := time.Now()
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "POST /api/auth/logout HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", strings.TrimPrefix(e.origin, "http://"), e.origin)
		go func() {
			// One byte every 200 ms: the request never completes. The
			// server's answer, or its close, ends the read.
			done := make(chan struct{})
			go func() {
				t := time.NewTicker(200 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-done:
						return
					case <-t.C:
						if _, err := c.Write([]byte(" ")); err != nil {
							return
						}
					}
				}
			}()
			io.Copy(io.Discard, c)
			close(done)
			closed <- time.Since(start)
		}()
	}
	deadline := time.After(timeout + 10*time.Second)
	for i := range n {
		select {
		case <-closed:
		case <-deadline:
			t.Fatalf("%d of %d slow connections still open %s after the request deadline", n-i, n, 10*time.Second)
		}
	}
}

// TestConnectionCap: one address cannot hold more than its share of
// connections; another address still gets in.
func TestConnectionCap(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitConns(raw, 3, 5)
	defer ln.Close()
	var accepted []net.Conn
	acc := make(chan net.Conn)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(acc)
				return
			}
			acc <- c
		}
	}()
	dial := func(from byte) net.Conn {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, from)}}
		c, err := d.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	refused := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		return err == io.EOF
	}
	for range 3 {
		dial(2)
		accepted = append(accepted, <-acc)
	}
	if !refused(dial(2)) {
		t.Fatal("a fourth connection from one address was kept")
	}
	for range 2 {
		dial(3)
		accepted = append(accepted, <-acc)
	}
	if !refused(dial(4)) {
		t.Fatal("a connection past the total was kept")
	}
	accepted[0].Close() // a slot comes free
	dial(4)
	select {
	case c := <-acc:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("a freed slot was not given to the next connection")
	}
	for _, c := range accepted[1:] {
		c.Close()
	}
}

// TestHealthTellsStrangersNothing: the public health check says only that
// the daemon answers; version, commit and the Asterisk link are on the
// loopback metrics listener.
func TestHealthTellsStrangersNothing(t *testing.T) {
	e := newEnv(t, nil)
	var pub map[string]any
	e.do("GET", "/api/health", nil, nil).json(t, &pub)
	if len(pub) != 1 || pub["status"] != "ok" {
		t.Fatalf("public health says %v", pub)
	}
	ts := httptest.NewServer(e.srv.MetricsHandler())
	defer ts.Close()
	res, err := ts.Client().Get(ts.URL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var local map[string]string
	if err := json.NewDecoder(res.Body).Decode(&local); err != nil {
		t.Fatal(err)
	}
	if local["status"] != "ok" || local["ari"] != "disconnected" || local["version"] == "" || local["commit"] == "" {
		t.Fatalf("metrics listener health says %v", local)
	}
}

// TestOtherOriginIsToldWhereToGo: a state-changing request from a page at
// another origin (a proxy that forwards the public Host while the browser
// shows another address) is refused with a code of its own and the address
// to open, so the browser can say what to do instead of "not allowed".
func TestOtherOriginIsToldWhereToGo(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	for _, origin := range []string{"http://127.0.0.1:8090", "null", ""} {
		r := e.doOrigin("POST", "/api/auth/logout", nil, admin, origin)
		var body struct {
			Error struct{ Code, Message, Origin string }
		}
		r.json(t, &body)
		if r.status != http.StatusForbidden || body.Error.Code != "wrong_origin" || body.Error.Origin != e.origin || !strings.Contains(body.Error.Message, e.origin) {
			t.Errorf("Origin %q: %d %s", origin, r.status, r.body)
		}
	}
	if r := e.do("POST", "/api/auth/logout", nil, admin); r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Errorf("the public origin: %d %s", r.status, r.body)
	}
}
