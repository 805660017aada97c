package api

import (
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
