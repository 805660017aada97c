package e2ee

import (
	"fmt"
	"slices"
	"unicode/utf8"
)

// Purposes: the fixed list of things the appliance seals. The purpose is in
// the AAD of the content and of every key wrap, and in the HKDF info of the
// wrap key, so an envelope made for one purpose never opens as another.
// Adding one is a format change: add the constant and its entry in purposes
// here, in ui/src/crypto/envelope.js, in docs/crypto.md and a vector for it
// in both vector generators, together; the tests fail until all agree.
const (
	PurposeNote                = "note"                 // a call note: text + custom field values
	PurposeNoteHistory         = "note-history"         // an earlier revision of an edited note
	PurposeDraft               = "draft"                // a note being written, kept in localStorage
	PurposeTranscript          = "transcript"           // a call transcript sealed by the daemon
	PurposeVoicemailTranscript = "voicemail-transcript" // a voicemail transcript sealed by the daemon
	PurposeVoicemailAudio      = "voicemail-audio"      // a voicemail's µ-law audio sealed by the daemon
	PurposeCallerNumber        = "caller-number"        // a caller's E.164 number, sealed to admins
	PurposeVolunteerProfile    = "volunteer-profile"    // a volunteer's personal data (name, phone)
	PurposeBan                 = "ban"                  // a ban entry's number and reason, for admins
	PurposeExport              = "export"               // an admin export file
)

var purposes = []string{
	PurposeNote, PurposeNoteHistory, PurposeDraft, PurposeTranscript,
	PurposeVoicemailTranscript, PurposeVoicemailAudio, PurposeCallerNumber, PurposeVolunteerProfile,
	PurposeBan, PurposeExport,
}

// MaxContextFieldSize bounds CallID and ItemID in bytes. Ids are UUIDs or
// hex keys in practice; the bound keeps the AAD small and the check cheap.
const MaxContextFieldSize = 256

// Context is what an envelope is bound to. CallID and ItemID may be empty
// where there is no such thing (a volunteer profile has no call); the caller
// decides, and the same values must be given to open it.
type Context struct {
	Purpose string
	CallID  string
	ItemID  string
}

func (c Context) validate() error {
	if !slices.Contains(purposes, c.Purpose) {
		return fmt.Errorf("%w %q", ErrUnknownPurpose, c.Purpose)
	}
	for _, f := range []struct{ name, v string }{{"call id", c.CallID}, {"item id", c.ItemID}} {
		if len(f.v) > MaxContextFieldSize {
			return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalidContext, f.name, MaxContextFieldSize)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%w: %s is not valid UTF-8", ErrInvalidContext, f.name)
		}
	}
	return nil
}

const envelopeLabel = "llamenos/v1/envelope"

// AAD checks c and returns the context AAD every part of an envelope for c is
// bound to: LP("llamenos/v1/envelope") ‖ LP(purpose) ‖ LP(callId) ‖
// LP(itemId). It fails with ErrUnknownPurpose or ErrInvalidContext.
func (c Context) AAD() ([]byte, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, 16+len(envelopeLabel)+len(c.Purpose)+len(c.CallID)+len(c.ItemID))
	b = appendLPString(b, envelopeLabel)
	b = appendLPString(b, c.Purpose)
	b = appendLPString(b, c.CallID)
	return appendLPString(b, c.ItemID), nil
}
