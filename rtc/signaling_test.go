package rtc

import (
	"errors"
	"strings"
	"testing"
)

// chromeOffer is the shape of a Chrome audio-only offer (trimmed).
const chromeOffer = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=ice-ufrag:Zx9q\r\na=ice-pwd:0123456789abcdefghijklmn\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"a=setup:actpass\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=sendrecv\r\na=msid:- 1\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n" +
	"a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\na=rtpmap:9 G722/8000\r\n" +
	"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\n" +
	"a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\na=ssrc:1 cname:x\r\n"

func TestCheckOffer(t *testing.T) {
	cases := []struct {
		name      string
		offer     string
		want      error
		wantUfrag string
	}{
		{"chrome", chromeOffer, nil, "Zx9q"},
		{"static 0 without rtpmap", strings.Replace(chromeOffer, "a=rtpmap:0 PCMU/8000\r\n", "", 1), nil, "Zx9q"},
		{"session-level ufrag", strings.Replace(strings.Replace(chromeOffer, "a=ice-ufrag:Zx9q\r\n", "", 1), "t=0 0\r\n", "t=0 0\r\na=ice-ufrag:Sess\r\n", 1), nil, "Sess"},
		{"dynamic PCMU", strings.Replace(strings.Replace(chromeOffer, "SAVPF 111 63 9 0 8", "SAVPF 111 63 9 96 8", 1), "rtpmap:0 PCMU", "rtpmap:96 pcmu", 1), nil, "Zx9q"},
		{"0 remapped to something else", strings.Replace(chromeOffer, "rtpmap:0 PCMU/8000", "rtpmap:0 opus/48000", 1), ErrNoPCMU, ""},
		{"PCMU at another rate", strings.Replace(chromeOffer, "rtpmap:0 PCMU/8000", "rtpmap:0 PCMU/16000", 1), ErrNoPCMU, ""},
		{"no ufrag", strings.Replace(chromeOffer, "a=ice-ufrag:Zx9q\r\n", "", 1), ErrBadOffer, ""},
		{"whitespace", " \r\n ", ErrBadOffer, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ufrag, err := checkOffer(c.offer)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if ufrag != c.wantUfrag {
				t.Errorf("ufrag %q, want %q", ufrag, c.wantUfrag)
			}
		})
	}
}

// FuzzCheckOffer: offers come from browsers, i.e. from anyone holding a
// volunteer session; no input may panic the parser or pass without an
// audio section that accepts PCMU.
func FuzzCheckOffer(f *testing.F) {
	f.Add(chromeOffer)
	f.Add(opusOnlyOffer)
	f.Add("v=0\r\nm=audio 9 RTP/AVP 0\r\na=ice-ufrag:x\r\n")
	f.Fuzz(func(t *testing.T, offer string) {
		ufrag, err := checkOffer(offer)
		if err != nil {
			return
		}
		if ufrag == "" {
			t.Fatal("accepted an offer without an ICE ufrag")
		}
		if !strings.Contains(strings.ToUpper(offer), "M=AUDIO") {
			t.Fatal("accepted an offer without an audio section")
		}
	})
}
