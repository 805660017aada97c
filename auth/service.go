// Package auth decides who someone is: BIP-340 challenge login, WebAuthn
// passkeys as a second factor, sessions (random tokens stored hashed, sliding
// expiry), single-use invites and the first-admin setup token. It knows the
// store but nothing of HTTP; the api package maps its errors to responses.
package auth

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"

	"llamenos/e2ee"
	"llamenos/store"
)

// Session lifetimes: a session dies after SessionIdle without use, and at
// the latest SessionMax after login.
const (
	SessionIdle = 12 * time.Hour
	SessionMax  = 7 * 24 * time.Hour
	// touchEvery limits how often a used session is written back: every
	// write is an fsync, and minute precision is plenty for a 12 h window.
	touchEvery = time.Minute
	// InviteMinTTL and InviteMaxTTL bound how long an invite link stays valid.
	InviteMinTTL = time.Hour
	InviteMaxTTL = 7 * 24 * time.Hour
)

// Errors the API maps to statuses.
var (
	ErrUnauthorized  = errors.New("auth: not signed in")
	ErrBadSignature  = errors.New("auth: signature, key or challenge refused")
	ErrSetupDone     = errors.New("auth: setup already completed")
	ErrSetupToken    = errors.New("auth: setup token refused")
	ErrInviteGone    = errors.New("auth: invite used, revoked or expired")
	ErrInviteUnknown = errors.New("auth: no such invite")
	ErrKeyInUse      = errors.New("auth: this key already has an account")
	ErrProfile       = errors.New("auth: profile envelope refused")
)

// Identity is the authenticated caller of a request.
type Identity struct {
	PubKey  string
	Role    store.Role
	Session store.Hash
	// MustEnrolPasskey: the passkey policy covers this person and the
	// session was opened without one. Until they enrol a passkey, the
	// session may only do that (and read who it is).
	MustEnrolPasskey bool
}

// IsAdmin reports whether the identity holds the admin role.
func (i Identity) IsAdmin() bool { return i.Role == store.RoleAdmin }

// Service ties the pieces to the store.
type Service struct {
	Store      *store.Store
	Challenges *Challenges
	Passkeys   *Passkeys
	Origin     string // scheme://host[:port], what the browser signs
	Now        func() time.Time
	Log        *slog.Logger

	setupMu   sync.Mutex
	setupHash [32]byte
	setupSet  bool
}

// NewService wires a service for origin (server.public_url).
func NewService(st *store.Store, origin, hotlineName string, now func() time.Time, log *slog.Logger) (*Service, error) {
	pk, err := NewPasskeys(origin, hotlineName, now)
	if err != nil {
		return nil, err
	}
	return &Service{
		Store:      st,
		Challenges: NewChallenges(now),
		Passkeys:   pk,
		Origin:     origin,
		Now:        now,
		Log:        log,
	}, nil
}

// NeedsSetup reports whether no active admin exists yet.
func (s *Service) NeedsSetup(ctx context.Context) (bool, error) {
	admins, err := store.Read(ctx, s.Store, func(tx *store.Tx) ([]string, error) { return tx.ActiveAdmins() })
	return len(admins) == 0, err
}

// NewSetupToken creates the one-time token that lets the first browser
// become admin. Only its hash is kept; a restart makes a new one.
func (s *Service) NewSetupToken() (string, error) {
	tok, hash, err := NewToken()
	if err != nil {
		return "", err
	}
	s.setupMu.Lock()
	s.setupHash, s.setupSet = hash, true
	s.setupMu.Unlock()
	return tok, nil
}

func (s *Service) takeSetupToken(token string) error {
	if CheckTokenFormat(token) != nil {
		return ErrSetupToken
	}
	h := HashToken(token)
	s.setupMu.Lock()
	defer s.setupMu.Unlock()
	if !s.setupSet || subtle.ConstantTimeCompare(h[:], s.setupHash[:]) != 1 {
		return ErrSetupToken
	}
	s.setupSet = false
	return nil
}

// Proof is a signed challenge: the browser's proof of key possession.
type Proof struct {
	PubKey    string
	Challenge []byte
	Signature []byte
}

