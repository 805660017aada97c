package hotline

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/rtc/rtctest"
	"llamenos/store"
)

// CallerHash is the keyed hash the ban list and the rate limit use, from
// a number held as a string (the engine itself hashes the wipeable bytes):
// e2ee.CallerHash under the store's caller key.
func CallerHash(key store.CallerKey, number string) (store.Hash, error) {
	return key.PhoneHash(number)
}

func TestCallerHash(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	s := h.st.CallerKey()
	a, err := CallerHash(s, "+15552223333")
	if err != nil {
		t.Fatal(err)
	}
	b, err := CallerHash(s, "+1 (555) 222-3333")
	if err != nil || a != b {
		t.Errorf("formatting changed the hash: %v", err)
	}
	if c, _ := CallerHash(s, "+15552223334"); c == a {
		t.Error("two numbers, one hash")
	}
	for _, bad := range []string{"", "anonymous", "5552223333", "0034611223344", "+1555222333x"} {
		if _, err := CallerHash(s, bad); !errors.Is(err, e2ee.ErrInvalidPhone) {
			t.Errorf("CallerHash(%q) = %v, want ErrInvalidPhone", bad, err)
		}
	}
}

// TestBannedCallerRejectedBeforeAnythingPlays: no answer, no prompt, no ring.
func TestBannedCallerRejectedBeforeAnythingPlays(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.onShift(1)
	hash, err := CallerHash(h.st.CallerKey(), "+15552224444")
	if err != nil {
		t.Fatal(err)
	}
	h.update(func(tx *store.Tx) error {
		_, err := tx.PutBan(store.Ban{Hash: hash, CreatedBy: store.ActorSystem})
		return err
	})
	h.start()
	call := h.place("+1 555 222 4444", nil) // formatted differently: same caller
	waitDone(t, call, 10*time.Second, "the banned caller to be hung up")
	if call.Answered() || len(call.Played()) != 0 || call.Rang() {
		t.Errorf("banned caller: answered %v, heard %v, ringback %v", call.Answered(), call.Played(), call.Rang())
	}
	if call.Cause() != 21 {
		t.Errorf("hangup cause %d, want 21 (call rejected)", call.Cause())
	}
	if ids := h.rings(); len(ids) != 0 {
		t.Errorf("a banned call rang volunteers: %v", ids)
	}
	recs := h.calls()
	if len(recs) != 1 || recs[0].Outcome != store.OutcomeBanned || recs[0].CallerHash != hash {
		t.Fatalf("records: %+v", recs)
	}
	h.waitEmpty(5 * time.Second)
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.settings(func(s *store.Settings) { s.RateLimitPerMinute = 2 })
	h.onShift(1)
	h.start()
	const number = "+15552225555"
	for i := range 2 {
		c := h.place(number, nil)
		rtctest.WaitFor(t, 10*time.Second, "ring", func() bool { return len(h.rings()) == i+1 })
		c.Hangup()
		waitDone(t, c, 5*time.Second, "hangup")
	}
	limited := h.place(number, nil)
	waitDone(t, limited, 10*time.Second, "the limited caller to be hung up")
	if !limited.Answered() || len(limited.Played()) != 1 || limited.Played()[0] != "sound:llamenos/busy" {
		t.Errorf("limited caller: answered %v, heard %v", limited.Answered(), limited.Played())
	}
	if n := len(h.rings()); n != 2 {
		t.Errorf("%d calls rang, want 2", n)
	}
	rtctest.WaitFor(t, 5*time.Second, "records", func() bool {
		recs := h.calls()
		return len(recs) == 3 && recs[0].Outcome == store.OutcomeRateLimited && !recs[0].EndedAt.IsZero()
	})
	// Another number is not limited; neither are withheld numbers, which
	// share one hash.
	for _, num := range []string{"+15552226666", "", "", ""} {
		before := len(h.rings())
		c := h.place(num, nil)
		rtctest.WaitFor(t, 10*time.Second, "ring for "+num, func() bool { return len(h.rings()) == before+1 })
		c.Hangup()
		waitDone(t, c, 5*time.Second, "hangup")
	}
	h.waitEmpty(10 * time.Second)
}

