package api

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"llamenos/ari/aritest"
	"llamenos/e2ee"
	"llamenos/store"
)

// TestRingCarriesNothingAboutTheCaller places a real call through the call
// engine and reads every frame the rung volunteer's socket gets until the
// ring: the ring holds exactly a call id and two times, and no frame holds
// any run of four digits of the caller's number.
func TestRingCarriesNothingAboutTheCaller(t *testing.T) {
	e := newEnv(t, nil, withRealEngine)
	admin := e.setupAdmin()
	v := e.join(admin, "volunteer")
	if r := e.do("PUT", "/api/me/availability", map[string]bool{"available": true, "onBreak": false}, v); r.status != 200 {
		t.Fatalf("availability: %d %s", r.status, r.body)
	}
	c, err := dialWS(t, e, v)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()

	const number = "+15557654321"

	var runs []string // every 4-digit run of the number
	digits := strings.TrimPrefix(number, "+")
	for i := 0; i+4 <= len(digits); i++ {
		runs = append(runs, digits[i:i+4])
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, frame, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("no ring arrived: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(frame, &m); err != nil {
			t.Fatalf("frame %s: %v", frame, err)
		}
		// The values the contract allows to hold digits are checked for their
		// form, then left out of the digit search.
		if id, ok := m["callId"].(string); ok {
			if !uuid.MatchString(id) {
				t.Fatalf("callId %q is not a random call id", id)
			}
			delete(m, "callId")
		}
		if pk, ok := m["pubkey"].(string); ok {
			if store.ValidPubKey(pk) != nil {
				t.Fatalf("pubkey %q is not a public key", pk)
			}
			delete(m, "pubkey")
		}
		for _, k := range []string{"startedAt", "ringAt"} {
			if ts, ok := m[k].(string); ok {
				if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
					t.Fatalf("%s %q is not a time", k, ts)
				}
				delete(m, k)
			}
		}
		rest, _ := json.Marshal(m)
		for _, run := range runs {
			if strings.Contains(string(rest), run) {
				t.Fatalf("a %s frame holds %q of the caller's number: %s", m["type"], run, frame)
			}
		}
		if m["type"] == "hello" {
			// The socket is registered with the hub once its hello is
			// written: a call placed now rings it.
			call, err := e.sim.PlaceCall(aritest.CallSpec{App: "llamenos", CallerNumber: number, CallerName: "Canary Caller", DialedNumber: "+15550100000"})
			if err != nil {
				t.Fatal(err)
			}
			defer call.Hangup()
		}
		if m["type"] != "ring" {
			continue
		}
		var keys []string
		if err := json.Unmarshal(frame, &m); err != nil {
			t.Fatal(err)
		}
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"callId", "ringAt", "startedAt", "type"}; !slices.Equal(keys, want) {
			t.Fatalf("ring frame has fields %v, want exactly %v: %s", keys, want, frame)
		}
		return
	}
}

// TestNoteRefusedWithoutEveryActiveAdmin: the API refuses a note whose
// envelope leaves out an active admin, and stores nothing.
func TestNoteRefusedWithoutEveryActiveAdmin(t *testing.T) {
	e := newEnv(t, nil)
	admin := e.setupAdmin()
	admin2 := e.join(admin, "admin")
	v := e.join(admin, "volunteer")
	callID := e.answeredCall(v)
	noteID := "3d1f0a52-7c1e-4b6e-9f0a-2b7c1d9e8f10"
	for _, tc := range []struct {
		name string
		to   []string
	}{
		{"author only", []string{v.pk}},
		{"one admin missing", []string{v.pk, admin.pk}},
		{"author missing", []string{admin.pk, admin2.pk}},
	} {
		env := seal(t, `{"text":"canary"}`, notePurpose(callID, noteID), tc.to...)
		r := e.do("POST", "/api/calls/"+callID+"/notes", map[string]string{"id": noteID, "envelope": env}, v)
		if r.status != 400 {
			t.Fatalf("%s: status %d, want 400: %s", tc.name, r.status, r.body)
		}
	}
	n, err := store.Read(context.Background(), e.st, func(tx *store.Tx) (int, error) {
		notes, _, err := tx.NotesByCall(callID, "", 0)
		return len(notes), err
	})
	if err != nil || n != 0 {
		t.Fatalf("notes stored after refusals: %d, %v", n, err)
	}
	env := seal(t, `{"text":"canary"}`, notePurpose(callID, noteID), v.pk, admin.pk, admin2.pk)
	if r := e.do("POST", "/api/calls/"+callID+"/notes", map[string]string{"id": noteID, "envelope": env}, v); r.status != 200 {
		t.Fatalf("a note sealed to everyone: %d %s", r.status, r.body)
	}
}

// answeredCall stores a past call answered by v and returns its id.
func (e *env) answeredCall(v *user) string {
	e.t.Helper()
	id, err := store.NewID()
	if err != nil {
		e.t.Fatal(err)
	}
	now := time.Now()
	err = e.st.Update(context.Background(), func(tx *store.Tx) error {
		_, err := tx.PutCall(store.Call{ID: id, StartedAt: now.Add(-time.Hour), AnsweredAt: now.Add(-59 * time.Minute),
			EndedAt: now.Add(-50 * time.Minute), QueueWait: time.Minute, Duration: 9 * time.Minute, AnsweredBy: v.pk,
			Outcome: store.OutcomeAnswered})
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

func notePurpose(callID, noteID string) e2ee.Context {
	return e2ee.Context{Purpose: e2ee.PurposeNote, CallID: callID, ItemID: noteID}
}
