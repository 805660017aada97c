package auth

import (
	"context"
	"crypto/rand"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"llamenos/e2ee"
	"llamenos/e2ee/e2eetest"
	"llamenos/store"
)

const testOrigin = "https://hotline.example"

// testClock is the one clock of a test's service and store; it moves only
// when the test says.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	t     *testing.T
	ctx   context.Context
	clock *testClock
	st    *store.Store
	svc   *Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	clock := &testClock{now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "auth.db"), store.Options{NoSync: true, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc, err := NewService(st, testOrigin, "Test hotline", clock.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: context.Background(), clock: clock, st: st, svc: svc}
}

// key is someone's key pair.
type key struct {
	sk e2eetest.SecretKey
	pk string
}

func newKey(t *testing.T) key {
	t.Helper()
	sk, err := e2eetest.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key{sk: sk, pk: sk.Public().String()}
}

// person stores an active volunteer with role and returns their key.
func (f *fixture) person(role store.Role) key {
	f.t.Helper()
	k := newKey(f.t)
	f.update(func(tx *store.Tx) error {
		_, err := tx.CreateVolunteer(store.Volunteer{PubKey: k.pk, Role: role, Active: true})
		return err
	})
	return k
}

func (f *fixture) update(fn func(*store.Tx) error) {
	f.t.Helper()
	if err := f.st.Update(f.ctx, fn); err != nil {
		f.t.Fatal(err)
	}
}

// proof signs a fresh challenge for purpose, as the browser does.
func (f *fixture) proof(k key, purpose string) Proof {
	f.t.Helper()
	ch, _, err := f.svc.Challenges.Issue(purpose)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.sign(k, purpose, ch)
}

func (f *fixture) sign(k key, purpose string, ch []byte) Proof {
	f.t.Helper()
	sig, err := e2eetest.SignAuth(rand.Reader, k.sk, purpose, testOrigin, ch)
	if err != nil {
		f.t.Fatal(err)
	}
	return Proof{PubKey: k.pk, Challenge: ch, Signature: sig}
}

// profile seals a profile to its owner and every active admin.
func (f *fixture) profile(owner string) []byte {
	f.t.Helper()
	admins, err := store.Read(f.ctx, f.st, func(tx *store.Tx) ([]string, error) { return tx.ActiveAdmins() })
	if err != nil {
		f.t.Fatal(err)
	}
	var to []e2ee.PublicKey
	for _, hex := range append([]string{owner}, admins...) {
		pk, err := e2ee.ParsePublicKeyHex(hex)
		if err != nil {
			f.t.Fatal(err)
		}
		to = append(to, pk)
	}
	env, err := e2ee.Seal(rand.Reader, []byte(`{"name":"Test Person"}`), e2ee.Context{Purpose: e2ee.PurposeVolunteerProfile, ItemID: owner}, to)
	if err != nil {
		f.t.Fatal(err)
	}
	return env
}

// login signs in k, who has no passkey, and returns the session token.
func (f *fixture) login(k key) string {
	f.t.Helper()
	res, err := f.svc.Login(f.ctx, f.proof(k, e2ee.AuthLogin))
	if err != nil {
		f.t.Fatal(err)
	}
	if res.Token == "" {
		f.t.Fatalf("login gave no session: %+v", res)
	}
	return res.Token
}