// verify consumes the challenge and checks the signature for purpose.
func (s *Service) verify(purpose string, p Proof) (e2ee.PublicKey, error) {
	pk, err := e2ee.ParsePublicKeyHex(p.PubKey)
	if err != nil {
		return pk, ErrBadSignature
	}
	// The challenge is used up only by a valid signature, so answers that
	// prove nothing cannot fill the memory of used challenges; a wrong
	// signature cannot be improved on by retrying.
	if err := s.Challenges.Check(purpose, p.Challenge); err != nil {
		return pk, ErrBadSignature
	}
	if err := e2ee.VerifyAuth(pk, purpose, s.Origin, p.Challenge, p.Signature); err != nil {
		return pk, ErrBadSignature
	}
	if err := s.Challenges.Consume(purpose, p.Challenge); err != nil {
		return pk, ErrBadSignature
	}
	return pk, nil
}

// checkProfile requires a profile envelope addressed to its owner and to
// every active admin (the store's rule for every envelope kept for people).
func checkProfile(tx *store.Tx, env []byte, owner string) error {
	if err := tx.CheckSealed(env, owner); err != nil {
		return fmt.Errorf("%w: it must be sealed to you and every admin (%w)", ErrProfile, err)
	}
	return nil
}

// Setup creates the first admin. It needs the setup token, a signed setup
// challenge and a profile sealed to the new admin.
func (s *Service) Setup(ctx context.Context, token string, p Proof, profile []byte) (string, store.Volunteer, error) {
	need, err := s.NeedsSetup(ctx)
	if err != nil {
		return "", store.Volunteer{}, err
	}
	if !need {
		return "", store.Volunteer{}, ErrSetupDone
	}
	if _, err := s.verify(e2ee.AuthSetup, p); err != nil {
		return "", store.Volunteer{}, err
	}
	if err := s.Store.View(ctx, func(tx *store.Tx) error { return checkProfile(tx, profile, p.PubKey) }); err != nil {
		return "", store.Volunteer{}, err
	}
	if err := s.takeSetupToken(token); err != nil {
		return "", store.Volunteer{}, err
	}
	tok, hash, err := NewToken()
	if err != nil {
		return "", store.Volunteer{}, err
	}
	v, err := store.Write(ctx, s.Store, func(tx *store.Tx) (store.Volunteer, error) {
		if admins, err := tx.ActiveAdmins(); err != nil || len(admins) > 0 {
			return store.Volunteer{}, errors.Join(err, ErrSetupDone)
		}
		return s.createAccount(tx, hash, p.PubKey, store.RoleAdmin, profile, "setup.completed", "volunteer:"+p.PubKey)
	})
	if err != nil {
		return "", v, err
	}
	return tok, v, nil
}

// createAccount adds an active volunteer with its first session and the
// audit entry saying how the account came to be.
func (s *Service) createAccount(tx *store.Tx, session [32]byte, pubkey string, role store.Role, profile []byte, action string, subjects ...string) (store.Volunteer, error) {
	v, err := tx.CreateVolunteer(store.Volunteer{PubKey: pubkey, Role: role, Active: true, Profile: profile})
	if errors.Is(err, store.ErrExists) {
		return v, ErrKeyInUse
	}
	if err != nil {
		return v, err
	}
	if err := s.putSession(tx, session, pubkey, false); err != nil {
		return v, err
	}
	return v, tx.Audit(pubkey, action, subjects...)
}

// InviteInfo is what an invite link reveals before it is accepted.
type InviteInfo struct {
	Role      store.Role
	ExpiresAt time.Time
	Admins    []string
	// AdminSet is the signed admin set the browser verifies before sealing
	// the new profile to any admin.
	AdminSet []e2ee.AdminStatement
}

// inviteUsable is the one rule for an invite: unused, not revoked, not
// expired, and its creator still an active admin. An invite dies with its
// creator's admin rights: otherwise a removed admin's link could bring them
// back, or make someone else an admin, days later.
func inviteUsable(tx *store.Tx, inv store.Invite, now time.Time) (bool, error) {
	if !inv.UsedAt.IsZero() || !inv.RevokedAt.IsZero() || !now.Before(inv.ExpiresAt) {
		return false, nil
	}
	if inv.CreatedBy == store.ActorSystem {
		return true, nil
	}
	creator, err := tx.Volunteer(inv.CreatedBy)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return creator.IsActiveAdmin(), nil
}