func TestBanCaller(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	pks := h.onShift(2)
	a, b := pks[0], pks[1]
	r := h.start()
	ctx := context.Background()
	reason, err := e2ee.Seal(rand.Reader, []byte("abusive"), e2ee.Context{Purpose: e2ee.PurposeBan}, []e2ee.PublicKey{h.admin.Public()})
	if err != nil {
		t.Fatal(err)
	}

	// Live: only the answering volunteer (or an admin) may ban.
	const number = "+15552227777"
	call := h.place(number, nil)
	id := h.n.wait(t, 10*time.Second, "ring", isRing("", a)).callID
	if err := r.eng.Answer(ctx, id, a); err != nil {
		t.Fatal(err)
	}
	// Someone else's call is no call of theirs: the same answer as an unknown id.
	if err := r.eng.BanCaller(ctx, id, b, nil); !errors.Is(err, ErrNoCall) {
		t.Errorf("ban by another volunteer: %v", err)
	}
	if err := r.eng.BanCaller(ctx, id, a, reason); err != nil {
		t.Fatal(err)
	}
	h.n.wait(t, 5*time.Second, "ended", isNote("ended", id, a, EndBanned))
	waitDone(t, call, 5*time.Second, "the banned caller hung up")
	hash, _ := CallerHash(h.st.CallerKey(), number)
	var ban store.Ban
	h.update(func(tx *store.Tx) error {
		var err error
		ban, err = tx.Ban(hash)
		return err
	})
	rec := h.record(id)
	if string(ban.Number) != string(rec.CallerNumber) || len(ban.Number) == 0 || ban.CallID != id || ban.CreatedBy != a || string(ban.Reason) != string(reason) {
		t.Errorf("ban %+v does not carry the call's sealed number, the reason and the actor", ban)
	}
	again := h.place(number, nil)
	waitDone(t, again, 5*time.Second, "the banned caller rejected")
	if again.Answered() {
		t.Error("the banned caller was answered on the next call")
	}

	// Past: an admin bans the caller of a call that is over.
	past := h.place("+15552228888", nil)
	pastID := h.n.wait(t, 10*time.Second, "ring", func(n note) bool { return n.kind == "ring" && n.callID != id }).callID
	past.Hangup()
	rtctest.WaitFor(t, 5*time.Second, "the call to end", func() bool { return h.record(pastID).Outcome == store.OutcomeAbandoned })
	if err := r.eng.BanCaller(ctx, pastID, b, nil); !errors.Is(err, ErrNoCall) {
		t.Errorf("past ban by a volunteer who did not answer: %v", err)
	}
	if err := r.eng.BanCaller(ctx, pastID, h.admin.Public().String(), nil); err != nil {
		t.Fatal(err)
	}
	pastHash, _ := CallerHash(h.st.CallerKey(), "+15552228888")
	h.update(func(tx *store.Tx) error {
		banned, err := tx.IsBanned(pastHash)
		if err == nil && !banned {
			t.Error("the past call's caller is not banned")
		}
		return err
	})

	// Withheld numbers cannot be banned; unknown calls do not exist.
	anon := h.place("", nil)
	anonID := h.n.wait(t, 10*time.Second, "ring", func(n note) bool {
		return n.kind == "ring" && n.callID != id && n.callID != pastID
	}).callID
	if err := r.eng.BanCaller(ctx, anonID, h.admin.Public().String(), nil); !errors.Is(err, ErrNotBannable) {
		t.Errorf("ban of a withheld number: %v", err)
	}
	if err := r.eng.BanCaller(ctx, "0190f3c2-8d1e-7c4a-9b2f-3e5d6a7b8c9d", h.admin.Public().String(), nil); !errors.Is(err, ErrNoCall) {
		t.Errorf("ban for an unknown call: %v", err)
	}
	anon.Hangup()
	h.waitEmpty(10 * time.Second)
}

