package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"slices"
	"strings"
	"testing"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/store"
)

// TestAdminSetStatements: only a statement that follows the chain, signed
// by a vouched admin who sends it, about an active admin by role, is taken.
func TestAdminSetStatements(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	// A second first statement, now that the chain has one.
	pending := e.joinByRole(admin, "admin")
	e.adminSet(pending, e2ee.AdminAdd, pending, 400)
	// An admin by role the set does not vouch for cannot vouch for anyone.
	other := e.joinByRole(admin, "admin")
	e.adminSet(pending, e2ee.AdminAdd, other, 400)
	// Vouching for a volunteer (not an admin by role) is refused.
	v := e.join(admin, "volunteer")
	e.adminSet(admin, e2ee.AdminAdd, v, 400)

	// Signed by one admin, sent by another.
	set, _ := store.Read(context.Background(), e.st, func(tx *store.Tx) (e2ee.AdminSet, error) { return tx.AdminSet() })
	st, err := e2eetest.SignAdminStatement(rand.Reader, admin.sk, e2ee.AdminStatement{Op: e2ee.AdminAdd, Key: pending.sk.Public(), Prev: set.Head})
	if err != nil {
		t.Fatal(err)
	}
	e.adminSet(admin, e2ee.AdminAdd, other, 200)
	if r := e.do("POST", "/api/admin-set", map[string]any{"statement": store.AdminStatementView(st)}, other); r.status != 403 {
		t.Fatalf("someone else's statement: %d %s", r.status, r.body)
	}
	// The same statement from its signer no longer follows the chain.
	if r := e.do("POST", "/api/admin-set", map[string]any{"statement": store.AdminStatementView(st)}, admin); r.status != 400 {
		t.Fatalf("a stale statement: %d %s", r.status, r.body)
	}
	// A flipped bit of the signature.
	set, _ = store.Read(context.Background(), e.st, func(tx *store.Tx) (e2ee.AdminSet, error) { return tx.AdminSet() })
	st, _ = e2eetest.SignAdminStatement(rand.Reader, admin.sk, e2ee.AdminStatement{Op: e2ee.AdminAdd, Key: pending.sk.Public(), Prev: set.Head})
	st.Sig[3] ^= 1
	if r := e.do("POST", "/api/admin-set", map[string]any{"statement": store.AdminStatementView(st)}, admin); r.status != 400 {
		t.Fatalf("a bad signature: %d %s", r.status, r.body)
	}
	var me struct {
		Admins   []string
		AdminSet []store.AdminStatementJSON
	}
	e.do("GET", "/api/me", nil, v).json(t, &me)
	if len(me.Admins) != 3 || len(me.AdminSet) != 2 || me.AdminSet[1].Key != other.pk {
		t.Fatalf("me: %+v", me)
	}
	sealing, _ := store.Read(context.Background(), e.st, func(tx *store.Tx) ([]string, error) { return tx.SealingAdmins() })
	if len(sealing) != 2 || strings.Contains(strings.Join(sealing, ","), pending.pk) {
		t.Fatalf("sealing admins %v: the admin by role only is one of them", sealing)
	}
	// A note sealed to the author and the vouched admins only is taken: the
	// admin by role alone is not required (nor sealed to by browsers).
	callID := e.answeredCall(v)
	noteID := "3d1f0a52-7c1e-4b6e-9f0a-2b7c1d9e8f11"
	env := seal(t, `{"text":"canary"}`, notePurpose(callID, noteID), v.pk, admin.pk, other.pk)
	if r := e.do("POST", "/api/calls/"+callID+"/notes", map[string]string{"id": noteID, "envelope": env}, v); r.status != 200 {
		t.Fatalf("a note sealed to the vouched admins: %d %s", r.status, r.body)
	}
}

