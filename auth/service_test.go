package auth

import (
	"errors"
	"testing"
	"time"

	"llamenos/e2ee"
	"llamenos/fault"
	"llamenos/store"
)

func (f *fixture) authenticate(token string) error {
	f.t.Helper()
	_, err := f.svc.Authenticate(f.ctx, token)
	return err
}

func (f *fixture) sessionGone(token string) bool {
	f.t.Helper()
	_, err := store.Read(f.ctx, f.st, func(tx *store.Tx) (store.Session, error) { return tx.Session(store.Hash(HashToken(token))) })
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		f.t.Fatal(err)
	}
	return errors.Is(err, store.ErrNotFound)
}

// TestSessionIdleExpiry: unused for SessionIdle, a session is dead and
// deleted.
func TestSessionIdleExpiry(t *testing.T) {
	f := newFixture(t)
	k := f.person(store.RoleVolunteer)
	tok := f.login(k)
	id, err := f.svc.Authenticate(f.ctx, tok)
	if err != nil || id.PubKey != k.pk || id.Role != store.RoleVolunteer || id.Session != store.Hash(HashToken(tok)) {
		t.Fatalf("fresh session: %+v, %v", id, err)
	}
	hash := store.Hash(HashToken(tok))
	f.clock.Advance(SessionIdle - time.Second)
	if err := f.svc.SessionAlive(f.ctx, hash); err != nil {
		t.Fatalf("SessionAlive a second before the idle limit: %v", err)
	}
	f.clock.Advance(time.Second)
	if err := f.svc.SessionAlive(f.ctx, hash); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("SessionAlive at the idle limit: %v, want ErrUnauthorized", err)
	}
	if err := f.authenticate(tok); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("used at the idle limit: %v, want ErrUnauthorized", err)
	}
	if !f.sessionGone(tok) {
		t.Error("the expired session is still stored")
	}
}

// TestSessionSlides: use keeps a session alive past SessionIdle, but never
// past SessionMax after login.
func TestSessionSlides(t *testing.T) {
	f := newFixture(t)
	k := f.person(store.RoleVolunteer)
	tok := f.login(k)
	const step = SessionIdle - time.Hour
	var used time.Duration
	for used+step < SessionMax {
		f.clock.Advance(step)
		used += step
		if err := f.authenticate(tok); err != nil {
			t.Fatalf("used every %v, refused %v after login: %v", step, used, err)
		}
	}
	f.clock.Advance(SessionMax - used)
	if err := f.authenticate(tok); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("used %v after login: %v, want ErrUnauthorized", SessionMax, err)
	}
	if !f.sessionGone(tok) {
		t.Error("the session past its maximum is still stored")
	}
}

// TestSessionTouchedOncePerMinute: a session used within touchEvery is not
// written again, so its idle window runs from the last recorded use.
func TestSessionTouchedOncePerMinute(t *testing.T) {
	f := newFixture(t)
	tok := f.login(f.person(store.RoleVolunteer))
	hash := store.Hash(HashToken(tok))
	expiry := func() time.Time {
		s, err := store.Read(f.ctx, f.st, func(tx *store.Tx) (store.Session, error) { return tx.Session(hash) })
		if err != nil {
			t.Fatal(err)
		}
		return s.ExpiresAt
	}
	first := expiry()
	f.clock.Advance(touchEvery - time.Second)
	if err := f.authenticate(tok); err != nil {
		t.Fatal(err)
	}
	if got := expiry(); !got.Equal(first) {
		t.Errorf("used within a minute: expiry moved from %v to %v", first, got)
	}
	f.clock.Advance(time.Second)
	if err := f.authenticate(tok); err != nil {
		t.Fatal(err)
	}
	if got, want := expiry(), f.clock.Now().Add(SessionIdle); !got.Equal(want) {
		t.Errorf("used after a minute: expiry %v, want %v", got, want)
	}
}