// LookupInvite tells the onboarding page whether code is usable, its role
// and the admins the new profile must be sealed to.
func (s *Service) LookupInvite(ctx context.Context, code string) (InviteInfo, error) {
	if CheckTokenFormat(code) != nil {
		return InviteInfo{}, ErrInviteUnknown
	}
	return store.Read(ctx, s.Store, func(tx *store.Tx) (InviteInfo, error) {
		inv, err := tx.Invite(store.Hash(HashToken(code)))
		if errors.Is(err, store.ErrNotFound) {
			return InviteInfo{}, ErrInviteUnknown
		}
		if err != nil {
			return InviteInfo{}, err
		}
		if ok, err := inviteUsable(tx, inv, s.Now()); err != nil || !ok {
			return InviteInfo{}, cmp.Or(err, ErrInviteGone)
		}
		admins, err := tx.ActiveAdmins()
		if err != nil {
			return InviteInfo{}, err
		}
		chain, err := tx.AdminChain()
		return InviteInfo{Role: inv.Role, ExpiresAt: inv.ExpiresAt, Admins: admins, AdminSet: chain}, err
	})
}

// CreateInvite makes a single-use invite; the code is returned once and
// only its hash is stored.
func (s *Service) CreateInvite(ctx context.Context, actor string, role store.Role, ttl time.Duration) (string, store.Invite, error) {
	if ttl < InviteMinTTL || ttl > InviteMaxTTL {
		return "", store.Invite{}, fmt.Errorf("auth: invite validity must be between 1 hour and %d days", int(InviteMaxTTL.Hours()/24))
	}
	code, hash, err := NewToken()
	if err != nil {
		return "", store.Invite{}, err
	}
	inv, err := store.Write(ctx, s.Store, func(tx *store.Tx) (store.Invite, error) {
		inv, err := tx.CreateInvite(store.Invite{CodeHash: hash, Role: role, CreatedBy: actor, ExpiresAt: s.Now().Add(ttl)})
		if err != nil {
			return inv, err
		}
		return inv, tx.Audit(actor, "invite.created", "invite:"+inv.CodeHash.String())
	})
	return code, inv, err
}

// AcceptInvite redeems code for a new key: the invite and the account are
// one transaction, so a code can create exactly one account.
func (s *Service) AcceptInvite(ctx context.Context, code string, p Proof, profile []byte) (string, store.Volunteer, error) {
	if CheckTokenFormat(code) != nil {
		return "", store.Volunteer{}, ErrInviteUnknown
	}
	if _, err := s.verify(e2ee.AuthInvite, p); err != nil {
		return "", store.Volunteer{}, err
	}
	tok, hash, err := NewToken()
	if err != nil {
		return "", store.Volunteer{}, err
	}
	v, err := store.Write(ctx, s.Store, func(tx *store.Tx) (store.Volunteer, error) {
		if err := checkProfile(tx, profile, p.PubKey); err != nil {
			return store.Volunteer{}, err
		}
		codeHash := store.Hash(HashToken(code))
		inv, err := tx.Invite(codeHash)
		if errors.Is(err, store.ErrNotFound) {
			return store.Volunteer{}, ErrInviteUnknown
		}
		if err != nil {
			return store.Volunteer{}, err
		}
		if ok, err := inviteUsable(tx, inv, s.Now()); err != nil || !ok {
			return store.Volunteer{}, cmp.Or(err, ErrInviteGone)
		}
		inv, err = tx.RedeemInvite(codeHash, p.PubKey, s.Now())
		switch {
		case errors.Is(err, store.ErrNotFound):
			return store.Volunteer{}, ErrInviteUnknown
		case errors.Is(err, store.ErrInviteUsed), errors.Is(err, store.ErrInviteRevoked), errors.Is(err, store.ErrInviteExpired):
			return store.Volunteer{}, ErrInviteGone
		case err != nil:
			return store.Volunteer{}, err
		}
		return s.createAccount(tx, hash, p.PubKey, inv.Role, profile, "invite.accepted", "invite:"+inv.CodeHash.String(), "volunteer:"+p.PubKey)
	})
	if err != nil {
		return "", v, err
	}
	return tok, v, nil
}

// LoginResult is either a session token or a passkey step to complete.
type LoginResult struct {
	Token     string
	Volunteer store.Volunteer
	// Set when a passkey must be presented before a session exists.
	Ticket  string
	Options []byte
}

// PasskeyRequired reports whether policy obliges v to present a passkey.
func PasskeyRequired(set store.Settings, v store.Volunteer) bool {
	if v.PasskeyRequired {
		return true
	}
	if v.Role == store.RoleAdmin {
		return set.PasskeysForAdmins
	}
	return set.PasskeysForVolunteers
}

