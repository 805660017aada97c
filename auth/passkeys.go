package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// PasskeyTTL bounds a WebAuthn ceremony from options to answer.
const PasskeyTTL = 2 * time.Minute

// ErrCeremony is returned when a passkey ceremony is unknown, expired or
// already finished.
var ErrCeremony = errors.New("auth: passkey ceremony unknown, expired or already used")

// PasskeyUser is one volunteer as WebAuthn sees it. The handle is the
// volunteer's public key: opaque to the authenticator and never a name.
type PasskeyUser struct {
	Pubkey      string
	Handle      []byte
	Credentials []webauthn.Credential
}

func (u PasskeyUser) WebAuthnID() []byte { return u.Handle }

// The authenticator shows this in its account picker. The server does not
// know the volunteer's name, and a seized security key should not reveal it.
func (u PasskeyUser) WebAuthnName() string                       { return "llamenos-" + u.Pubkey[:12] }
func (u PasskeyUser) WebAuthnDisplayName() string                { return u.WebAuthnName() }
func (u PasskeyUser) WebAuthnCredentials() []webauthn.Credential { return u.Credentials }

type ceremony struct {
	pubkey  string
	data    webauthn.SessionData
	expires time.Time
}

// Passkeys runs WebAuthn registration and login ceremonies (go-webauthn) and
// keeps each ceremony's state in memory for PasskeyTTL, single use.
type Passkeys struct {
	wa  *webauthn.WebAuthn
	now func() time.Time

	mu      sync.Mutex
	pending map[string]ceremony // "reg:"+pubkey or "login:"+ticket hash
}

// NewPasskeys configures the relying party from the public origin.
func NewPasskeys(publicURL, displayName string, now func() time.Time) (*Passkeys, error) {
	u, err := url.Parse(publicURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("auth: passkeys need a public URL with a host, got %q", publicURL)
	}
	origin := u.Scheme + "://" + u.Host
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: displayName,
		RPOrigins:     []string{origin},
	})
	if err != nil {
		return nil, fmt.Errorf("auth: passkeys: %w", err)
	}
	return &Passkeys{wa: wa, now: now, pending: map[string]ceremony{}}, nil
}

func (p *Passkeys) put(key string, c ceremony) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	for k, v := range p.pending {
		if !now.Before(v.expires) {
			delete(p.pending, k)
		}
	}
	p.pending[key] = c
}

func (p *Passkeys) take(key string) (ceremony, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.pending[key]
	delete(p.pending, key)
	if !ok || !p.now().Before(c.expires) {
		return ceremony{}, ErrCeremony
	}
	return c, nil
}

// BeginRegistration returns PublicKeyCredentialCreationOptions for user.
// Existing credentials are excluded so one authenticator is enrolled once.
func (p *Passkeys) BeginRegistration(user PasskeyUser) (json.RawMessage, error) {
	exclude := make([]protocol.CredentialDescriptor, 0, len(user.Credentials))
	for _, c := range user.Credentials {
		exclude = append(exclude, c.Descriptor())
	}
	creation, data, err := p.wa.BeginRegistration(user,
		webauthn.WithExclusions(exclude),
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementPreferred),
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationRequired,
		}),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return nil, fmt.Errorf("auth: begin passkey registration: %w", err)
	}
	p.put("reg:"+user.Pubkey, ceremony{pubkey: user.Pubkey, data: *data, expires: p.now().Add(PasskeyTTL)})
	return json.Marshal(creation.Response)
}

// FinishRegistration checks the browser's attestation JSON against the
// pending ceremony for user and returns the new credential.
func (p *Passkeys) FinishRegistration(user PasskeyUser, credentialJSON []byte) (*webauthn.Credential, error) {
	c, err := p.take("reg:" + user.Pubkey)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(credentialJSON)
	if err != nil {
		return nil, fmt.Errorf("auth: passkey attestation: %w", describe(err))
	}
	cred, err := p.wa.CreateCredential(user, c.data, parsed)
	if err != nil {
		return nil, fmt.Errorf("auth: passkey attestation: %w", describe(err))
	}
	return cred, nil
}

// BeginLogin returns PublicKeyCredentialRequestOptions limited to user's
// credentials, and the ticket that FinishLogin needs.
func (p *Passkeys) BeginLogin(user PasskeyUser) (options json.RawMessage, ticket string, err error) {
	assertion, data, err := p.wa.BeginLogin(user, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, "", fmt.Errorf("auth: begin passkey login: %w", err)
	}
	ticket, hash, err := NewToken()
	if err != nil {
		return nil, "", err
	}
	p.put(fmt.Sprintf("login:%x", hash), ceremony{pubkey: user.Pubkey, data: *data, expires: p.now().Add(PasskeyTTL)})
	options, err = json.Marshal(assertion.Response)
	return options, ticket, err
}

// LoginTicketOwner consumes nothing; it says whose login a ticket belongs to
// so the caller can load that user's credentials.
func (p *Passkeys) LoginTicketOwner(ticket string) (string, error) {
	if CheckTokenFormat(ticket) != nil {
		return "", ErrCeremony
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.pending[fmt.Sprintf("login:%x", HashToken(ticket))]
	if !ok || !p.now().Before(c.expires) {
		return "", ErrCeremony
	}
	return c.pubkey, nil
}

// FinishLogin verifies the assertion for the ticket's user and returns the
// credential used, with its updated sign counter. The ticket is spent either way.
func (p *Passkeys) FinishLogin(user PasskeyUser, ticket string, assertionJSON []byte) (*webauthn.Credential, error) {
	if CheckTokenFormat(ticket) != nil {
		return nil, ErrCeremony
	}
	c, err := p.take(fmt.Sprintf("login:%x", HashToken(ticket)))
	if err != nil {
		return nil, err
	}
	if c.pubkey != user.Pubkey {
		return nil, ErrCeremony
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(assertionJSON)
	if err != nil {
		return nil, fmt.Errorf("auth: passkey assertion: %w", describe(err))
	}
	cred, err := p.wa.ValidateLogin(user, c.data, parsed)
	if err != nil {
		return nil, fmt.Errorf("auth: passkey assertion: %w", describe(err))
	}
	if cred.Authenticator.CloneWarning {
		return nil, errors.New("auth: passkey sign counter went backwards; the authenticator may be cloned")
	}
	return cred, nil
}

// describe keeps go-webauthn's detail (which check failed) in the message.
func describe(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) && pe.DevInfo != "" {
		return fmt.Errorf("%s: %s", pe.Details, pe.DevInfo)
	}
	return err
}
