package api

import (
	"context"
	"testing"

	"llamenos/store"
)

func TestSettings(t *testing.T) {
	e := newEnv(t, nil)
	a := e.setupAdmin()
	var s map[string]any
	e.do("GET", "/api/settings", nil, a).json(t, &s)
	if s["timeZone"] != "UTC" || s["queueTimeoutSeconds"] != 90.0 {
		t.Fatalf("defaults: %v", s)
	}
	if vm, _ := s["voicemail"].(map[string]any); vm["mode"] != "auto" || vm["maxSeconds"] != 120.0 || vm["keepAudio"] != true {
		t.Fatalf("voicemail defaults: %v", s["voicemail"])
	}
	s["voicemail"] = map[string]any{"mode": "always", "maxSeconds": 300, "keepAudio": false}
	if s["callTranscripts"] != false {
		t.Fatalf("call transcripts on by default: %v", s["callTranscripts"])
	}
	s["callTranscripts"] = true
	s["timeZone"] = "America/Mexico_City"
	s["queueTimeoutSeconds"] = 120
	s["passkeyPolicy"] = map[string]bool{"admins": false, "volunteers": true}
	keep, _ := s["retention"].(map[string]any)
	for _, k := range []string{"callRecords", "notes", "transcripts"} {
		if c, _ := keep[k].(map[string]any); c["forever"] != true || c["days"] != 365.0 {
			t.Fatalf("retention default for %s: %v (want forever, offering 365 days)", k, keep[k])
		}
	}
	s["retention"] = map[string]any{
		"callRecords": map[string]any{"forever": false, "days": 730},
		"notes":       map[string]any{"forever": true, "days": 365},
		"transcripts": map[string]any{"forever": false, "days": 30},
	}
	if r := e.do("PUT", "/api/settings", s, a); r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.body)
	}
	for name, bad := range map[string]func(map[string]any){
		"zone":      func(m map[string]any) { m["timeZone"] = "Mars/Olympus" },
		"timeout":   func(m map[string]any) { m["queueTimeoutSeconds"] = 5 },
		"languages": func(m map[string]any) { m["languages"] = []string{} },
		"rate":      func(m map[string]any) { m["rateLimit"] = map[string]any{"enabled": true, "callsPerMinute": 0} },
		"unknown":   func(m map[string]any) { m["voicemailMode"] = "always" },
		"vm mode": func(m map[string]any) {
			m["voicemail"] = map[string]any{"mode": "sometimes", "maxSeconds": 60, "keepAudio": true}
		},
		"vm length": func(m map[string]any) {
			m["voicemail"] = map[string]any{"mode": "auto", "maxSeconds": 5, "keepAudio": true}
		},
		"captcha size": func(m map[string]any) { m["captcha"] = map[string]any{"enabled": true, "maxAttempts": 3, "digits": 40} },
		"retention": func(m map[string]any) {
			m["retention"] = map[string]any{"callRecords": map[string]any{"forever": false, "days": 0}, "notes": map[string]any{"forever": true, "days": 1}, "transcripts": map[string]any{"forever": true, "days": 1}}
		},
	} {
		t.Run(name, func(t *testing.T) {
			m := map[string]any{}
			for k, v := range s {
				m[k] = v
			}
			bad(m)
			if r := e.do("PUT", "/api/settings", m, a); r.status != 400 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	got, err := store.Read(context.Background(), e.st, func(tx *store.Tx) (store.Settings, error) { return tx.Settings() })
	if err != nil {
		t.Fatal(err)
	}
	if got.TimeZone != "America/Mexico_City" || got.QueueTimeoutSeconds != 120 || !got.PasskeysForVolunteers ||
		got.VoicemailMode != store.VoicemailAlways || got.VoicemailMaxSeconds != 300 || !got.VoicemailTranscriptOnly || !got.Recording ||
		got.KeepCallsDays != 730 || got.KeepNotesDays != 0 || got.KeepTranscriptsDays != 30 {
		t.Fatalf("stored settings after refused updates: %+v", got)
	}
}
