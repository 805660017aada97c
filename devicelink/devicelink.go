// Package devicelink relays a volunteer's secret key from a browser that is
// signed in to a new browser, without the server ever holding anything that
// opens it. The server keeps, in memory only, each link request's public
// values and the one ciphertext, and enforces the order of the steps, their
// expiry and single use:
//
//  1. the new device commits to an ephemeral public key (Create) and shows
//     the link's code;
//  2. a signed-in device claims the link, which gives it the commitment
//     (Claim), and only then answers with its own ephemeral public key
//     (Answer);
//  3. the new device reveals its key (Reveal), which must match the
//     commitment;
//  4. both devices show a confirmation code computed from both keys; the
//     signed-in device, once its user typed the matching code, uploads the
//     secret key encrypted to the two keys' shared secret (Seal);
//  5. the new device collects it (Status), which ends the link.
//
// Because each side's key is fixed before it sees the other's (the
// commitment stands for the new device's, and the signed-in device holds it
// before it sends its own key), a server that swaps keys cannot choose them
// so that the two confirmation codes agree. docs/crypto.md describes the
// bytes.
package devicelink

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"llamenos/e2ee"
)

// Sizes of what the browsers send.
const (
	// CommitmentSize is the SHA-256 of the new device's key (see Commitment).
	CommitmentSize = 32
	// SealedSize is the encrypted secret key: 24-byte nonce, 32 bytes, tag.
	SealedSize = 24 + 32 + 16
	// TokenSize is the new device's secret for its own link.
	TokenSize = 32
	// IDLength is the number of base32 characters of a link's code.
	IDLength = 10
)

// Defaults: how long a link lives and how many may wait at once.
const (
	DefaultTTL = 10 * time.Minute
	DefaultMax = 1000
)

// State is the step a link is at.
type State string

const (
	Waiting  State = "waiting"  // created; no device claimed it yet
	Claimed  State = "claimed"  // a signed-in device has the commitment
	Answered State = "answered" // that device sent its key
	Revealed State = "revealed" // the new device revealed its key
	Sealed   State = "sealed"   // the encrypted key waits for the new device
)

// Errors, matched with errors.Is.
var (
	ErrNotFound = errors.New("devicelink: no such link code, or it expired, was used or was cancelled")
	ErrStep     = errors.New("devicelink: the link is not at that step")
	ErrFull     = errors.New("devicelink: too many link requests are waiting")
	ErrInvalid  = errors.New("devicelink: invalid value")
	ErrNotYours = errors.New("devicelink: this link was answered by another account")
)

var commitLabel = []byte("llamenos/v1/device-link/commit")

// Commitment is SHA-256(LP("llamenos/v1/device-link/commit") ‖ LP(key)), key
// the new device's 32-byte x-only ephemeral public key.
func Commitment(key []byte) [32]byte {
	h := sha256.New()
	lp := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	lp(commitLabel)
	lp(key)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// View is what one side may see of a link.
type View struct {
	State   State
	Expires time.Time
	// OldKey is the signed-in device's ephemeral key (hex), once answered.
	OldKey string
	// NewKey is the new device's ephemeral key (hex), once revealed.
	NewKey string
	// Sealed is the encrypted secret key, given to the new device once.
	Sealed []byte
}

type link struct {
	token      [32]byte // SHA-256 of the new device's token
	commitment [32]byte
	created    time.Time
	expires    time.Time
	state      State
	account    string // who answered
	oldKey     string
	newKey     string
	sealed     []byte
}

// Registry holds the links in memory: a restart forgets them all, and each
// lives at most TTL.
type Registry struct {
	mu    sync.Mutex
	links map[string]*link
	now   func() time.Time
	ttl   time.Duration
	max   int
}

// New returns an empty registry; zero ttl and max take the defaults, a nil
// now takes time.Now.
func New(now func() time.Time, ttl time.Duration, max int) *Registry {
	if now == nil {
		now = time.Now
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if max <= 0 {
		max = DefaultMax
	}
	return &Registry{links: map[string]*link{}, now: now, ttl: ttl, max: max}
}

// NormalizeID turns what a person typed (any case, spaces, dashes) into a
// link id, or "" if it cannot be one.
func NormalizeID(s string) string {
	s = strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(s))
	if len(s) != IDLength {
		return ""
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return ""
		}
	}
	return s
}

// sweep drops expired links; the caller holds mu.
func (r *Registry) sweep(now time.Time) {
	for id, l := range r.links {
		if !now.Before(l.expires) {
			delete(r.links, id)
		}
	}
}

// get returns a live link; the caller holds mu.
func (r *Registry) get(id string) (*link, error) {
	l, ok := r.links[id]
	if !ok {
		return nil, ErrNotFound
	}
	if !r.now().Before(l.expires) {
		delete(r.links, id)
		return nil, ErrNotFound
	}
	return l, nil
}

