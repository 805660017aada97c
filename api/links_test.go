package api

import (
	"bytes"
	"strings"
	"testing"

	"llamenos/devicelink"
	"llamenos/e2ee"
)

// TestDeviceLinkRelay walks a link through the API as the two browsers
// would, and checks that each step happens once, in order, by the right
// party, and that the server hands the ciphertext to the new device once.
func TestDeviceLinkRelay(t *testing.T) {
	e := newEnv(t, nil)
	a := e.setupAdmin()
	v := e.join(a, "volunteer")
	newKey := newUser(t) // stands for the new device's ephemeral key
	oldKey := newUser(t) // and the signed-in device's
	pkRaw, _ := e2ee.ParsePublicKeyHex(newKey.pk)
	commit := devicelink.Commitment(pkRaw[:])

	if r := e.do("POST", "/api/links", map[string]any{"commitment": e2ee.EncodeBase64URL(commit[:31])}, nil); r.status != 400 {
		t.Fatalf("short commitment: %d %s", r.status, r.body)
	}
	r := e.do("POST", "/api/links", map[string]any{"commitment": e2ee.EncodeBase64URL(commit[:])}, nil)
	if r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct{ ID, Token string }
	r.json(t, &created)
	id, tok := created.ID, created.Token
	typed := strings.ToLower(id[:5] + "-" + id[5:])

	status := func(token string) resp {
		return e.do("POST", "/api/links/"+id+"/status", map[string]any{"token": token}, nil)
	}
	if r := status(e2ee.EncodeBase64URL(make([]byte, 32))); r.status != 404 {
		t.Fatalf("status with a wrong token: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+id+"/claim", nil, nil); r.status != 401 {
		t.Fatalf("anonymous claim: %d", r.status)
	}
	if r := e.do("POST", "/api/links/"+id+"/answer", map[string]any{"pubkey": oldKey.pk}, v); r.status != 409 {
		t.Fatalf("answer before the claim: %d %s", r.status, r.body)
	}
	r = e.do("POST", "/api/links/"+typed+"/claim", nil, v)
	var claimed struct{ State, Commitment string }
	r.json(t, &claimed)
	if r.status != 200 || claimed.Commitment != e2ee.EncodeBase64URL(commit[:]) {
		t.Fatalf("claim (as typed): %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+id+"/claim", nil, a); r.status != 409 {
		t.Fatalf("second claim: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+id+"/answer", map[string]any{"pubkey": oldKey.pk}, a); r.status != 403 {
		t.Fatalf("answer by another account: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+typed+"/answer", map[string]any{"pubkey": "XYZ"}, v); r.status != 400 {
		t.Fatalf("answer with a bad key: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+typed+"/answer", map[string]any{"pubkey": oldKey.pk}, v); r.status != 204 {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/links/"+id, nil, a); r.status != 403 {
		t.Fatalf("another account peeks: %d %s", r.status, r.body)
	}
	var st struct{ State, OldKey, NewKey, Sealed, Commitment string }
	status(tok).json(t, &st)
	if st.State != "answered" || st.OldKey != oldKey.pk {
		t.Fatalf("new device sees %+v", st)
	}
	if r := e.do("POST", "/api/links/"+id+"/reveal", map[string]any{"token": tok, "pubkey": oldKey.pk}, nil); r.status != 400 {
		t.Fatalf("reveal of an uncommitted key: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+id+"/reveal", map[string]any{"token": tok, "pubkey": newKey.pk}, nil); r.status != 204 {
		t.Fatalf("reveal: %d %s", r.status, r.body)
	}
	st = struct{ State, OldKey, NewKey, Sealed, Commitment string }{}
	e.do("GET", "/api/links/"+id, nil, v).json(t, &st)
	if st.State != "revealed" || st.NewKey != newKey.pk || st.OldKey != oldKey.pk {
		t.Fatalf("signed-in device sees %+v", st)
	}
	sealed := bytes.Repeat([]byte{0x5a}, devicelink.SealedSize)
	if r := e.do("POST", "/api/links/"+id+"/seal", map[string]any{"sealed": e2ee.EncodeBase64URL(sealed[:40])}, v); r.status != 400 {
		t.Fatalf("short ciphertext: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+id+"/seal", map[string]any{"sealed": e2ee.EncodeBase64URL(sealed)}, a); r.status != 403 {
		t.Fatalf("seal by another account: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+id+"/seal", map[string]any{"sealed": e2ee.EncodeBase64URL(sealed)}, v); r.status != 204 {
		t.Fatalf("seal: %d %s", r.status, r.body)
	}
	st = struct{ State, OldKey, NewKey, Sealed, Commitment string }{}
	status(tok).json(t, &st)
	if st.State != "sealed" || st.Sealed != e2ee.EncodeBase64URL(sealed) {
		t.Fatalf("collect: %+v", st)
	}
	if r := status(tok); r.status != 404 {
		t.Fatalf("a collected link is still there: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/links/"+id, nil, v); r.status != 404 {
		t.Fatalf("a collected link is still there for the old device: %d %s", r.status, r.body)
	}

	// Either side may cancel; a cancelled link is gone for both.
	r = e.do("POST", "/api/links", map[string]any{"commitment": e2ee.EncodeBase64URL(commit[:])}, nil)
	r.json(t, &created)
	if r := e.do("POST", "/api/links/"+created.ID+"/claim", nil, v); r.status != 200 {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", "/api/links/"+created.ID, nil, v); r.status != 204 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/"+created.ID+"/status", map[string]any{"token": created.Token}, nil); r.status != 404 {
		t.Fatalf("status of a cancelled link: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/links/ABC/status", map[string]any{"token": created.Token}, nil); r.status != 404 || !strings.Contains(string(r.body), "10 letters") {
		t.Fatalf("malformed code: %d %s", r.status, r.body)
	}
}
