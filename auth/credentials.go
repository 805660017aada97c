package auth

import (
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"llamenos/store"
)

// credentialToStore keeps what verifying later assertions needs; the
// attestation statement is not kept (we ask for none).
func credentialToStore(owner string, c *webauthn.Credential) store.Passkey {
	tr := make([]string, len(c.Transport))
	for i, t := range c.Transport {
		tr[i] = string(t)
	}
	return store.Passkey{
		ID:              c.ID,
		PubKey:          owner,
		PublicKey:       c.PublicKey,
		AttestationType: c.AttestationType,
		Transports:      tr,
		UserPresent:     c.Flags.UserPresent,
		UserVerified:    c.Flags.UserVerified,
		BackupEligible:  c.Flags.BackupEligible,
		BackupState:     c.Flags.BackupState,
		AAGUID:          c.Authenticator.AAGUID,
		SignCount:       c.Authenticator.SignCount,
		CloneWarning:    c.Authenticator.CloneWarning,
		Attachment:      string(c.Authenticator.Attachment),
	}
}

func credentialFromStore(p store.Passkey) webauthn.Credential {
	tr := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		tr[i] = protocol.AuthenticatorTransport(t)
	}
	var flags protocol.AuthenticatorFlags
	for _, f := range []struct {
		on   bool
		flag protocol.AuthenticatorFlags
	}{
		{p.UserPresent, protocol.FlagUserPresent},
		{p.UserVerified, protocol.FlagUserVerified},
		{p.BackupEligible, protocol.FlagBackupEligible},
		{p.BackupState, protocol.FlagBackupState},
	} {
		if f.on {
			flags |= f.flag
		}
	}
	return webauthn.Credential{
		ID:              p.ID,
		PublicKey:       p.PublicKey,
		AttestationType: p.AttestationType,
		Transport:       tr,
		Flags:           webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{
			AAGUID:       p.AAGUID,
			SignCount:    p.SignCount,
			CloneWarning: p.CloneWarning,
			Attachment:   protocol.AuthenticatorAttachment(p.Attachment),
		},
	}
}
