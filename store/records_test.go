package store

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestVolunteers(t *testing.T) {
	s, _ := openTest(t)
	seal := newSealer(t)
	var created Volunteer
	update(t, s, func(tx *Tx) error {
		var err error
		created, err = tx.CreateVolunteer(Volunteer{PubKey: pk(1), Role: RoleAdmin, Active: true, Profile: seal.seal("Ana, +34 600 000 000")})
		return err
	})
	if len(created.UserHandle) != userHandleLen || created.CreatedAt.IsZero() {
		t.Fatalf("store did not fill handle and times: %+v", created)
	}
	bad := []struct {
		name string
		v    Volunteer
		want error
	}{
		{"duplicate", Volunteer{PubKey: pk(1), Role: RoleVolunteer}, ErrExists},
		{"uppercase key", Volunteer{PubKey: "AB" + pk(1)[2:], Role: RoleVolunteer}, ErrInvalid},
		{"short key", Volunteer{PubKey: pk(1)[:60], Role: RoleVolunteer}, ErrInvalid},
		{"role", Volunteer{PubKey: pk(2), Role: "root"}, ErrInvalid},
		{"huge profile", Volunteer{PubKey: pk(2), Role: RoleVolunteer, Profile: make([]byte, MaxEnvelope+1)}, ErrInvalid},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			err := s.Update(context.Background(), func(tx *Tx) error { _, err := tx.CreateVolunteer(c.v); return err })
			wantErr(t, err, c.want)
		})
	}
	update(t, s, func(tx *Tx) error {
		got, err := tx.VolunteerByUserHandle(created.UserHandle)
		if err != nil || got.PubKey != pk(1) {
			t.Errorf("by handle: %v %v", got.PubKey, err)
		}
		if _, err := tx.VolunteerByUserHandle(created.UserHandle[:31]); !errors.Is(err, ErrNotFound) {
			t.Errorf("short handle: %v", err)
		}
		if _, err := tx.UpdateVolunteer(pk(1), func(v *Volunteer) error { v.UserHandle[0] ^= 1; return nil }); !errors.Is(err, ErrInvalid) {
			t.Errorf("changing the handle: %v", err)
		}
		u, err := tx.UpdateVolunteer(pk(1), func(v *Volunteer) error { v.Available = true; return nil })
		if err != nil || !u.Available {
			t.Errorf("update: %v", err)
		}
		if _, err := tx.Volunteer(pk(9)); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing volunteer: %v", err)
		}
		got, err = tx.Volunteer(pk(1))
		if err != nil || seal.open(t, got.Profile) != "Ana, +34 600 000 000" {
			t.Errorf("profile round trip: %v", err)
		}
		return nil
	})
	mustCheck(t, s)
}

