package rtc

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/pion/stun/v4"
)

// TURNCredentialTTL is how long credentials minted from a TURN shared
// secret stay valid. The browser fetches fresh ones for every call, so a
// volunteer who is deactivated keeps relay access only until theirs run
// out; it is long enough that a long call's allocation refreshes keep
// working.
const TURNCredentialTTL = 4 * time.Hour

// mintTURN returns time-limited TURN credentials in the TURN REST scheme
// (coturn's use-auth-secret): the username is "<expiry unix time>:<random
// tag>", the credential base64(HMAC-SHA1(secret, username)). The tag is
// random, so the TURN server's logs do not name the volunteer.
func mintTURN(secret string, now time.Time) (username, credential string) {
	var tag [8]byte
	_, _ = rand.Read(tag[:]) // crypto/rand does not fail on Linux
	username = strconv.FormatInt(now.Add(TURNCredentialTTL).Unix(), 10) + ":" + hex.EncodeToString(tag[:])
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(username))
	return username, base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func isTURN(u string) bool {
	uri, err := stun.ParseURI(u)
	return err == nil && (uri.Scheme == stun.SchemeTypeTURN || uri.Scheme == stun.SchemeTypeTURNS)
}

// servers is the STUN/TURN list with fresh credentials for every TURN
// server that uses the shared secret.
func (e *Engine) servers(now time.Time) []ICEServer {
	out := make([]ICEServer, len(e.iceServers))
	for i, s := range e.iceServers {
		out[i] = ICEServer{URLs: append([]string(nil), s.URLs...), Username: s.Username, Credential: s.Credential}
		if e.cfg.TURNSecret != "" && s.Username == "" && len(s.URLs) > 0 && isTURN(s.URLs[0]) {
			out[i].Username, out[i].Credential = mintTURN(e.cfg.TURNSecret, now)
		}
	}
	return out
}
