package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
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
			admin2 := e.join(admin, "admin")
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
