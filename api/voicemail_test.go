package api

import (
	"context"
	"testing"
	"time"

	"llamenos/e2ee"
	"llamenos/store"
)

// TestTranscriptsAndVoicemails: a call's transcript goes to the volunteer
// who answered and to admins, never to another volunteer; voicemails are
// admins' only, and marking one handled is audited.
func TestTranscriptsAndVoicemails(t *testing.T) {
	e := newEnv(t, nil)
	a := e.setupAdmin()
	v := e.join(a, "volunteer")
	o := e.join(a, "volunteer")
	callID, _ := store.NewID()
	vmID, _ := store.NewID()
	trID, _ := store.NewID()
	now := time.Now()
	env, _ := e2ee.DecodeBase64URL(seal(t, `{"segments":[]}`, e2ee.Context{Purpose: e2ee.PurposeTranscript, CallID: callID, ItemID: "transcript"}, v.pk, a.pk))
	audio, _ := e2ee.DecodeBase64URL(seal(t, "\xff\xff", e2ee.Context{Purpose: e2ee.PurposeVoicemailAudio, CallID: vmID, ItemID: "audio"}, a.pk))
	err := e.st.Update(context.Background(), func(tx *store.Tx) error {
		if _, err := tx.PutCall(store.Call{ID: callID, StartedAt: now.Add(-time.Hour), AnsweredAt: now.Add(-59 * time.Minute), EndedAt: now.Add(-50 * time.Minute),
			AnsweredBy: v.pk, Outcome: store.OutcomeAnswered, Transcribed: true}); err != nil {
			return err
		}
		if _, err := tx.PutTranscript(store.Transcript{ID: trID, CallID: callID, Envelope: env}); err != nil {
			return err
		}
		if _, err := tx.PutCall(store.Call{ID: vmID, StartedAt: now.Add(-time.Minute), EndedAt: now, Outcome: store.OutcomeVoicemail}); err != nil {
			return err
		}
		_, err := tx.PutVoicemail(store.Voicemail{CallID: vmID, Audio: audio, Length: 2 * time.Second, Language: "es"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Transcripts []transcriptJSON `json:"transcripts"`
	}
	for _, u := range []*user{v, a} {
		e.do("GET", "/api/calls/"+callID+"/transcripts", nil, u).json(t, &got)
		if len(got.Transcripts) != 1 || got.Transcripts[0].ID != trID || string(got.Transcripts[0].Envelope) != string(env) {
			t.Errorf("transcripts for %s: %+v", u.pk[:8], got)
		}
	}
	if r := e.do("GET", "/api/calls/"+callID+"/transcripts", nil, o); r.status != 404 {
		t.Errorf("the other volunteer got %d %s", r.status, r.body)
	}
	var call callJSON
	e.do("GET", "/api/calls/"+callID, nil, v).json(t, &call)
	if !call.Transcribed || !call.HasTranscript {
		t.Errorf("call %+v", call)
	}

	for _, u := range []*user{v, o} {
		if r := e.do("GET", "/api/voicemails", nil, u); r.status != 403 {
			t.Errorf("a volunteer listed voicemails: %d", r.status)
		}
		if r := e.do("GET", "/api/voicemails/"+vmID, nil, u); r.status != 403 {
			t.Errorf("a volunteer read a voicemail: %d", r.status)
		}
	}
	var list struct {
		Voicemails    []voicemailJSON `json:"voicemails"`
		Transcription bool            `json:"transcription"`
	}
	e.do("GET", "/api/voicemails", nil, a).json(t, &list)
	if len(list.Voicemails) != 1 || list.Transcription || len(list.Voicemails[0].Audio) != 0 || !list.Voicemails[0].HasAudio || list.Voicemails[0].LengthMs != 2000 || list.Voicemails[0].Language != "es" || list.Voicemails[0].Transcription != "none" {
		t.Fatalf("list %+v", list)
	}
	var one voicemailJSON
	e.do("GET", "/api/voicemails/"+vmID, nil, a).json(t, &one)
	if string(one.Audio) != string(audio) {
		t.Error("the voicemail's audio envelope is not served whole")
	}
	if r := e.do("PUT", "/api/voicemails/"+vmID+"/handled", map[string]any{}, a); r.status != 400 {
		t.Errorf("no handled field: %d", r.status)
	}
	var handled voicemailJSON
	e.do("PUT", "/api/voicemails/"+vmID+"/handled", map[string]bool{"handled": true}, a).json(t, &handled)
	if handled.HandledAt == nil || handled.HandledBy != a.pk || len(handled.Audio) != 0 || !handled.HasAudio {
		t.Errorf("handled: %+v", handled)
	}
	var audit struct {
		Entries []struct {
			Actor, Action string
			Subjects      []string
		} `json:"entries"`
	}
	e.do("GET", "/api/audit?action=voicemail", nil, a).json(t, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Action != "voicemail.handled" || audit.Entries[0].Actor != a.pk || audit.Entries[0].Subjects[0] != "call:"+vmID {
		t.Errorf("audit %+v", audit.Entries)
	}
}
