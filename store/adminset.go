package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"

	"llamenos/e2ee"
)

// The admin set (e2ee.AdminStatement): the signed chain of changes of the
// admin list, kept in order under its sequence number. The role flag of a
// volunteer says what the server lets them do; who envelopes are sealed to
// is what the chain vouches for, and only among active admins.

// AdminStatementJSON is a statement as stored and as the API carries it:
// hex, lowercase.
type AdminStatementJSON struct {
	Op   string `json:"op"`
	Key  string `json:"key"`
	By   string `json:"by"`
	Prev string `json:"prev"`
	Sig  string `json:"sig"`
}

// AdminStatementView is st in its JSON form.
func AdminStatementView(st e2ee.AdminStatement) AdminStatementJSON {
	return AdminStatementJSON{
		Op: st.Op, Key: st.Key.String(), By: st.By.String(),
		Prev: hex.EncodeToString(st.Prev[:]), Sig: hex.EncodeToString(st.Sig[:]),
	}
}

// Parse checks the encoding (not the signature; see e2ee.AdminSet.Next).
func (j AdminStatementJSON) Parse() (e2ee.AdminStatement, error) {
	var st e2ee.AdminStatement
	if j.Op != e2ee.AdminAdd && j.Op != e2ee.AdminRemove {
		return st, fmt.Errorf("op %q: want add or remove", truncate(j.Op, 16))
	}
	st.Op = j.Op
	var err error
	if st.Key, err = e2ee.ParsePublicKeyHex(j.Key); err != nil {
		return st, fmt.Errorf("key: %w", err)
	}
	if st.By, err = e2ee.ParsePublicKeyHex(j.By); err != nil {
		return st, fmt.Errorf("by: %w", err)
	}
	if !isLowerHex([]byte(j.Prev), 64) {
		return st, errors.New("prev: want 64 lowercase hex characters")
	}
	if !isLowerHex([]byte(j.Sig), 128) {
		return st, errors.New("sig: want 128 lowercase hex characters")
	}
	hex.Decode(st.Prev[:], []byte(j.Prev))
	hex.Decode(st.Sig[:], []byte(j.Sig))
	return st, nil
}

// AdminChain returns the stored statements in order, as stored: they are
// not verified here (AdminSet does).
func (tx *Tx) AdminChain() ([]e2ee.AdminStatement, error) {
	if tx.tx.Bucket(bucketAdminSet) == nil {
		return nil, nil // no statement yet
	}
	recs, err := listAll[AdminStatementJSON](tx, bucketAdminSet)
	if err != nil {
		return nil, err
	}
	out := make([]e2ee.AdminStatement, 0, len(recs))
	for i, r := range recs {
		st, err := r.Parse()
		if err != nil {
			return nil, fmt.Errorf("store: admin statement %d: %w: %w", i, ErrCorrupt, err)
		}
		out = append(out, st)
	}
	return out, nil
}

// AdminSet verifies the stored chain. A chain that stops verifying part way
// (only an edit of the database file does that: AppendAdminStatement checks
// every statement) gives the set of the statements before the bad one,
// with an error wrapping e2ee.ErrAdminChain.
func (tx *Tx) AdminSet() (e2ee.AdminSet, error) {
	chain, err := tx.AdminChain()
	if err != nil {
		return e2ee.AdminSet{}, err
	}
	return e2ee.VerifyAdminChain(chain)
}

// AppendAdminStatement adds st to the chain if it follows it (see
// e2ee.AdminSet.Next) and returns the new set. The chain's first statement
// comes only from its own subject, who must be an active admin by role;
// an added admin must be an active admin by role already (someone the
// hotline made admin, now vouched for). A refusal wraps ErrInvalid.
func (tx *Tx) AppendAdminStatement(st e2ee.AdminStatement) (e2ee.AdminSet, error) {
	set, err := tx.AdminSet()
	if err != nil {
		return set, fmt.Errorf("store: admin set: %w", err)
	}
	if st.Op == e2ee.AdminAdd {
		v, err := tx.Volunteer(st.Key.String())
		if errors.Is(err, ErrNotFound) || (err == nil && !v.IsActiveAdmin()) {
			return set, fmt.Errorf("store: admin set: %w: %s… is not an active admin of this hotline", ErrInvalid, st.Key.String()[:12])
		}
		if err != nil {
			return set, err
		}
	}
	next, err := set.Next(st)
	if err != nil {
		return set, fmt.Errorf("store: admin set: %w: %w", ErrInvalid, err)
	}
	if _, err := tx.tx.CreateBucketIfNotExists(bucketAdminSet); err != nil {
		return set, fmt.Errorf("store: admin set: %w", err)
	}
	j := AdminStatementView(st)
	if err := tx.putRecord(bucketAdminSet, u64(uint64(set.Len)), &j); err != nil {
		return set, err
	}
	return next, nil
}

// SealingAdmins returns, ordered by key, the admins every envelope kept for
// people is sealed to: those the admin set vouches for that are active
// admins now. A deactivated or demoted admin is no recipient of anything
// new even before someone signs their removal; an admin by role alone is
// none at all. A chain broken by an edit of the file counts up to the
// break.
func (tx *Tx) SealingAdmins() ([]string, error) {
	set, err := tx.AdminSet()
	if err != nil && !errors.Is(err, e2ee.ErrAdminChain) {
		return nil, err
	}
	var out []string
	for _, pk := range set.Admins {
		v, err := tx.Volunteer(pk.String())
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if v.IsActiveAdmin() {
			out = append(out, v.PubKey)
		}
	}
	slices.Sort(out)
	return out, nil
}

// SealingAdminKeys is SealingAdmins as public keys: whom the daemon seals
// caller numbers, voicemails and transcripts to.
func (tx *Tx) SealingAdminKeys() ([]e2ee.PublicKey, error) {
	admins, err := tx.SealingAdmins()
	if err != nil {
		return nil, err
	}
	out := make([]e2ee.PublicKey, 0, len(admins))
	for _, hex := range admins {
		pk, err := e2ee.ParsePublicKeyHex(hex)
		if err != nil {
			return nil, fmt.Errorf("store: admin key %s: %w", hex, err)
		}
		out = append(out, pk)
	}
	return out, nil
}
