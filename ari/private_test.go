package ari

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestPrivateDecodesLikeAString: a Private decodes every JSON string to
// the bytes a Go string would get, and encodes back to the same string.
func TestPrivateDecodesLikeAString(t *testing.T) {
	for _, in := range []string{
		`"+15551234567"`, `""`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20ac é"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\udc00"`, `"\u0000\u001f"`, `"<&>"`,
	} {
		var want string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		var p Private
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if string(p.Bytes()) != want {
			t.Errorf("%s: decoded %q, want %q", in, p.Bytes(), want)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var again string
		if err := json.Unmarshal(out, &again); err != nil || again != want {
			t.Errorf("%s: encoded as %s (%q, %v)", in, out, again, err)
		}
	}
	p := NewPrivate("+1")
	if err := json.Unmarshal([]byte(`null`), &p); err != nil || string(p.Bytes()) != "+1" {
		t.Errorf("null changed the value: %q, %v", p.Bytes(), err)
	}
	for _, bad := range []string{`1`, `{}`, `["+1"]`, `true`} {
		if err := json.Unmarshal([]byte(bad), &p); err == nil {
			t.Errorf("%s decoded into a Private", bad)
		}
	}
}

func FuzzPrivateJSON(f *testing.F) {
	for _, s := range []string{`"+15551234567"`, `"\ud83d\ude00"`, `"\u12"`, `"a\q"`, `null`, `"\"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want string
		werr := json.Unmarshal(data, &want)
		var p Private
		perr := json.Unmarshal(data, &p)
		if (werr == nil) != (perr == nil) {
			t.Fatalf("%q: string error %v, Private error %v", data, werr, perr)
		}
		// Raw bytes that are not UTF-8 stay as they are in a Private.
		if werr != nil || !utf8.Valid(data) {
			return
		}
		if string(p.Bytes()) != want {
			t.Fatalf("%q: decoded %q, want %q", data, p.Bytes(), want)
		}
		out, err := json.Marshal(p)
		var again string
		if err != nil || json.Unmarshal(out, &again) != nil || again != want {
			t.Fatalf("%q: encoded as %s", data, out)
		}
	})
}

// TestPrivateWipe: Wipe zeroes the buffer every copy shares; a Clone has
// its own.
func TestPrivateWipe(t *testing.T) {
	var p Private
	if err := json.Unmarshal([]byte(`"+15551234567"`), &p); err != nil {
		t.Fatal(err)
	}
	buf, shared, clone := p.Bytes(), p, p.Clone()
	p.Wipe()
	if p.Len() != 0 || !isZero(buf) || !isZero(shared.Bytes()) {
		t.Fatalf("after Wipe: %q, buffer %q, copy %q", p.Bytes(), buf, shared.Bytes())
	}
	if string(clone.Bytes()) != "+15551234567" {
		t.Fatalf("the clone lost its text: %q", clone.Bytes())
	}
	// Decoding again wipes the buffer it replaces.
	old := clone.Bytes()
	if err := json.Unmarshal([]byte(`"x"`), &clone); err != nil || !isZero(old) || string(clone.Bytes()) != "x" {
		t.Fatalf("redecoding: %q, old buffer %q, %v", clone.Bytes(), old, err)
	}
}

// TestPrivateNeverPrints: no fmt verb and no log handler shows the text.
func TestPrivateNeverPrints(t *testing.T) {
	ch := Channel{ID: "c1", Caller: CallerID{Name: NewPrivate("+15551234567"), Number: NewPrivate("+15551234567")}}
	var out strings.Builder
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		fmt.Fprintf(&out, verb+"\n", ch)
		fmt.Fprintf(&out, verb+"\n", ch.Caller.Number)
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
		slog.New(h).Info("x", "number", ch.Caller.Number, "caller", ch.Caller, "channel", ch)
	}
	for _, s := range []string{out.String(), logs.String()} {
		if strings.Contains(s, "5551234567") || strings.Contains(s, "35 35 35") || strings.Contains(s, "353535") {
			t.Fatalf("the number printed:\n%s", s)
		}
	}
	if !strings.Contains(out.String(), "[private]") {
		t.Fatalf("no placeholder:\n%s", out.String())
	}
}

func isZero(b []byte) bool { return len(bytes.Trim(b, "\x00")) == 0 }