// TestSessionRevoked: logout, deactivation and an inactive account each end
// a session at once.
func TestSessionRevoked(t *testing.T) {
	f := newFixture(t)
	k := f.person(store.RoleVolunteer)

	tok := f.login(k)
	hash, owner, err := f.svc.Logout(f.ctx, tok)
	if err != nil || owner != k.pk || hash != store.Hash(HashToken(tok)) {
		t.Fatalf("logout: %v, %q, %v", hash, owner, err)
	}
	if err := f.authenticate(tok); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("after logout: %v, want ErrUnauthorized", err)
	}
	if err := f.svc.SessionAlive(f.ctx, hash); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("SessionAlive after logout: %v, want ErrUnauthorized", err)
	}
	if _, owner, err := f.svc.Logout(f.ctx, tok); err != nil || owner != "" {
		t.Errorf("second logout: %q, %v; want nothing to do", owner, err)
	}

	// Inactive in the store with the session left behind: still refused,
	// and the session goes.
	tok = f.login(k)
	f.update(func(tx *store.Tx) error {
		_, err := tx.UpdateVolunteer(k.pk, func(v *store.Volunteer) error { v.Active = false; return nil })
		return err
	})
	if err := f.authenticate(tok); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("inactive account: %v, want ErrUnauthorized", err)
	}
	if !f.sessionGone(tok) {
		t.Error("an inactive account's session is still stored")
	}
	if _, err := f.svc.Login(f.ctx, f.proof(k, e2ee.AuthLogin)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("login of an inactive account: %v, want ErrBadSignature", err)
	}

	for name, tok := range map[string]string{"malformed": "not-a-token", "unknown": mustToken(t), "empty": ""} {
		if err := f.authenticate(tok); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s token: %v, want ErrUnauthorized", name, err)
		}
	}
}

func isFault(err error, k fault.Kind) bool {
	e, ok := fault.As(err)
	return ok && e.Kind == k
}