// TestAdminSetRemovalDemotes: a vouched admin leaves by a signed removal,
// which makes them a volunteer and kills their invites; a role change alone
// is refused.
func TestAdminSetRemovalDemotes(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	admin2 := e.join(admin, "admin")
	code := e.invite(admin2, "volunteer")
	for _, body := range []map[string]any{{"role": "volunteer"}, {"active": false}} {
		if r := e.do("PATCH", "/api/volunteers/"+admin2.pk, body, admin); r.status != 409 {
			t.Fatalf("role change of a vouched admin %v: %d %s", body, r.status, r.body)
		}
	}
	e.adminSet(admin, e2ee.AdminRemove, admin2, 200)
	v, err := store.Read(context.Background(), e.st, func(tx *store.Tx) (store.Volunteer, error) { return tx.Volunteer(admin2.pk) })
	if err != nil || v.Role != store.RoleVolunteer {
		t.Fatalf("after removal: %+v %v", v, err)
	}
	if r := e.do("GET", "/api/invites/"+code, nil, nil); r.status != 410 {
		t.Fatalf("a removed admin's invite answers %d", r.status)
	}
	// The last vouched admin cannot be removed.
	e.adminSet(admin, e2ee.AdminRemove, admin, 400)
	entries, _, err := e.st.AuditSearch(context.Background(), store.AuditFilter{}, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, en := range entries {
		actions = append(actions, en.Action)
	}
	for _, want := range []string{"adminset.added", "adminset.removed", "volunteer.role_changed", "invite.revoked"} {
		if !strings.Contains(strings.Join(actions, " "), want) {
			t.Fatalf("audit %v lacks %s", actions, want)
		}
	}
}

// TestReseal: after an admin is added, an existing admin's envelopes are
// listed, sealed again in "their browser" and taken only when sealed to
// exactly the owners and the vouched admins; after a removal, the removed
// admin is in no envelope.
func TestReseal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	vol := e.join(admin, "volunteer")
	callID := e.answeredCall(vol)
	noteID := "3d1f0a52-7c1e-4b6e-9f0a-2b7c1d9e8f10"
	env := seal(t, `{"text":"before"}`, notePurpose(callID, noteID), vol.pk, admin.pk)
	if r := e.do("POST", "/api/calls/"+callID+"/notes", map[string]string{"id": noteID, "envelope": env}, vol); r.status != 200 {
		t.Fatalf("note: %d %s", r.status, r.body)
	}
	if err := e.st.Update(ctx, func(tx *store.Tx) error {
		c, err := tx.Call(callID)
		if err != nil {
			return err
		}
		// Sealed as v1, as before v2: the re-seal converts it once.
		num, err := e2eetest.SealV1(rand.Reader, []byte("+15550100000"), e2ee.Context{Purpose: e2ee.PurposeCallerNumber, CallID: callID, ItemID: "caller"}, []e2ee.PublicKey{admin.sk.Public()})
		if err != nil {
			return err
		}
		c.CallerNumber = num
		_, err = tx.PutCall(c)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	type item struct {
		Kind     string
		ID       string
		Context  struct{ Purpose, CallID, ItemID string }
		Owners   []string
		Envelope string
	}
	var page struct {
		Total int
		Items []item
		Next  string
	}
	list := func(u *user) {
		t.Helper()
		page.Items = nil
		if r := e.do("GET", "/api/reseal?limit=50", nil, u); r.status != 200 {
			t.Fatalf("list: %d %s", r.status, r.body)
		} else {
			r.json(t, &page)
		}
	}
	list(admin)
	if page.Total != 0 {
		t.Fatalf("nothing to re-seal yet, listed %+v", page)
	}

	admin2 := e.join(admin, "admin")
	list(admin)
	kinds := map[string]int{}
	for _, it := range page.Items {
		kinds[it.Kind]++
	}
	// The note, the caller number, the first admin's profile (sealed to
	// themself at setup) and the volunteer's profile.
	if page.Total != 4 || kinds["note"] != 1 || kinds["caller-number"] != 1 || kinds["profile"] != 2 {
		t.Fatalf("to re-seal: %+v", page)
	}
	// reseal does what the browser does: it re-wraps a v2 envelope as sk
	// for `to`, and seals a v1 one again as v2. resealWith does it with
	// another way of making the new envelope.
	type maker func(old []byte, c e2ee.Context, sk e2eetest.SecretKey, to []e2ee.PublicKey) ([]byte, error)
	browser := func(old []byte, c e2ee.Context, sk e2eetest.SecretKey, to []e2ee.PublicKey) ([]byte, error) {
		if old[0] == e2ee.Version2 {
			return e2eetest.Rewrap(rand.Reader, old, c, sk, to)
		}
		return sealAgain(old, c, sk, to)
	}
	resealWith := func(mk maker, it item, sk e2eetest.SecretKey, to ...string) map[string]any {
		t.Helper()
		old, _ := e2ee.DecodeBase64URL(it.Envelope)
		c := e2ee.Context{Purpose: it.Context.Purpose, CallID: it.Context.CallID, ItemID: it.Context.ItemID}
		var pks []e2ee.PublicKey
		for _, h := range to {
			pk, err := e2ee.ParsePublicKeyHex(h)
			if err != nil {
				t.Fatal(err)
			}
			pks = append(pks, pk)
		}
		env, err := mk(old, c, sk, pks)
		if err != nil {
			t.Fatalf("%s %s: %v", it.Kind, it.ID, err)
		}
		sum := sha256.Sum256(old)
		return map[string]any{"kind": it.Kind, "id": it.ID, "prev": e2ee.EncodeBase64URL(sum[:]), "envelope": e2ee.EncodeBase64URL(env)}
	}
	reseal := func(it item, sk e2eetest.SecretKey, to ...string) map[string]any {
		t.Helper()
		return resealWith(browser, it, sk, to...)
	}
	want := func(it item, admins ...string) []string {
		out := append([]string{}, it.Owners...)
		for _, a := range admins {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
		return out
	}
	var noteItem, callerItem, profileItem item
	for _, it := range page.Items {
		switch it.Kind {
		case "note":
			noteItem = it
		case "caller-number":
			callerItem = it
		case "profile":
			profileItem = it
		}
	}
	good := reseal(profileItem, admin.sk, want(profileItem, admin.pk, admin2.pk)...)
	noteTo := want(noteItem, admin.pk, admin2.pk)

	stranger := newUser(t)
	for name, bad := range map[string]map[string]any{
		"new admin missing": reseal(noteItem, admin.sk, want(noteItem, admin.pk)...),
		"a stranger added":  reseal(noteItem, admin.sk, want(noteItem, admin.pk, admin2.pk, stranger.pk)...),
		"stale prev": func() map[string]any {
			m := reseal(noteItem, admin.sk, noteTo...)
			m["prev"] = e2ee.EncodeBase64URL(make([]byte, 32))
			return m
		}(),
		"unknown kind": {"kind": "diary", "id": "x", "prev": good["prev"], "envelope": good["envelope"]},
		// A v2 envelope keeps its content: sealing it again is refused.
		"v2 content sealed again": resealWith(sealAgain, noteItem, admin.sk, noteTo...),
		// ... and the wraps of those who keep it.
		"a kept wrap changed": resealWith(func(old []byte, c e2ee.Context, sk e2eetest.SecretKey, to []e2ee.PublicKey) ([]byte, error) {
			env, err := e2eetest.Rewrap(rand.Reader, old, c, sk, to)
			if err == nil {
				i := slices.Index(to, vol.sk.Public())
				env[2+137*i+32+33] ^= 1 // the volunteer's wrap nonce
			}
			return env, err
		}, noteItem, admin.sk, noteTo...),
		// A v1 envelope is converted to v2, not kept as v1.
		"v1 sealed as v1": resealWith(func(old []byte, c e2ee.Context, sk e2eetest.SecretKey, to []e2ee.PublicKey) ([]byte, error) {
			pt, err := e2eetest.Open(old, c, sk)
			if err != nil {
				return nil, err
			}
			return e2eetest.SealV1(rand.Reader, pt, c, to)
		}, callerItem, admin.sk, want(callerItem, admin.pk, admin2.pk)...),
		"duplicate": good,
	} {
		r := e.do("POST", "/api/reseal", map[string]any{"items": []any{good, bad}}, admin)
		if r.status < 400 || r.status >= 500 {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		list(admin)
		if page.Total != 4 {
			t.Fatalf("%s: a refused batch changed something: %d left", name, page.Total)
		}
	}
	if r := e.do("POST", "/api/reseal", map[string]any{"items": []any{good}}, vol); r.status != 403 {
		t.Fatalf("a volunteer re-seals: %d", r.status)
	}

	resealAll := func(sk e2eetest.SecretKey, admins ...string) {
		t.Helper()
		list(admin)
		var batch []any
		for _, it := range page.Items {
			batch = append(batch, reseal(it, sk, want(it, admins...)...))
		}
		if r := e.do("POST", "/api/reseal", map[string]any{"items": batch}, admin); r.status != 200 {
			t.Fatalf("reseal: %d %s", r.status, r.body)
		}
		list(admin)
		if page.Total != 0 {
			t.Fatalf("left after re-sealing: %+v", page)
		}
	}
	noteBefore, _ := e2ee.DecodeBase64URL(noteItem.Envelope)
	resealAll(admin.sk, admin.pk, admin2.pk)

	// The note was re-wrapped: its content bytes (nonce and ciphertext) and
	// the wraps of the volunteer and the first admin are as they were.
	n, err := store.Read(ctx, e.st, func(tx *store.Tx) (store.Note, error) { return tx.Note(noteID) })
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(n.Envelope[2+137*3:], noteBefore[2+137*2:]) {
		t.Fatal("re-sealing changed the note's content bytes")
	}
	if !bytes.Equal(n.Envelope[2:2+137*2], noteBefore[2:2+137*2]) {
		t.Fatal("re-sealing changed the wraps of those who keep the note")
	}
	c, _ := store.Read(ctx, e.st, func(tx *store.Tx) (store.Call, error) { return tx.Call(callID) })
	if c.CallerNumber[0] != e2ee.Version2 {
		t.Fatalf("the v1 caller number was not converted to v2: version %d", c.CallerNumber[0])
	}

	// The new admin reads what was written before they existed.
	if pt, err := e2eetest.Open(n.Envelope, notePurpose(callID, noteID), admin2.sk); err != nil || string(pt) != `{"text":"before"}` {
		t.Fatalf("new admin opens the old note: %q %v", pt, err)
	}
	if pt, err := e2eetest.Open(c.CallerNumber, e2ee.Context{Purpose: e2ee.PurposeCallerNumber, CallID: callID, ItemID: "caller"}, admin2.sk); err != nil || string(pt) != "+15550100000" {
		t.Fatalf("new admin opens the old caller number: %q %v", pt, err)
	}
	entries, _, _ := e.st.AuditSearch(ctx, store.AuditFilter{}, "", 5)
	found := false
	for _, en := range entries {
		found = found || (en.Action == "envelopes.resealed" && strings.Join(en.Subjects, ",") == "envelopes:4" && en.Actor == admin.pk)
	}
	if !found {
		t.Fatalf("no audit entry counting the re-sealed envelopes: %+v", entries)
	}

	// Removal: the removed admin's wrap leaves every envelope.
	e.adminSet(admin, e2ee.AdminRemove, admin2, 200)
	resealAll(admin.sk, admin.pk)
	err = e.st.View(ctx, func(tx *store.Tx) error {
		return tx.EachSealed(func(it store.SealedItem) error {
			h, err := e2ee.ParseEnvelope(it.Envelope)
			if err != nil {
				return err
			}
			if h.Includes(admin2.sk.Public()) && it.ID != admin2.pk {
				return errors.New(it.Kind + " " + it.ID + " is still sealed to the removed admin")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2eetest.Open(n.Envelope, notePurpose(callID, noteID), admin2.sk); err != nil {
		t.Fatalf("the copy they had: %v", err) // what removal cannot undo
	}
	n2, _ := store.Read(ctx, e.st, func(tx *store.Tx) (store.Note, error) { return tx.Note(noteID) })
	if _, err := e2eetest.Open(n2.Envelope, notePurpose(callID, noteID), admin2.sk); !errors.Is(err, e2ee.ErrNotRecipient) {
		t.Fatalf("removed admin opens the stored note: %v", err)
	}
}

// sealAgain opens old as sk and seals its plaintext to `to` as a new v2
// envelope: what a re-seal of a v1 envelope does.
func sealAgain(old []byte, c e2ee.Context, sk e2eetest.SecretKey, to []e2ee.PublicKey) ([]byte, error) {
	pt, err := e2eetest.Open(old, c, sk)
	if err != nil {
		return nil, err
	}
	return e2ee.Seal(rand.Reader, pt, c, to)
}
