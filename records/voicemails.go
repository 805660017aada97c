package records

import (
	"context"
	"errors"
	"time"

	"llamenos/auth"
	"llamenos/fault"
	"llamenos/store"
)

// Voicemails are the admins' alone: volunteers never see them (there is no
// assigning one to a volunteer). Everything a caller said in one is sealed
// to the admins by the daemon; the service hands the envelopes over as
// they are.

// Voicemails lists every voicemail, newest first, without its envelopes.
func (s *Service) Voicemails(ctx context.Context, who auth.Identity) ([]store.Voicemail, error) {
	if !who.IsAdmin() {
		return nil, fault.Forbidden("voicemails are for admins")
	}
	all, err := store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.Voicemail, error) { return tx.Voicemails() })
	if err != nil {
		return nil, err
	}
	for i := range all {
		all[i] = withoutEnvelopes(all[i])
	}
	return all, nil
}

// withoutEnvelopes keeps whether there is audio (an empty, non-nil Audio)
// and drops the envelopes: lists carry them one voicemail at a time.
func withoutEnvelopes(v store.Voicemail) store.Voicemail {
	if len(v.Audio) > 0 {
		v.Audio = []byte{}
	}
	v.Envelope = nil
	return v
}

// Voicemail returns one voicemail with its sealed audio and transcript.
func (s *Service) Voicemail(ctx context.Context, who auth.Identity, callID string) (store.Voicemail, error) {
	if !who.IsAdmin() {
		return store.Voicemail{}, fault.Forbidden("voicemails are for admins")
	}
	v, err := store.Read(ctx, s.Store, func(tx *store.Tx) (store.Voicemail, error) { return tx.Voicemail(callID) })
	return v, voicemailErr(err)
}

// SetVoicemailHandled marks a voicemail handled by who, or new again; both
// are audited.
func (s *Service) SetVoicemailHandled(ctx context.Context, who auth.Identity, callID string, handled bool) (store.Voicemail, error) {
	if !who.IsAdmin() {
		return store.Voicemail{}, fault.Forbidden("voicemails are for admins")
	}
	var out store.Voicemail
	err := s.Store.Update(ctx, func(tx *store.Tx) error {
		v, err := tx.UpdateVoicemail(callID, func(v *store.Voicemail) error {
			if handled == !v.HandledAt.IsZero() {
				return errUnchanged
			}
			v.HandledAt, v.HandledBy = time.Time{}, ""
			if handled {
				v.HandledAt, v.HandledBy = s.now(), who.PubKey
			}
			return nil
		})
		if errors.Is(err, errUnchanged) {
			out, err = tx.Voicemail(callID)
			return err
		}
		if err != nil {
			return err
		}
		out = v
		action := "voicemail.reopened"
		if handled {
			action = "voicemail.handled"
		}
		return tx.Audit(who.PubKey, action, "call:"+callID)
	})
	return withoutEnvelopes(out), voicemailErr(err)
}

var errUnchanged = errors.New("records: unchanged")

func voicemailErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fault.NotFound("no such voicemail")
	case errors.Is(err, store.ErrInvalid):
		return fault.Invalidf("bad voicemail id")
	}
	return err
}

// CallTranscripts returns a call's transcripts to whoever may see the
// call: an admin, or the volunteer who answered it (sealed to both). A
// failed one says so and holds no envelope.
func (s *Service) CallTranscripts(ctx context.Context, who auth.Identity, callID string) ([]store.Transcript, error) {
	return store.Read(ctx, s.Store, func(tx *store.Tx) ([]store.Transcript, error) {
		c, err := readableCall(tx, who, callID)
		if err != nil {
			return nil, err
		}
		return tx.TranscriptsByCall(c.ID)
	})
}
