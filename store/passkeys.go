package store

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Passkey is a WebAuthn credential registered by a volunteer, with what
// go-webauthn needs to verify later assertions (its flags included: it
// rejects an assertion whose backup-eligible bit differs from the stored).
type Passkey struct {
	ID              []byte    `json:"id"`
	PubKey          string    `json:"pk"`
	PublicKey       []byte    `json:"cose"`
	AttestationType string    `json:"att,omitempty"`
	Transports      []string  `json:"tr,omitempty"`
	UserPresent     bool      `json:"up,omitempty"`
	UserVerified    bool      `json:"uv,omitempty"`
	BackupEligible  bool      `json:"be,omitempty"`
	BackupState     bool      `json:"bs,omitempty"`
	AAGUID          []byte    `json:"aaguid,omitempty"`
	SignCount       uint32    `json:"count"`
	CloneWarning    bool      `json:"clone,omitempty"`
	Attachment      string    `json:"attach,omitempty"`
	CreatedAt       time.Time `json:"created"`
	LastUsedAt      time.Time `json:"used,omitzero"`
}

// WebAuthn allows credential ids up to 1023 bytes.
const maxCredentialID = 1023

func (p *Passkey) validate() error {
	var errs []error
	if len(p.ID) == 0 || len(p.ID) > maxCredentialID {
		errs = append(errs, fmt.Errorf("credential id of %d bytes: want 1..%d", len(p.ID), maxCredentialID))
	}
	if err := ValidPubKey(p.PubKey); err != nil {
		errs = append(errs, err)
	}
	if len(p.PublicKey) == 0 || len(p.PublicKey) > 4096 {
		errs = append(errs, fmt.Errorf("credential public key of %d bytes", len(p.PublicKey)))
	}
	if len(p.AAGUID) != 0 && len(p.AAGUID) != 16 {
		errs = append(errs, fmt.Errorf("AAGUID of %d bytes: want 16", len(p.AAGUID)))
	}
	if len(p.Transports) > 8 {
		errs = append(errs, errors.New("too many transports"))
	}
	return errors.Join(errs...)
}

func (p *Passkey) indexEntries() []indexEntry {
	pk, _ := hex.DecodeString(p.PubKey)
	return []indexEntry{{bucketPasskeyPK, cat(pk, p.ID)}}
}

// PutPasskey registers or updates a credential (sign count, last use). Its
// owner cannot change; CreatedAt defaults to the tx time.
func (tx *Tx) PutPasskey(p Passkey) (Passkey, error) {
	if p.CreatedAt.IsZero() {
		p.CreatedAt = tx.now
	}
	if err := p.validate(); err != nil {
		return Passkey{}, fmt.Errorf("store: put passkey: %w: %w", ErrInvalid, err)
	}
	old, err := tx.Passkey(p.ID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return Passkey{}, err
	case old.PubKey != p.PubKey:
		return Passkey{}, fmt.Errorf("store: put passkey: %w: credential belongs to another volunteer", ErrExists)
	}
	if err := tx.putRecord(bucketPasskeys, p.ID, &p); err != nil {
		return Passkey{}, err
	}
	return p, tx.reindex(nil, p.indexEntries())
}

// Passkey returns the credential with this id.
func (tx *Tx) Passkey(id []byte) (Passkey, error) {
	if len(id) == 0 || len(id) > maxCredentialID {
		return Passkey{}, fmt.Errorf("store: passkey: %w", ErrNotFound)
	}
	var p Passkey
	if err := tx.getRecord(bucketPasskeys, id, &p); err != nil {
		return Passkey{}, fmt.Errorf("store: passkey: %w", err)
	}
	return p, nil
}

// PasskeysFor lists a volunteer's credentials.
func (tx *Tx) PasskeysFor(pk string) ([]Passkey, error) {
	key, err := pubKeyBytes(pk)
	if err != nil {
		return nil, fmt.Errorf("store: passkeys: %w: %w", ErrInvalid, err)
	}
	ids, err := tx.indexSuffixes(bucketPasskeyPK, key, 0)
	if err != nil {
		return nil, err
	}
	var out []Passkey
	for _, id := range ids {
		p, err := tx.Passkey(id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// DeletePasskey removes a credential; a missing one is ErrNotFound.
func (tx *Tx) DeletePasskey(id []byte) error {
	p, err := tx.Passkey(id)
	if err != nil {
		return err
	}
	b, err := tx.bucket(bucketPasskeys)
	if err != nil {
		return err
	}
	if err := b.Delete(p.ID); err != nil {
		return fmt.Errorf("store: delete passkey: %w", err)
	}
	return tx.reindex(p.indexEntries(), nil)
}
