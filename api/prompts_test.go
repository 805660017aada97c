package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"llamenos/audio"
	"llamenos/prompts"
	"llamenos/sounds"
	"llamenos/store"
)

// tone is a WAV of seconds of a 440 Hz tone at -12 dBFS: rate Hz, mono,
// 16-bit PCM.
func tone(seconds float64, rate int, amp float64) []byte {
	n := int(seconds * float64(rate))
	pcm := make([]int16, n)
	audio.NewTone(rate, amp, 440).Fill(pcm)
	wav := prompts.EncodeWAV(pcm)
	binary.LittleEndian.PutUint32(wav[24:], uint32(rate))
	binary.LittleEndian.PutUint32(wav[28:], uint32(2*rate))
	return wav
}

func (e *env) upload(path string, body []byte, ctype string, u *user) resp {
	e.t.Helper()
	req, err := http.NewRequest("PUT", e.origin+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Origin", e.origin)
	req.AddCookie(&http.Cookie{Name: cookieName, Value: u.cookie})
	res, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// TestPromptUpload: an admin's recording replaces the prompt where
// Asterisk reads it, converted to µ-law; bad recordings are refused with a
// message saying what is wrong; reverting gives the shipped one back; both
// changes are audited.
func TestPromptUpload(t *testing.T) {
	e := newEnv(t, nil)
	a := e.setupAdmin()
	if _, err := e.srv.Settings.Update(context.Background(), a.pk, func(s *store.Settings) error {
		s.Languages = []string{"en", "es"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(e.srv.Prompts.Dir, sounds.Path("es", "greeting"))
	shipped, _ := sounds.Default("es", "greeting")

	var list promptsView
	e.do("GET", "/api/prompts", nil, a).json(t, &list)
	if len(list.Prompts) != 2*len(sounds.Names) || !list.Editable {
		t.Fatalf("list: %+v", list)
	}
	for _, p := range list.Prompts {
		if p.State != prompts.StateDefault || p.Seconds < 0.5 {
			t.Fatalf("fresh prompt %+v, want the shipped one", p)
		}
	}

	bad := []struct {
		name, ctype string
		body        []byte
		status      int
		msg         string
	}{
		{"not a WAV", "audio/wav", []byte("ID3\x03 an mp3, say"), 422, "not a WAV file"},
		{"44.1 kHz", "audio/wav", tone(2, 44100, 0.3), 422, "want mono at 8000 Hz"},
		{"too short", "audio/wav", tone(0.2, 8000, 0.3), 422, "want 0.5 to 60 s"},
		{"too long", "audio/wav", tone(61, 8000, 0.3), 422, "want 0.5 to 60 s"},
		{"silent", "audio/wav", tone(2, 8000, 0), 422, "silent"},
		{"cut short", "audio/wav", tone(2, 8000, 0.3)[:5000], 422, "cut short"},
		{"too large", "audio/wav", make([]byte, prompts.MaxUpload+1), 413, "larger than"},
		{"JSON", "application/json", tone(2, 8000, 0.3), 415, "audio/wav"},
	}
	for _, b := range bad {
		r := e.upload("/api/prompts/es/greeting", b.body, b.ctype, a)
		if r.status != b.status || !strings.Contains(string(r.body), b.msg) {
			t.Errorf("%s: %d %s, want %d saying %q", b.name, r.status, r.body, b.status, b.msg)
		}
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, shipped) {
		t.Fatal("a refused upload changed the prompt")
	}
	for _, path := range []string{"/api/prompts/fr/greeting", "/api/prompts/es/nope", "/api/prompts/es/..%2fgreeting"} {
		if r := e.upload(path, tone(2, 8000, 0.3), "audio/wav", a); r.status != 404 {
			t.Errorf("PUT %s: %d %s, want 404", path, r.status, r.body)
		}
	}

	good := tone(2.5, 8000, 0.3)
	r := e.upload("/api/prompts/es/greeting", good, "audio/wav", a)
	var p prompts.Prompt
	r.json(t, &p)
	if r.status != 200 || p.State != prompts.StateCustom || p.Seconds != 2.5 {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	pcm, _ := prompts.DecodeWAV(good)
	if got, _ := os.ReadFile(file); !bytes.Equal(got, audio.EncodeMulaw(nil, pcm)) {
		t.Fatal("the file Asterisk reads is not the upload in µ-law")
	}
	played := e.do("GET", "/api/prompts/es/greeting", nil, a)
	if back, err := prompts.DecodeWAV(played.body); played.status != 200 || err != nil || len(back) != len(pcm) {
		t.Fatalf("GET the custom prompt: %d, %v", played.status, err)
	}

	r = e.do("DELETE", "/api/prompts/es/greeting", nil, a)
	r.json(t, &p)
	if r.status != 200 || p.State != prompts.StateDefault {
		t.Fatalf("revert: %d %s", r.status, r.body)
	}
	if got, _ := os.ReadFile(file); !bytes.Equal(got, shipped) {
		t.Fatal("revert did not write the shipped prompt back")
	}
	entries, _, err := e.st.AuditSearch(context.Background(), store.AuditFilter{Kind: "prompt"}, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, en := range entries {
		got = append(got, en.Action+" "+strings.Join(en.Subjects, ",")+" "+map[bool]string{true: "admin", false: en.Actor}[en.Actor == a.pk])
	}
	want := "prompt.reverted prompt:es.greeting admin|prompt.replaced prompt:es.greeting admin"
	if strings.Join(got, "|") != want {
		t.Errorf("audit %q, want %q", strings.Join(got, "|"), want)
	}
}