func mustToken(t *testing.T) string {
	t.Helper()
	tok, _, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLoginUnknownKey: a valid proof from a key with no account is refused
// like a bad signature.
func TestLoginUnknownKey(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.Login(f.ctx, f.proof(newKey(t), e2ee.AuthLogin)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("login of an unknown key: %v, want ErrBadSignature", err)
	}
}

// TestLoginPasskeyPolicy: without a passkey, a signature alone opens a
// session; under a policy that covers the person, that session may only
// enrol a passkey. Sessions opened before the policy are held to it too.
func TestLoginPasskeyPolicy(t *testing.T) {
	f := newFixture(t)
	vol := f.person(store.RoleVolunteer)
	admin := f.person(store.RoleAdmin)
	mustEnrol := func(tok string) bool {
		t.Helper()
		id, err := f.svc.Authenticate(f.ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return id.MustEnrolPasskey
	}
	before := f.login(admin)
	if mustEnrol(before) {
		t.Fatal("restricted with no policy")
	}
	f.update(func(tx *store.Tx) error {
		s, err := tx.Settings()
		if err != nil {
			return err
		}
		s.PasskeysForAdmins = true
		return tx.PutSettings(s)
	})
	if !mustEnrol(before) {
		t.Error("an admin session from before the admin policy is not held to it")
	}
	if !mustEnrol(f.login(admin)) {
		t.Error("admin without a passkey under the admin policy: not restricted")
	}
	if mustEnrol(f.login(vol)) {
		t.Error("the admin policy restricted a volunteer")
	}
	f.update(func(tx *store.Tx) error {
		_, err := tx.UpdateVolunteer(vol.pk, func(v *store.Volunteer) error { v.PasskeyRequired = true; return nil })
		return err
	})
	if !mustEnrol(f.login(vol)) {
		t.Error("volunteer required to use a passkey: not restricted")
	}
}

// TestSetupTokenOnce: the setup token makes one admin; it is spent after,
// and a new token replaces the old.
func TestSetupTokenOnce(t *testing.T) {
	f := newFixture(t)
	old, err := f.svc.NewSetupToken()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.svc.NewSetupToken()
	if err != nil {
		t.Fatal(err)
	}
	first := newKey(t)
	if _, _, err := f.svc.Setup(f.ctx, old, f.proof(first, e2ee.AuthSetup), f.profile(first.pk)); !errors.Is(err, ErrSetupToken) {
		t.Fatalf("setup with the replaced token: %v, want ErrSetupToken", err)
	}
	if _, _, err := f.svc.Setup(f.ctx, mustToken(t), f.proof(first, e2ee.AuthSetup), f.profile(first.pk)); !errors.Is(err, ErrSetupToken) {
		t.Fatalf("setup with a wrong token: %v, want ErrSetupToken", err)
	}
	// A login proof does not do for setup, and refusing it spends nothing.
	if _, _, err := f.svc.Setup(f.ctx, tok, f.proof(first, e2ee.AuthLogin), f.profile(first.pk)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("setup with a login proof: %v, want ErrBadSignature", err)
	}
	session, v, err := f.svc.Setup(f.ctx, tok, f.proof(first, e2ee.AuthSetup), f.profile(first.pk))
	if err != nil {
		t.Fatalf("setup: %v", err)
	}
	if v.PubKey != first.pk || !v.IsActiveAdmin() {
		t.Fatalf("setup made %+v, want an active admin", v)
	}
	if id, err := f.svc.Authenticate(f.ctx, session); err != nil || !id.IsAdmin() {
		t.Fatalf("the setup session: %+v, %v", id, err)
	}
	if need, err := f.svc.NeedsSetup(f.ctx); err != nil || need {
		t.Fatalf("NeedsSetup after setup: %v, %v", need, err)
	}
	// Spent: even were the admin gone, the token does nothing again.
	if err := f.svc.takeSetupToken(tok); !errors.Is(err, ErrSetupToken) {
		t.Fatalf("the token after a completed setup: %v, want ErrSetupToken", err)
	}
	second := newKey(t)
	if _, _, err := f.svc.Setup(f.ctx, tok, f.proof(second, e2ee.AuthSetup), f.profile(second.pk)); !errors.Is(err, ErrSetupDone) {
		t.Fatalf("a second setup: %v, want ErrSetupDone", err)
	}
}

// TestSetupTokenRace: of concurrent takers of one token, exactly one wins.
func TestSetupTokenRace(t *testing.T) {
	f := newFixture(t)
	tok, err := f.svc.NewSetupToken()
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make(chan error, n)
	for range n {
		go func() { errs <- f.svc.takeSetupToken(tok) }()
	}
	won := 0
	for range n {
		switch err := <-errs; {
		case err == nil:
			won++
		case !errors.Is(err, ErrSetupToken):
			t.Errorf("take: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d takers won, want 1", won)
	}
}

// invite creates an invite by creator (an admin's key or store.ActorSystem).
func (f *fixture) invite(creator string, role store.Role, ttl time.Duration) (string, store.Invite) {
	f.t.Helper()
	code, inv, err := f.svc.CreateInvite(f.ctx, creator, role, ttl)
	if err != nil {
		f.t.Fatal(err)
	}
	return code, inv
}

func (f *fixture) accept(code string) (key, error) {
	f.t.Helper()
	k := newKey(f.t)
	_, _, err := f.svc.AcceptInvite(f.ctx, code, f.proof(k, e2ee.AuthInvite), f.profile(k.pk))
	return k, err
}

// refused checks that the onboarding page and a redemption both refuse
// code with want.
func (f *fixture) refused(code string, want error) {
	f.t.Helper()
	if _, err := f.svc.LookupInvite(f.ctx, code); !errors.Is(err, want) {
		f.t.Errorf("lookup: %v, want %v", err, want)
	}
	if _, err := f.accept(code); !errors.Is(err, want) {
		f.t.Errorf("accept: %v, want %v", err, want)
	}
}

func TestInviteAccepted(t *testing.T) {
	f := newFixture(t)
	admin := f.person(store.RoleAdmin)
	code, inv := f.invite(admin.pk, store.RoleVolunteer, time.Hour)
	if !inv.ExpiresAt.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("expiry %v, want an hour from now", inv.ExpiresAt)
	}
	info, err := f.svc.LookupInvite(f.ctx, code)
	if err != nil || info.Role != store.RoleVolunteer || len(info.Admins) != 1 || info.Admins[0] != admin.pk {
		t.Fatalf("lookup: %+v, %v", info, err)
	}
	k := newKey(t)
	tok, v, err := f.svc.AcceptInvite(f.ctx, code, f.proof(k, e2ee.AuthInvite), f.profile(k.pk))
	if err != nil || v.PubKey != k.pk || v.Role != store.RoleVolunteer || !v.Active {
		t.Fatalf("accept: %+v, %v", v, err)
	}
	if err := f.authenticate(tok); err != nil {
		t.Fatalf("the new volunteer's session: %v", err)
	}
	// Single use.
	f.refused(code, ErrInviteGone)
}

func TestInviteExpires(t *testing.T) {
	f := newFixture(t)
	admin := f.person(store.RoleAdmin)
	code, _ := f.invite(admin.pk, store.RoleVolunteer, 2*time.Hour)
	f.clock.Advance(2*time.Hour - time.Second)
	if _, err := f.svc.LookupInvite(f.ctx, code); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	f.clock.Advance(time.Second)
	f.refused(code, ErrInviteGone)
}

func TestInviteRevoked(t *testing.T) {
	f := newFixture(t)
	admin := f.person(store.RoleAdmin)
	code, inv := f.invite(admin.pk, store.RoleVolunteer, time.Hour)
	if err := f.svc.RevokeInvite(f.ctx, admin.pk, inv.CodeHash); err != nil {
		t.Fatal(err)
	}
	f.refused(code, ErrInviteGone)

	used, usedInv := f.invite(admin.pk, store.RoleVolunteer, time.Hour)
	if _, err := f.accept(used); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeInvite(f.ctx, admin.pk, usedInv.CodeHash); !isFault(err, fault.KindConflict) {
		t.Errorf("revoking a used invite: %v, want a conflict", err)
	}
	if err := f.svc.RevokeInvite(f.ctx, admin.pk, store.Hash(HashToken(mustToken(t)))); !isFault(err, fault.KindNotFound) {
		t.Errorf("revoking an unknown invite: %v, want not found", err)
	}
}

// TestInviteDiesWithCreatorsRights: an admin's invite is good only while
// they are an active admin; the system's needs no creator.
func TestInviteDiesWithCreatorsRights(t *testing.T) {
	f := newFixture(t)
	demoted, deactivated, stays := f.person(store.RoleAdmin), f.person(store.RoleAdmin), f.person(store.RoleAdmin)
	byDemoted, _ := f.invite(demoted.pk, store.RoleAdmin, time.Hour)
	byDeactivated, _ := f.invite(deactivated.pk, store.RoleVolunteer, time.Hour)
	byStays, _ := f.invite(stays.pk, store.RoleVolunteer, time.Hour)
	bySystem, _ := f.invite(store.ActorSystem, store.RoleAdmin, time.Hour)
	byNobody, _ := f.invite(newKey(t).pk, store.RoleAdmin, time.Hour) // a creator with no account
	f.update(func(tx *store.Tx) error {
		if _, err := tx.UpdateVolunteer(demoted.pk, func(v *store.Volunteer) error { v.Role = store.RoleVolunteer; return nil }); err != nil {
			return err
		}
		_, err := tx.DeactivateVolunteer(deactivated.pk)
		return err
	})
	f.refused(byDemoted, ErrInviteGone)
	f.refused(byDeactivated, ErrInviteGone)
	f.refused(byNobody, ErrInviteGone)
	for name, code := range map[string]string{"an active admin's": byStays, "the system's": bySystem} {
		if _, err := f.accept(code); err != nil {
			t.Errorf("%s invite: %v", name, err)
		}
	}
}

func TestInviteUnknown(t *testing.T) {
	f := newFixture(t)
	f.refused(mustToken(t), ErrInviteUnknown)
	f.refused("not-a-code", ErrInviteUnknown)
}

func TestInviteValidity(t *testing.T) {
	f := newFixture(t)
	admin := f.person(store.RoleAdmin)
	for _, ttl := range []time.Duration{0, -time.Hour, InviteMinTTL - time.Second, InviteMaxTTL + time.Second} {
		if _, _, err := f.svc.CreateInvite(f.ctx, admin.pk, store.RoleVolunteer, ttl); err == nil {
			t.Errorf("an invite valid for %v was created", ttl)
		}
	}
	f.invite(admin.pk, store.RoleVolunteer, InviteMaxTTL)
}

// TestInviteNeedsInviteProof: the invite is redeemed only with a proof made
// for accepting an invite, and a refused one leaves it usable.
func TestInviteNeedsInviteProof(t *testing.T) {
	f := newFixture(t)
	admin := f.person(store.RoleAdmin)
	code, _ := f.invite(admin.pk, store.RoleVolunteer, time.Hour)
	k := newKey(t)
	if _, _, err := f.svc.AcceptInvite(f.ctx, code, f.proof(k, e2ee.AuthLogin), f.profile(k.pk)); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("accept with a login proof: %v, want ErrBadSignature", err)
	}
	if _, _, err := f.svc.AcceptInvite(f.ctx, code, f.proof(k, e2ee.AuthInvite), []byte("not an envelope")); !errors.Is(err, ErrProfile) {
		t.Fatalf("accept with a bad profile: %v, want ErrProfile", err)
	}
	if _, err := f.accept(code); err != nil {
		t.Fatalf("the invite after refused attempts: %v", err)
	}
}