// TestLegacyBanIsRekeyed: a ban from before schema v2 is keyed by the v1
// HMAC under the secret that moved to the key file. Its caller is still
// refused, and the ban moves to the v2 hash of the number the call showed.
func TestLegacyBanIsRekeyed(t *testing.T) {
	legacy := bytes.Repeat([]byte{0x77}, 32)
	keyFile := filepath.Join(t.TempDir(), "caller-key")
	b64 := base64.RawURLEncoding.EncodeToString
	body := "llamenos-caller-key v1\nkey " + b64(bytes.Repeat([]byte{0x11}, 32)) + "\nlegacy " + b64(legacy) + "\n"
	if err := os.WriteFile(keyFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, harnessOpts{keyFile: keyFile})
	h.onShift(1)
	const number = "+15552229999"
	v1, err := e2ee.PhoneHash(legacy, number)
	if err != nil {
		t.Fatal(err)
	}
	h.update(func(tx *store.Tx) error {
		_, err := tx.PutBan(store.Ban{Hash: v1, Legacy: true, CreatedBy: store.ActorSystem})
		return err
	})
	// The store dropped the legacy secret at open (no ban used it yet), as
	// it does once the last legacy ban is gone: put it back and reopen, as
	// after the migration that writes both.
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), h.st.Path(), store.Options{NoSync: true, CallerHashCost: h.opts.hashCost, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	if !st.CallerKey().HasLegacy() {
		t.Fatal("the key file lost its legacy secret with a legacy ban in the store")
	}
	h.start()
	call := h.place("+1 555 222 9999", nil)
	waitDone(t, call, 10*time.Second, "the banned caller to be hung up")
	if call.Answered() || call.Rang() || len(h.rings()) != 0 {
		t.Fatalf("a caller banned under the v1 hash got through: answered %v, rang %v", call.Answered(), call.Rang())
	}
	current, _ := CallerHash(h.st.CallerKey(), number)
	h.update(func(tx *store.Tx) error {
		if old, _ := tx.IsBanned(v1); old {
			t.Error("the v1 ban is still there")
		}
		b, err := tx.Ban(current)
		if err != nil || b.Legacy {
			t.Errorf("the ban did not move to the v2 hash: %+v %v", b, err)
		}
		es, _, err := tx.AuditLog("", 10)
		found := false
		for _, e := range es {
			found = found || (e.Action == "ban.rekeyed" && slices.Equal(e.Subjects, []string{"ban:" + store.Hash(v1).String(), "ban:" + current.String()}))
		}
		if !found {
			t.Errorf("the re-keying is not audited: %+v", es)
		}
		return err
	})
	again := h.place(number, nil)
	waitDone(t, again, 10*time.Second, "the banned caller to be hung up again")
	if again.Answered() {
		t.Error("the re-keyed ban does not hold")
	}
	h.waitEmpty(5 * time.Second)
}

// TestTimeToRingWithTheRealHash measures what the daemon's Argon2id cost
// adds before a caller is rung: the hash runs in the call's own goroutine,
// so a withheld-number call placed just after (nothing to hash) is rung
// without waiting for it. The times are logged; docs/crypto.md quotes them.
func TestTimeToRingWithTheRealHash(t *testing.T) {
	h := newHarness(t, harnessOpts{hashCost: realHash})
	pks := h.onShift(1)
	h.start()
	t0 := time.Now()
	numbered := h.place("+15552221111", nil)
	anon := h.place("", nil)
	first := h.n.wait(t, 30*time.Second, "a ring", isRing("", pks[0]))
	tFirst := time.Since(t0)
	h.n.wait(t, 30*time.Second, "the other ring", func(n note) bool { return isRing("", pks[0])(n) && n.callID != first.callID })
	tSecond := time.Since(t0)
	t.Logf("time to ring, both calls placed at once: first %v, second %v (one caller hash at the daemon's cost)", tFirst.Round(time.Millisecond), tSecond.Round(time.Millisecond))
	numbered.Hangup()
	anon.Hangup()
	h.waitEmpty(10 * time.Second)
}

// TestCallerNumberSealedToVouchedAdminsOnly: the caller's number is sealed
// to the admins the signed admin set vouches for, not to an account made
// admin by its role flag alone (an edit of the database).
func TestCallerNumberSealedToVouchedAdminsOnly(t *testing.T) {
	h := newHarness(t, harnessOpts{})
	h.onShift(1)
	vouched := h.volunteer(store.RoleAdmin, false)
	forged, err := e2eetest.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h.update(func(tx *store.Tx) error {
		_, err := tx.CreateVolunteer(store.Volunteer{PubKey: forged.Public().String(), Role: store.RoleAdmin, Active: true})
		return err
	})
	h.start()
	c := h.place("+15552228888", nil)
	rtctest.WaitFor(t, 10*time.Second, "ring", func() bool { return len(h.rings()) == 1 })
	c.Hangup()
	waitDone(t, c, 5*time.Second, "hangup")
	var rec store.Call
	rtctest.WaitFor(t, 5*time.Second, "the record", func() bool {
		recs := h.calls()
		if len(recs) == 1 && !recs[0].EndedAt.IsZero() {
			rec = recs[0]
			return true
		}
		return false
	})
	hd, err := e2ee.ParseEnvelope(rec.CallerNumber)
	if err != nil {
		t.Fatal(err)
	}
	if !hd.Includes(h.admin.Public()) || !hd.Includes(vouched.Public()) || hd.Includes(forged.Public()) || len(hd.Recipients) != 2 {
		t.Fatalf("caller number sealed to %v; want the two vouched admins only", hd.Recipients)
	}
}
