package e2ee

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
)

// The admin set. Every envelope kept for people is sealed to the hotline's
// admins, so whoever decides who is an admin decides who reads everything
// sealed from then on. That decision is not left to a role flag in the
// database: each change of the admin list is a statement signed by an admin
// already in the list, chained to the one before by its digest. The first
// statement adds the first admin and is signed by that admin (at setup, in
// the same request as the setup proof). Browsers verify the chain, pin its
// head, and seal only to the admins it vouches for; the daemon verifies it
// too before sealing a caller's number.
const (
	AdminAdd    = "add"    // the statement makes Key an admin
	AdminRemove = "remove" // the statement ends Key's admin rights

	// MaxAdminChain bounds a chain's length, so a planted database cannot
	// make every reader verify without end.
	MaxAdminChain = 4096

	adminSetLabel = "llamenos/v1/admin-set"
)

// ErrAdminChain marks an admin-set chain that does not verify: a bad
// signature, a broken link, a signer who is not an admin, an impossible
// change.
var ErrAdminChain = errors.New("admin set does not verify")

// AdminStatement is one change of the admin list. Prev is the digest of the
// statement before it (all zero for the first); Sig is By's BIP-340
// signature over Digest.
type AdminStatement struct {
	Op   string
	Key  PublicKey
	By   PublicKey
	Prev [32]byte
	Sig  [SignatureSize]byte
}

// Digest = SHA-256(LP("llamenos/v1/admin-set") ‖ LP(prev 32) ‖ LP(op) ‖
// LP(key 32) ‖ LP(by 32)): what By signs, and what the next statement's
// Prev names.
func (s AdminStatement) Digest() [32]byte {
	b := make([]byte, 0, 20+len(adminSetLabel)+32+len(s.Op)+2*PublicKeySize)
	b = appendLPString(b, adminSetLabel)
	b = appendLP(b, s.Prev[:])
	b = appendLPString(b, s.Op)
	b = appendLP(b, s.Key[:])
	b = appendLP(b, s.By[:])
	return sha256.Sum256(b)
}

// AdminSet is what a verified chain says: the admins now, in the order they
// were added, and the digest of the last statement (zero for an empty
// chain).
type AdminSet struct {
	Admins []PublicKey
	Head   [32]byte
	Len    int
}

// Includes reports whether pk is in the set.
func (a AdminSet) Includes(pk PublicKey) bool { return slices.Contains(a.Admins, pk) }

// Next checks that st may follow the set: it names the head, is signed by
// an admin of the set (the first by the admin it adds), adds someone not an
// admin or removes an admin while one stays, and its signature verifies. It
// returns the set after st.
func (a AdminSet) Next(st AdminStatement) (AdminSet, error) {
	if st.Prev != a.Head {
		return a, fmt.Errorf("%w: statement %d does not follow the one before it", ErrAdminChain, a.Len)
	}
	if a.Len == 0 {
		if st.Op != AdminAdd || st.Key != st.By {
			return a, fmt.Errorf("%w: the first statement must be the first admin adding themself", ErrAdminChain)
		}
	} else if !a.Includes(st.By) {
		return a, fmt.Errorf("%w: statement %d is signed by %s…, who is not an admin", ErrAdminChain, a.Len, hex.EncodeToString(st.By[:6]))
	}
	if _, err := st.Key.point(); err != nil {
		return a, fmt.Errorf("%w: statement %d: %w", ErrAdminChain, a.Len, err)
	}
	next := AdminSet{Admins: slices.Clone(a.Admins), Len: a.Len + 1}
	switch st.Op {
	case AdminAdd:
		if a.Includes(st.Key) {
			return a, fmt.Errorf("%w: statement %d adds an admin already in the set", ErrAdminChain, a.Len)
		}
		next.Admins = append(next.Admins, st.Key)
	case AdminRemove:
		i := slices.Index(a.Admins, st.Key)
		if i < 0 {
			return a, fmt.Errorf("%w: statement %d removes someone not in the set", ErrAdminChain, a.Len)
		}
		if len(a.Admins) == 1 {
			return a, fmt.Errorf("%w: statement %d removes the last admin", ErrAdminChain, a.Len)
		}
		next.Admins = slices.Delete(next.Admins, i, i+1)
	default:
		return a, fmt.Errorf("%w: statement %d: unknown operation %q", ErrAdminChain, a.Len, st.Op)
	}
	if a.Len >= MaxAdminChain {
		return a, fmt.Errorf("%w: longer than %d statements", ErrAdminChain, MaxAdminChain)
	}
	d := st.Digest()
	if !VerifySchnorr(st.By, d[:], st.Sig[:]) {
		return a, fmt.Errorf("%w: statement %d: %w", ErrAdminChain, a.Len, ErrBadSignature)
	}
	next.Head = d
	return next, nil
}

// VerifyAdminChain verifies every statement in order. On a failure it
// returns the set the statements before the bad one make, with the error:
// what a valid prefix vouches for is still true, and nothing after it is
// believed.
func VerifyAdminChain(chain []AdminStatement) (AdminSet, error) {
	var set AdminSet
	for _, st := range chain {
		next, err := set.Next(st)
		if err != nil {
			return set, err
		}
		set = next
	}
	return set, nil
}
