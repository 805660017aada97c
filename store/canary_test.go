package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// canaryForms is every way a canary could sit in the file if some path
// stored it unsealed: raw, UTF-16, hex, and base64 (how encoding/json writes
// []byte) at each of the three alignments.
func canaryForms(c string) map[string][]byte {
	forms := map[string][]byte{
		"raw":   []byte(c),
		"lower": []byte(strings.ToLower(c)),
		"hex":   []byte(hex.EncodeToString([]byte(c))),
		"HEX":   []byte(strings.ToUpper(hex.EncodeToString([]byte(c)))),
	}
	var u16 []byte
	for _, r := range utf16.Encode([]rune(c)) {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	forms["utf16"] = u16
	for o := range 3 {
		for name, enc := range map[string]*base64.Encoding{"b64": base64.StdEncoding, "b64url": base64.URLEncoding} {
			s := enc.EncodeToString(append(make([]byte, o), c...))
			first, end := (o+2)/3, (o+len(c))/3
			if end > first {
				forms[name+string(rune('0'+o))] = []byte(s[4*first : 4*end])
			}
		}
	}
	return forms
}

// findCanaries lists every canary form present in data.
func findCanaries(data []byte, canaries []string) []string {
	var hits []string
	for _, c := range canaries {
		for form, b := range canaryForms(c) {
			if bytes.Contains(data, b) {
				hits = append(hits, c+" as "+form)
			}
		}
	}
	return hits
}

// TestCanariesNeverReachTheFile writes everything sensitive the way the API
// will (sealed, or hashed) and searches the raw database and a backup for
// the plaintext in any encoding.
func TestCanariesNeverReachTheFile(t *testing.T) {
	ctx := context.Background()
	const (
		name    = "CANARYNAME-Xochitl-Quetzal"
		phone   = "+15555550142"
		caller  = "+525512345678"
		note    = "CANARYNOTE the caller said the bridge on fifth street"
		edited  = "CANARYEDIT second version of the note text"
		field   = "CANARYFIELD-risk-high"
		transcr = "CANARYTRANSCRIPT I do not want to be here anymore"
		vmail   = "CANARYVOICEMAIL please call me back"
		reason  = "CANARYREASON abusive caller"
		invite  = "CANARYINVITECODE-9f8e7d6c5b4a"
		token   = "CANARYSESSIONTOKEN-0a1b2c3d4e5f"
	)
	canaries := []string{name, phone, caller, "5512345678", "5555550142", note, edited, field, transcr, vmail, reason, invite, token}

	s, path := openTest(t)
	seal := newSealer(t)
	start := time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
	callID, noteID := newID(t), newID(t)
	callerHash := callerHash(t, s, caller)
	update(t, s, func(tx *Tx) error {
		v, err := tx.CreateVolunteer(Volunteer{PubKey: pk(1), Role: RoleVolunteer, Active: true, Profile: seal.seal(name + "\n" + phone)})
		if err != nil {
			return err
		}
		if _, err := tx.CreateInvite(Invite{CodeHash: tokenHash(invite), Role: RoleVolunteer, CreatedBy: pk(0), ExpiresAt: start.Add(time.Hour), CreatedAt: start}); err != nil {
			return err
		}
		if _, err := tx.PutSession(Session{TokenHash: tokenHash(token), PubKey: v.PubKey, CreatedAt: start, ExpiresAt: start.Add(time.Hour)}); err != nil {
			return err
		}
		if _, err := tx.PutPasskey(Passkey{ID: []byte("credential-id"), PubKey: v.PubKey, PublicKey: []byte{0xa5, 0x01, 0x02, 0x03, 0x26}}); err != nil {
			return err
		}
		c := testCall(t, start, v.PubKey, callerHash)
		c.ID, c.CallerNumber = callID, seal.seal(caller)
		if _, err := tx.PutCall(c); err != nil {
			return err
		}
		if _, err := tx.CreateNote(Note{ID: noteID, CallID: callID, Author: v.PubKey, Envelope: seal.seal(note + "\n" + field)}); err != nil {
			return err
		}
		if _, err := tx.EditNote(noteID, seal.seal(edited)); err != nil {
			return err
		}
		if _, err := tx.PutTranscript(Transcript{ID: newID(t), CallID: callID, Envelope: seal.seal(transcr)}); err != nil {
			return err
		}
		if _, err := tx.PutVoicemail(Voicemail{CallID: callID, Envelope: seal.seal(vmail)}); err != nil {
			return err
		}
		if _, err := tx.PutBan(Ban{Hash: callerHash, Number: seal.seal(caller), Reason: seal.seal(reason), CreatedBy: v.PubKey}); err != nil {
			return err
		}
		if err := tx.SetCustomFields([]CustomField{{ID: "risk", Label: "Risk", Type: FieldSelect, Options: []string{"low", "high"}}}); err != nil {
			return err
		}
		return tx.Audit(v.PubKey, "ban.added", "ban:"+callerHash.String(), "call:"+callID, "note:"+noteID)
	})
	// The data went in and comes back out (so the test is not vacuous).
	view(t, s, func(tx *Tx) error {
		n, err := tx.Note(noteID)
		if err != nil || seal.open(t, n.Envelope) != edited {
			t.Fatalf("note round trip: %v", err)
		}
		c, err := tx.Call(callID)
		if err != nil || seal.open(t, c.CallerNumber) != caller {
			t.Fatalf("call round trip: %v", err)
		}
		return nil
	})
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := s.BackupFile(ctx, backup); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, backup} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if hits := findCanaries(data, canaries); len(hits) > 0 {
			t.Errorf("%s holds plaintext: %v", filepath.Base(p), hits)
		}
	}
	if names := dirNames(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("the store left other files: %v", names)
	}

	// The detector itself: an envelope that is really plaintext is caught,
	// though encoding/json writes it as base64.
	t.Run("detector finds an unsealed envelope", func(t *testing.T) {
		leaky, leakyPath := openTest(t)
		update(t, leaky, func(tx *Tx) error {
			c := testCall(t, start, pk(1), Hash{1})
			c.CallerNumber = []byte("xx" + caller + " y")
			_, err := tx.PutCall(c)
			return err
		})
		leaky.Close()
		data, _ := os.ReadFile(leakyPath)
		if hits := findCanaries(data, []string{caller}); len(hits) == 0 {
			t.Error("the canary search missed a plaintext number stored as base64")
		}
	})
}