func TestDeactivateEndsSessions(t *testing.T) {
	s, _ := openTest(t)
	now := time.Now()
	update(t, s, func(tx *Tx) error {
		for i := 1; i <= 2; i++ {
			if _, err := tx.CreateVolunteer(Volunteer{PubKey: pk(i), Role: RoleVolunteer, Active: true, Available: true}); err != nil {
				return err
			}
			for j := range 3 {
				if _, err := tx.PutSession(Session{TokenHash: tokenHash(string(rune('a' + i*10 + j))), PubKey: pk(i), ExpiresAt: now.Add(time.Hour)}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	update(t, s, func(tx *Tx) error {
		n, err := tx.DeactivateVolunteer(pk(1))
		if n != 3 {
			t.Errorf("deleted %d sessions, want 3", n)
		}
		return err
	})
	view(t, s, func(tx *Tx) error {
		v, _ := tx.Volunteer(pk(1))
		if v.Active || v.Available {
			t.Errorf("still active/available: %+v", v)
		}
		for i, want := range map[int]int{1: 0, 2: 3} {
			got, err := tx.SessionsFor(pk(i))
			if err != nil || len(got) != want {
				t.Errorf("volunteer %d has %d sessions, want %d (%v)", i, len(got), want, err)
			}
		}
		if _, err := tx.Session(tokenHash(string(rune('a' + 10)))); !errors.Is(err, ErrNotFound) {
			t.Errorf("session of a deactivated volunteer still found: %v", err)
		}
		return nil
	})
	mustCheck(t, s)
}

func TestSessions(t *testing.T) {
	s, _ := openTest(t)
	now := time.Now().UTC()
	h := tokenHash("token-1")
	update(t, s, func(tx *Tx) error {
		if _, err := tx.PutSession(Session{TokenHash: h, PubKey: pk(1), ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.PutSession(Session{TokenHash: h, PubKey: pk(2), ExpiresAt: now.Add(time.Hour)}); !errors.Is(err, ErrInvalid) {
			t.Errorf("owner change: %v", err)
		}
		if _, err := tx.PutSession(Session{TokenHash: tokenHash("old"), PubKey: pk(1), CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
			return err
		}
		// Sliding: the auth package moves the expiry forward.
		sess, err := tx.Session(h)
		if err != nil {
			return err
		}
		sess.LastUsedAt, sess.ExpiresAt, sess.SecondFactor = now.Add(time.Minute), now.Add(2*time.Hour), true
		_, err = tx.PutSession(sess)
		return err
	})
	update(t, s, func(tx *Tx) error {
		n, err := tx.DeleteExpiredSessions(now)
		if n != 1 {
			t.Errorf("expired sessions deleted: %d", n)
		}
		got, _ := tx.Session(h)
		if !got.SecondFactor || !got.ExpiresAt.Equal(now.Add(2*time.Hour)) {
			t.Errorf("slid session: %+v", got)
		}
		if err := tx.DeleteSession(h); err != nil {
			return err
		}
		if err := tx.DeleteSession(h); err != nil {
			t.Errorf("deleting twice: %v", err)
		}
		return err
	})
	mustCheck(t, s)
}

func TestInvites(t *testing.T) {
	s, _ := openTest(t)
	now := time.Now().UTC()
	code := tokenHash("invite-code")
	update(t, s, func(tx *Tx) error {
		_, err := tx.CreateInvite(Invite{CodeHash: code, Role: RoleVolunteer, CreatedBy: pk(1), ExpiresAt: now.Add(7 * 24 * time.Hour)})
		return err
	})
	// Many browsers redeem the same code at once: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
		errs []error
	)
	for i := range 8 {
		wg.Go(func() {
			err := s.Update(context.Background(), func(tx *Tx) error {
				if _, err := tx.RedeemInvite(code, pk(10+i), now); err != nil {
					return err
				}
				_, err := tx.CreateVolunteer(Volunteer{PubKey: pk(10 + i), Role: RoleVolunteer, Active: true})
				return err
			})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				wins++
			} else {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d redemptions succeeded, want 1", wins)
	}
	for _, err := range errs {
		wantErr(t, err, ErrInviteUsed)
	}
	expired, revoked := tokenHash("expired"), tokenHash("revoked")
	update(t, s, func(tx *Tx) error {
		if _, err := tx.CreateInvite(Invite{CodeHash: expired, Role: RoleAdmin, CreatedBy: pk(1), CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(-time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.CreateInvite(Invite{CodeHash: revoked, Role: RoleAdmin, CreatedBy: pk(1), ExpiresAt: now.Add(time.Hour)}); err != nil {
			return err
		}
		_, err := tx.RevokeInvite(revoked)
		return err
	})
	for _, c := range []struct {
		code Hash
		want error
	}{{expired, ErrInviteExpired}, {revoked, ErrInviteRevoked}, {tokenHash("nope"), ErrNotFound}, {code, ErrInviteUsed}} {
		err := s.Update(context.Background(), func(tx *Tx) error { _, err := tx.RedeemInvite(c.code, pk(99), now); return err })
		wantErr(t, err, c.want)
	}
	view(t, s, func(tx *Tx) error {
		list, err := tx.Invites()
		if len(list) != 3 || list[len(list)-1].CodeHash != expired {
			t.Errorf("invites newest first: %d %v", len(list), err)
		}
		return err
	})
	update(t, s, func(tx *Tx) error {
		n, err := tx.DeleteInvitesBefore(now)
		if n != 1 {
			t.Errorf("pruned %d invites, want 1", n)
		}
		return err
	})
	mustCheck(t, s)
}

func TestPasskeys(t *testing.T) {
	s, _ := openTest(t)
	p := Passkey{ID: []byte("cred-1"), PubKey: pk(1), PublicKey: []byte{0xa5, 1, 2}, AAGUID: make([]byte, 16), BackupEligible: true, Transports: []string{"internal", "hybrid"}}
	update(t, s, func(tx *Tx) error {
		if _, err := tx.PutPasskey(p); err != nil {
			return err
		}
		q := p
		q.ID = []byte("cred-2")
		if _, err := tx.PutPasskey(q); err != nil {
			return err
		}
		stolen := p
		stolen.PubKey = pk(2)
		if _, err := tx.PutPasskey(stolen); !errors.Is(err, ErrExists) {
			t.Errorf("re-registering another's credential: %v", err)
		}
		p.SignCount = 7
		_, err := tx.PutPasskey(p)
		return err
	})
	view(t, s, func(tx *Tx) error {
		list, err := tx.PasskeysFor(pk(1))
		if len(list) != 2 || list[0].SignCount != 7 || !list[0].BackupEligible {
			t.Errorf("passkeys: %+v %v", list, err)
		}
		if other, _ := tx.PasskeysFor(pk(2)); len(other) != 0 {
			t.Error("another volunteer sees the credentials")
		}
		return err
	})
	update(t, s, func(tx *Tx) error { return tx.DeletePasskey([]byte("cred-2")) })
	mustCheck(t, s)
}

func TestShifts(t *testing.T) {
	s, _ := openTest(t)
	ruleID := newID(t)
	cases := []struct {
		name  string
		start string
		end   string
		days  []time.Weekday
		ok    bool
	}{
		{"day", "09:00", "17:00", []time.Weekday{1, 2, 3}, true},
		{"overnight", "22:00", "06:00", []time.Weekday{5}, true},
		{"whole day", "00:00", "24:00", []time.Weekday{0, 6}, true},
		{"equal", "09:00", "09:00", []time.Weekday{1}, false},
		{"24 as start", "24:00", "06:00", []time.Weekday{1}, false},
		{"bad minute", "09:60", "10:00", []time.Weekday{1}, false},
		{"bad form", "9:00", "10:00", []time.Weekday{1}, false},
		{"no days", "09:00", "10:00", nil, false},
		{"day 7", "09:00", "10:00", []time.Weekday{7}, false},
		{"repeated day", "09:00", "10:00", []time.Weekday{1, 1}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := s.Update(context.Background(), func(tx *Tx) error {
				_, err := tx.PutShiftRule(ShiftRule{ID: ruleID, Days: c.days, Start: c.start, End: c.end, Volunteers: []string{pk(1)}})
				return err
			})
			if c.ok != (err == nil) {
				t.Errorf("err = %v, want ok=%v", err, c.ok)
			}
		})
	}
	o1, o2 := newID(t), newID(t)
	update(t, s, func(tx *Tx) error {
		if _, err := tx.PutShiftOverride(ShiftOverride{ID: o1, Date: "2026-12-24", RuleID: ruleID, Kind: OverrideSubstitute, Volunteers: []string{pk(2)}}); err != nil {
			return err
		}
		if _, err := tx.PutShiftOverride(ShiftOverride{ID: o2, Date: "2026-12-25", Kind: OverrideCancel}); err != nil {
			return err
		}
		for _, bad := range []ShiftOverride{
			{ID: newID(t), Date: "2026-13-01", Kind: OverrideCancel},
			{ID: newID(t), Date: "2026-12-01", Kind: OverrideSubstitute},
			{ID: newID(t), Date: "2026-12-01", Kind: "move"},
			{ID: newID(t), Date: "2026-12-01", Kind: OverrideCancel, RuleID: newID(t)},
		} {
			if _, err := tx.PutShiftOverride(bad); err == nil {
				t.Errorf("accepted %+v", bad)
			}
		}
		return tx.SetFallbackGroup([]string{pk(3), pk(4)})
	})
	view(t, s, func(tx *Tx) error {
		got, err := tx.ShiftOverrides("2026-12-25", "")
		if len(got) != 1 || got[0].ID != o2 {
			t.Errorf("overrides from 12-25: %+v %v", got, err)
		}
		g, err := tx.FallbackGroup()
		if len(g) != 2 {
			t.Errorf("fallback %v %v", g, err)
		}
		rules, _ := tx.ShiftRules()
		if len(rules) != 1 || rules[0].End != "24:00" {
			t.Errorf("rules: %+v", rules)
		}
		return nil
	})
	update(t, s, func(tx *Tx) error { return tx.DeleteShiftRule(ruleID) })
	view(t, s, func(tx *Tx) error {
		got, _ := tx.ShiftOverrides("", "")
		if len(got) != 1 || got[0].ID != o2 {
			t.Errorf("deleting a rule left its overrides: %+v", got)
		}
		return nil
	})
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error { return tx.SetFallbackGroup([]string{pk(1), pk(1)}) }), ErrInvalid)
	mustCheck(t, s)
}

func TestBans(t *testing.T) {
	s, _ := openTest(t)
	seal := newSealer(t)
	h := callerHash(t, s, "+15555550100")
	update(t, s, func(tx *Tx) error {
		_, err := tx.PutBan(Ban{Hash: h, Number: seal.seal("+15555550100"), CreatedBy: pk(1)})
		return err
	})
	view(t, s, func(tx *Tx) error {
		banned, err := tx.IsBanned(h)
		if !banned {
			t.Error("not banned")
		}
		if other, _ := tx.IsBanned(callerHash(t, s, "+15555550101")); other {
			t.Error("another number is banned")
		}
		return err
	})
	update(t, s, func(tx *Tx) error { return tx.DeleteBan(h) })
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error { return tx.DeleteBan(h) }), ErrNotFound)
	wantErr(t, s.Update(context.Background(), func(tx *Tx) error { _, err := tx.PutBan(Ban{CreatedBy: pk(1)}); return err }), ErrInvalid)
}

func TestSettingsAndFields(t *testing.T) {
	s, _ := openTest(t)
	view(t, s, func(tx *Tx) error {
		got, err := tx.Settings()
		if err != nil || got.QueueTimeoutSeconds != 90 || got.VoicemailMode != VoicemailAuto {
			t.Errorf("defaults: %+v %v", got, err)
		}
		return err
	})
	if err := DefaultSettings().Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	for _, c := range []struct {
		name string
		mod  func(*Settings)
	}{
		{"timeout low", func(s *Settings) { s.QueueTimeoutSeconds = 29 }},
		{"timeout high", func(s *Settings) { s.QueueTimeoutSeconds = 301 }},
		{"zone", func(s *Settings) { s.TimeZone = "Mars/Olympus" }},
		{"mode", func(s *Settings) { s.VoicemailMode = "sometimes" }},
		{"no languages", func(s *Settings) { s.Languages = nil }},
		{"bad language", func(s *Settings) { s.Languages = []string{"english"} }},
		{"name", func(s *Settings) { s.HotlineName = "" }},
		{"captcha", func(s *Settings) { s.CaptchaAttempts = 0 }},
		{"rate", func(s *Settings) { s.RateLimitPerMinute = -1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := DefaultSettings()
			c.mod(&st)
			err := s.Update(context.Background(), func(tx *Tx) error { return tx.PutSettings(st) })
			wantErr(t, err, ErrInvalid)
		})
	}
	good := DefaultSettings()
	good.TimeZone, good.Languages, good.QueueTimeoutSeconds = "America/Mexico_City", []string{"es", "en"}, 120
	update(t, s, func(tx *Tx) error { return tx.PutSettings(good) })
	view(t, s, func(tx *Tx) error {
		got, _ := tx.Settings()
		if got.TimeZone != "America/Mexico_City" || got.QueueTimeoutSeconds != 120 || len(got.Languages) != 2 {
			t.Errorf("settings round trip: %+v", got)
		}
		return nil
	})

	fields := []CustomField{
		{ID: "risk", Label: "Risk level", Type: FieldSelect, Required: true, Options: []string{"low", "medium", "high"}},
		{ID: "follow_up", Label: "Needs follow-up", Type: FieldCheckbox},
	}
	update(t, s, func(tx *Tx) error { return tx.SetCustomFields(fields) })
	bounded := []CustomField{
		{ID: "age", Label: "Age", Type: FieldNumber, Min: ptr(0.0), Max: ptr(120.0)},
		{ID: "summary", Label: "Summary", Type: FieldTextarea, MinLength: 1, MaxLength: 500},
	}
	update(t, s, func(tx *Tx) error { return tx.SetCustomFields(bounded) })
	update(t, s, func(tx *Tx) error { return tx.SetCustomFields(fields) })
	tooMany := make([]CustomField, MaxCustomFields+1)
	for i := range tooMany {
		tooMany[i] = CustomField{ID: "f" + string(rune('a'+i)), Label: "x", Type: FieldText}
	}
	for name, bad := range map[string][]CustomField{
		"too many":      tooMany,
		"dup id":        {{ID: "a", Label: "A", Type: FieldText}, {ID: "a", Label: "B", Type: FieldText}},
		"bad id":        {{ID: "Risk Level", Label: "A", Type: FieldText}},
		"no options":    {{ID: "a", Label: "A", Type: FieldSelect}},
		"stray option":  {{ID: "a", Label: "A", Type: FieldText, Options: []string{"x"}}},
		"type":          {{ID: "a", Label: "A", Type: "date"}},
		"empty label":   {{ID: "a", Label: "", Type: FieldText}},
		"min above max": {{ID: "a", Label: "A", Type: FieldNumber, Min: ptr(5.0), Max: ptr(1.0)}},
		"min on text":   {{ID: "a", Label: "A", Type: FieldText, Min: ptr(1.0)}},
		"length on num": {{ID: "a", Label: "A", Type: FieldNumber, MaxLength: 3}},
		"length order":  {{ID: "a", Label: "A", Type: FieldText, MinLength: 9, MaxLength: 3}},
		"length huge":   {{ID: "a", Label: "A", Type: FieldTextarea, MaxLength: 1 << 20}},
	} {
		t.Run(name, func(t *testing.T) {
			wantErr(t, s.Update(context.Background(), func(tx *Tx) error { return tx.SetCustomFields(bad) }), ErrInvalid)
		})
	}
	view(t, s, func(tx *Tx) error {
		got, _ := tx.CustomFields()
		if len(got) != 2 || got[0].ID != "risk" || got[1].ID != "follow_up" {
			t.Errorf("a refused write changed the fields, or order was lost: %+v", got)
		}
		return nil
	})
	mustCheck(t, s)
}

func ptr[T any](v T) *T { return &v }