// Login checks a signed login challenge. Users with a passkey always use it
// (it is their second factor); users without one are refused when policy
// requires one.
func (s *Service) Login(ctx context.Context, p Proof) (LoginResult, error) {
	if _, err := s.verify(e2ee.AuthLogin, p); err != nil {
		return LoginResult{}, err
	}
	type state struct {
		v    store.Volunteer
		keys []store.Passkey
		set  store.Settings
	}
	st, err := store.Read(ctx, s.Store, func(tx *store.Tx) (state, error) {
		v, err := tx.Volunteer(p.PubKey)
		if err != nil {
			return state{}, err
		}
		keys, err := tx.PasskeysFor(p.PubKey)
		if err != nil {
			return state{}, err
		}
		set, err := tx.Settings()
		return state{v, keys, set}, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return LoginResult{}, ErrBadSignature
	}
	if err != nil {
		return LoginResult{}, err
	}
	if !st.v.Active {
		return LoginResult{}, ErrBadSignature
	}
	if len(st.keys) > 0 {
		opts, ticket, err := s.Passkeys.BeginLogin(passkeyUser(st.v, st.keys))
		if err != nil {
			return LoginResult{}, err
		}
		return LoginResult{Ticket: ticket, Options: opts, Volunteer: st.v}, nil
	}
	// Without a passkey under a policy that requires one, the session can
	// only enrol one (Identity.MustEnrolPasskey): that is how people who
	// must enrol get to.
	tok, err := s.startSession(ctx, p.PubKey, false, "login")
	return LoginResult{Token: tok, Volunteer: st.v}, err
}

// LoginPasskey completes a login with the passkey assertion for ticket.
func (s *Service) LoginPasskey(ctx context.Context, ticket string, assertion []byte) (string, store.Volunteer, error) {
	owner, err := s.Passkeys.LoginTicketOwner(ticket)
	if err != nil {
		return "", store.Volunteer{}, ErrBadSignature
	}
	v, keys, err := s.passkeyState(ctx, owner)
	if err != nil {
		return "", v, err
	}
	if !v.Active {
		return "", v, ErrBadSignature
	}
	cred, err := s.Passkeys.FinishLogin(passkeyUser(v, keys), ticket, assertion)
	if err != nil {
		s.Log.Info("passkey login refused", "volunteer", owner[:12], "err", err)
		return "", v, ErrBadSignature
	}
	tok, hash, err := NewToken()
	if err != nil {
		return "", v, err
	}
	err = s.Store.Update(ctx, func(tx *store.Tx) error {
		pk, err := tx.Passkey(cred.ID)
		if err != nil {
			return err
		}
		pk.SignCount, pk.LastUsedAt = cred.Authenticator.SignCount, tx.Now()
		if _, err := tx.PutPasskey(pk); err != nil {
			return err
		}
		if err := s.putSession(tx, hash, owner, true); err != nil {
			return err
		}
		return tx.Audit(owner, "login", "volunteer:"+owner, "passkey:"+e2ee.EncodeBase64URL(cred.ID))
	})
	return tok, v, err
}

func (s *Service) passkeyState(ctx context.Context, pubkey string) (store.Volunteer, []store.Passkey, error) {
	type state struct {
		v    store.Volunteer
		keys []store.Passkey
	}
	st, err := store.Read(ctx, s.Store, func(tx *store.Tx) (state, error) {
		v, err := tx.Volunteer(pubkey)
		if err != nil {
			return state{}, err
		}
		keys, err := tx.PasskeysFor(pubkey)
		return state{v, keys}, err
	})
	return st.v, st.keys, err
}

func (s *Service) startSession(ctx context.Context, pubkey string, secondFactor bool, action string) (string, error) {
	tok, hash, err := NewToken()
	if err != nil {
		return "", err
	}
	err = s.Store.Update(ctx, func(tx *store.Tx) error {
		if err := s.putSession(tx, hash, pubkey, secondFactor); err != nil {
			return err
		}
		return tx.Audit(pubkey, action, "volunteer:"+pubkey)
	})
	return tok, err
}

func (s *Service) putSession(tx *store.Tx, hash [32]byte, pubkey string, secondFactor bool) error {
	now := tx.Now()
	_, err := tx.PutSession(store.Session{
		TokenHash:    hash,
		PubKey:       pubkey,
		CreatedAt:    now,
		LastUsedAt:   now,
		ExpiresAt:    now.Add(SessionIdle),
		SecondFactor: secondFactor,
	})
	return err
}

// Authenticate resolves a session token to an identity, sliding its expiry.
// A deactivated volunteer's sessions are gone, so they fail here at once.
func (s *Service) Authenticate(ctx context.Context, token string) (Identity, error) {
	if CheckTokenFormat(token) != nil {
		return Identity{}, ErrUnauthorized
	}
	hash := store.Hash(HashToken(token))
	now := s.Now()
	type state struct {
		sess store.Session
		v    store.Volunteer
		set  store.Settings
	}
	st, err := store.Read(ctx, s.Store, func(tx *store.Tx) (state, error) {
		sess, err := tx.Session(hash)
		if err != nil {
			return state{}, err
		}
		v, err := tx.Volunteer(sess.PubKey)
		if err != nil {
			return state{}, err
		}
		set, err := tx.Settings()
		return state{sess, v, set}, err
	})
	if errors.Is(err, store.ErrNotFound) {
		return Identity{}, ErrUnauthorized
	}
	if err != nil {
		return Identity{}, err
	}
	expired := !now.Before(st.sess.ExpiresAt) || !now.Before(st.sess.CreatedAt.Add(SessionMax))
	if expired || !st.v.Active {
		_ = s.Store.Update(ctx, func(tx *store.Tx) error { return tx.DeleteSession(hash) })
		return Identity{}, ErrUnauthorized
	}
	if now.Sub(st.sess.LastUsedAt) >= touchEvery {
		err := s.Store.Update(ctx, func(tx *store.Tx) error {
			sess, err := tx.Session(hash)
			if err != nil {
				return err
			}
			sess.LastUsedAt, sess.ExpiresAt = now, now.Add(SessionIdle)
			_, err = tx.PutSession(sess)
			return err
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return Identity{}, err
		}
	}
	return Identity{PubKey: st.v.PubKey, Role: st.v.Role, Session: hash,
		MustEnrolPasskey: !st.sess.SecondFactor && PasskeyRequired(st.set, st.v)}, nil
}

// Logout deletes the session behind token, if any.
func (s *Service) Logout(ctx context.Context, token string) (store.Hash, string, error) {
	if CheckTokenFormat(token) != nil {
		return store.Hash{}, "", nil
	}
	hash := store.Hash(HashToken(token))
	var owner string
	err := s.Store.Update(ctx, func(tx *store.Tx) error {
		sess, err := tx.Session(hash)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		owner = sess.PubKey
		if err := tx.DeleteSession(hash); err != nil {
			return err
		}
		return tx.Audit(owner, "logout", "volunteer:"+owner)
	})
	return hash, owner, err
}

func passkeyUser(v store.Volunteer, keys []store.Passkey) PasskeyUser {
	creds := make([]webauthn.Credential, 0, len(keys))
	for _, k := range keys {
		creds = append(creds, credentialFromStore(k))
	}
	return PasskeyUser{Pubkey: v.PubKey, Handle: v.UserHandle, Credentials: creds}
}

// BeginPasskeyRegistration returns creation options for the signed-in user.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, pubkey string) ([]byte, error) {
	v, keys, err := s.passkeyState(ctx, pubkey)
	if err != nil {
		return nil, err
	}
	return s.Passkeys.BeginRegistration(passkeyUser(v, keys))
}

// FinishPasskeyRegistration stores the new credential for who. Their
// session now counts as opened with a passkey: the authenticator just
// proved itself, with user verification.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, who Identity, credential []byte) (store.Passkey, error) {
	pubkey := who.PubKey
	v, keys, err := s.passkeyState(ctx, pubkey)
	if err != nil {
		return store.Passkey{}, err
	}
	cred, err := s.Passkeys.FinishRegistration(passkeyUser(v, keys), credential)
	if err != nil {
		return store.Passkey{}, err
	}
	return store.Write(ctx, s.Store, func(tx *store.Tx) (store.Passkey, error) {
		pk, err := tx.PutPasskey(credentialToStore(pubkey, cred))
		if err != nil {
			return pk, err
		}
		sess, err := tx.Session(who.Session)
		if err != nil || sess.PubKey != pubkey {
			return pk, errors.Join(err, ErrUnauthorized)
		}
		sess.SecondFactor = true
		if _, err := tx.PutSession(sess); err != nil {
			return pk, err
		}
		return pk, tx.Audit(pubkey, "passkey.added", "volunteer:"+pubkey, "passkey:"+e2ee.EncodeBase64URL(cred.ID))
	})
}