// Create starts a link for a new device that committed to its key. It
// returns the link's id (its code) and the token only the new device holds.
func (r *Registry) Create(commitment []byte) (id string, token []byte, expires time.Time, err error) {
	if len(commitment) != CommitmentSize {
		return "", nil, time.Time{}, fmt.Errorf("%w: the commitment must be %d bytes", ErrInvalid, CommitmentSize)
	}
	token = make([]byte, TokenSize)
	if _, err := rand.Read(token); err != nil {
		return "", nil, time.Time{}, fmt.Errorf("devicelink: token: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.sweep(now)
	if len(r.links) >= r.max {
		return "", nil, time.Time{}, ErrFull
	}
	for range 8 {
		var raw [7]byte // 56 bits, of which the code keeps 50
		if _, err := rand.Read(raw[:]); err != nil {
			return "", nil, time.Time{}, fmt.Errorf("devicelink: id: %w", err)
		}
		cand := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(raw[:])[:IDLength]
		if _, taken := r.links[cand]; taken {
			continue
		}
		l := &link{token: sha256.Sum256(token), created: now, expires: now.Add(r.ttl), state: Waiting}
		copy(l.commitment[:], commitment)
		r.links[cand] = l
		return cand, token, l.expires, nil
	}
	return "", nil, time.Time{}, errors.New("devicelink: no free id")
}

// byToken returns the link if token is its new device's; the caller holds mu.
func (r *Registry) byToken(id string, token []byte) (*link, error) {
	l, err := r.get(id)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(token)
	if subtle.ConstantTimeCompare(sum[:], l.token[:]) != 1 {
		// A wrong token says no more than a wrong id.
		return nil, ErrNotFound
	}
	return l, nil
}

// Status is the new device's view. Once the encrypted key is there, Status
// hands it over and the link ends: it is collected exactly once.
func (r *Registry) Status(id string, token []byte) (View, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, err := r.byToken(id, token)
	if err != nil {
		return View{}, err
	}
	v := View{State: l.state, Expires: l.expires, OldKey: l.oldKey, NewKey: l.newKey}
	if l.state == Sealed {
		v.Sealed = l.sealed
		delete(r.links, id)
	}
	return v, nil
}

// Reveal records the new device's key, which must be the one it committed to.
func (r *Registry) Reveal(id string, token []byte, key string) error {
	pk, err := e2ee.ParsePublicKeyHex(key)
	if err != nil {
		return fmt.Errorf("%w: the key must be 64 lowercase hex characters of a valid public key", ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l, err := r.byToken(id, token)
	if err != nil {
		return err
	}
	if l.state != Answered {
		return fmt.Errorf("%w: reveal comes after a device answered, once", ErrStep)
	}
	c := Commitment(pk[:])
	if subtle.ConstantTimeCompare(c[:], l.commitment[:]) != 1 {
		return fmt.Errorf("%w: the key does not match the commitment", ErrInvalid)
	}
	l.newKey, l.state = key, Revealed
	return nil
}

// CancelByToken ends a link on the new device's word.
func (r *Registry) CancelByToken(id string, token []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.byToken(id, token); err != nil {
		return err
	}
	delete(r.links, id)
	return nil
}

// Claim gives a signed-in device the new device's commitment, before it
// sends its own key; account is its owner, the only one who may take the
// link further.
func (r *Registry) Claim(id, account string) (commitment [32]byte, expires time.Time, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, err := r.get(id)
	if err != nil {
		return [32]byte{}, time.Time{}, err
	}
	if l.state != Waiting {
		return [32]byte{}, time.Time{}, fmt.Errorf("%w: another device already answered this link", ErrStep)
	}
	l.account, l.state = account, Claimed
	return l.commitment, l.expires, nil
}

// Answer records the claiming device's ephemeral key.
func (r *Registry) Answer(id, account, key string) error {
	if _, err := e2ee.ParsePublicKeyHex(key); err != nil {
		return fmt.Errorf("%w: the key must be 64 lowercase hex characters of a valid public key", ErrInvalid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l, err := r.byAccount(id, account)
	if err != nil {
		return err
	}
	if l.state != Claimed {
		return fmt.Errorf("%w: answer comes after the claim, once", ErrStep)
	}
	l.oldKey, l.state = key, Answered
	return nil
}

// byAccount returns the link if account answered it; the caller holds mu.
func (r *Registry) byAccount(id, account string) (*link, error) {
	l, err := r.get(id)
	if err != nil {
		return nil, err
	}
	if l.state == Waiting {
		return nil, fmt.Errorf("%w: claim the link first", ErrStep)
	}
	if subtle.ConstantTimeCompare([]byte(l.account), []byte(account)) != 1 {
		return nil, ErrNotYours
	}
	return l, nil
}

// Peek is the signed-in device's view: the state and, once revealed, the
// new device's key (which it checks against the commitment Claim gave it).
func (r *Registry) Peek(id, account string) (View, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, err := r.byAccount(id, account)
	if err != nil {
		return View{}, err
	}
	return View{State: l.state, Expires: l.expires, OldKey: l.oldKey, NewKey: l.newKey}, nil
}

// Seal stores the encrypted secret key for the new device, once.
func (r *Registry) Seal(id, account string, sealed []byte) error {
	if len(sealed) != SealedSize {
		return fmt.Errorf("%w: the sealed key must be %d bytes", ErrInvalid, SealedSize)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	l, err := r.byAccount(id, account)
	if err != nil {
		return err
	}
	if l.state != Revealed {
		return fmt.Errorf("%w: seal comes after the new device revealed its key, once", ErrStep)
	}
	l.sealed, l.state = append([]byte(nil), sealed...), Sealed
	return nil
}

// CancelByAccount ends a link on the answering device's word.
func (r *Registry) CancelByAccount(id, account string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.byAccount(id, account); err != nil {
		return err
	}
	delete(r.links, id)
	return nil
}

// Pending counts the links still live.
func (r *Registry) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sweep(r.now())
	return len(r.links)
}
