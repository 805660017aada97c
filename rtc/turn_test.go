package rtc

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTURNRESTCredentials: with a shared secret, each call gets its own
// TURN credentials that coturn's use-auth-secret accepts (the username is
// the expiry and a random tag; the credential its HMAC-SHA1 under the
// secret) and that expire after TURNCredentialTTL; STUN servers and TURN
// servers with static credentials are handed on unchanged.
func TestTURNRESTCredentials(t *testing.T) {
	const secret = "a-long-shared-secret-for-coturn"
	e := testEngine(t, func(c *Config) {
		c.TURNSecret = secret
		c.ICEServers = []ICEServer{
			{URLs: []string{"stun:stun.example.org:3478"}},
			{URLs: []string{"turn:turn.example.org:3478", "turns:turn.example.org:5349"}},
			{URLs: []string{"turn:other.example.org:3478"}, Username: "u", Credential: "p"},
		}
	})
	before := time.Now()
	a, b := e.ICEServers(), e.ICEServers()
	if a[0].Username != "" || a[2].Username != "u" || a[2].Credential != "p" {
		t.Fatalf("servers without the secret changed: %+v", a)
	}
	if a[1].Username == b[1].Username {
		t.Fatal("two calls got the same TURN username")
	}
	for _, s := range []ICEServer{a[1], b[1]} {
		exp, tag, ok := strings.Cut(s.Username, ":")
		unix, err := strconv.ParseInt(exp, 10, 64)
		if !ok || err != nil || len(tag) != 16 {
			t.Fatalf("username %q is not <expiry>:<tag>", s.Username)
		}
		if at := time.Unix(unix, 0); at.Before(before.Add(TURNCredentialTTL-time.Second)) || at.After(time.Now().Add(TURNCredentialTTL)) {
			t.Fatalf("expires at %s, want %s from now", at, TURNCredentialTTL)
		}
		m := hmac.New(sha1.New, []byte(secret))
		m.Write([]byte(s.Username))
		if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); s.Credential != want {
			t.Fatalf("credential %q, want %q", s.Credential, want)
		}
	}
	if pc := e.peerConfig(); len(pc.ICEServers) != 3 || pc.ICEServers[1].Username == "" {
		t.Fatalf("the daemon's own peer connections lack minted credentials: %+v", pc.ICEServers)
	}
}

func TestTURNNeedsCredentialsOrSecret(t *testing.T) {
	for name, c := range map[string]Config{
		"neither":         {ICEServers: []ICEServer{{URLs: []string{"turn:t.example.org"}}}},
		"secret and user": {TURNSecret: "a-long-shared-secret", ICEServers: []ICEServer{{URLs: []string{"turn:t.example.org"}, Username: "u"}}},
		"only a password": {ICEServers: []ICEServer{{URLs: []string{"turn:t.example.org"}, Credential: "p"}}},
	} {
		c.MediaHost = "127.0.0.1"
		if e, err := NewEngine(c); err == nil {
			e.Close()
			t.Errorf("%s: accepted", name)
		}
	}
}
