package hotline

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"llamenos/ari/aritest"
	"llamenos/rtc/rtctest"
	"llamenos/store"
)

func TestLanguageMenu(t *testing.T) {
	const menuTimeout = 8 * time.Second
	h := newHarness(t, harnessOpts{cfg: Config{MenuTimeout: menuTimeout}})
	t.Cleanup(func() { dumpLogs(t, h) })
	h.settings(func(s *store.Settings) { s.Languages = []string{"en", "es", "fr"} })
	h.onShift(1)
	h.start()
	const menu = "sound:llamenos/language-menu"
	cases := []struct {
		name  string
		dtmf  []aritest.DTMF
		want  string
		menus int // most prompts heard before the greeting (a digit cuts the menu short; timing on a loaded box varies)
		exact bool
	}{
		{"digit 2 during the second prompt", []aritest.DTMF{{Digit: "2", At: 150 * time.Millisecond}}, "es", 2, false},
		{"no digit: first language", nil, "en", 3, true},
		{"invalid digit: first language", []aritest.DTMF{{Digit: "9", At: 50 * time.Millisecond}}, "en", 1, false},
		{"digit 3 after the prompts", []aritest.DTMF{{Digit: "3", At: 400 * time.Millisecond}}, "fr", 3, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			call := h.placeSpec(aritest.CallSpec{CallerNumber: "+1555444000" + string(rune('0'+i)), DTMF: tc.dtmf})
			if tc.dtmf == nil {
				h.clock.waitArmed(t, menuTimeout, "the menu to wait for a digit")
				if len(h.rings()) != i {
					t.Fatal("the call rang before the menu timed out")
				}
				h.clock.Advance(menuTimeout)
			}
			rtctest.WaitFor(t, 10*time.Second, "ring", func() bool { return len(h.rings()) == i+1 })
			id := h.rings()[i]
			// The simulator starts a playback just after answering its
			// request, as Asterisk does: the ring can come first.
			var played []string
			rtctest.WaitFor(t, 10*time.Second, "the greeting", func() bool {
				played = call.Played()
				return slices.Contains(played, "sound:llamenos/greeting")
			})
			greet := slices.Index(played, "sound:llamenos/greeting")
			// Each language's prompt is followed by its digit: "for
			// English, press" 1.
			menuOK := greet >= 1
			for k, p := range played[:max(greet, 0)] {
				want := menu
				if k%2 == 1 {
					want = "digits:" + strconv.Itoa(k/2+1)
				}
				menuOK = menuOK && p == want
			}
			if heard := (greet + 1) / 2; !menuOK || heard > tc.menus || (tc.exact && greet != 2*tc.menus) {
				t.Errorf("caller heard %v, want up to %d menu prompts, each with its digit, then the greeting", played, tc.menus)
			}
			call.Hangup()
			rtctest.WaitFor(t, 5*time.Second, "final record", func() bool { return h.record(id).Outcome == store.OutcomeAbandoned })
			if got := h.record(id).Language; got != tc.want {
				t.Errorf("language %q, want %q", got, tc.want)
			}
		})
	}
	h.waitEmpty(5 * time.Second)
}

// playedDigits waits for the nth "digits:" playback and returns its digits.
func playedDigits(t *testing.T, c *aritest.Call, n int) string {
	t.Helper()
	var got string
	rtctest.WaitFor(t, 10*time.Second, "CAPTCHA digits", func() bool {
		k := 0
		for _, p := range c.Played() {
			if d, ok := strings.CutPrefix(p, "digits:"); ok {
				k++
				if k == n {
					got = d
					return true
				}
			}
		}
		return false
	})
	return got
}

func wrong(d string) string {
	b := []byte(d)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func TestCaptcha(t *testing.T) {
	const captchaTimeout = 10 * time.Second
	h := newHarness(t, harnessOpts{cfg: Config{CaptchaTimeout: captchaTimeout}})
	t.Cleanup(func() { dumpLogs(t, h) })
	h.settings(func(s *store.Settings) { s.CaptchaEnabled, s.CaptchaDigits, s.CaptchaAttempts = true, 4, 2 })
	h.onShift(1)
	h.start()

	t.Run("right digits", func(t *testing.T) {
		call := h.place("+15554440100", nil)
		d := playedDigits(t, call, 1)
		if len(d) != 4 {
			t.Fatalf("challenge %q, want 4 digits", d)
		}
		if len(h.rings()) != 0 {
			t.Fatal("rang before the CAPTCHA was solved")
		}
		if err := call.SendDTMF(d, 0); err != nil {
			t.Fatal(err)
		}
		rtctest.WaitFor(t, 10*time.Second, "ring", func() bool { return len(h.rings()) == 1 })
		call.Hangup()
		waitDone(t, call, 5*time.Second, "hangup")
	})

	t.Run("wrong twice", func(t *testing.T) {
		call := h.place("+15554440101", nil)
		d1 := playedDigits(t, call, 1)
		call.SendDTMF(wrong(d1), 0)
		d2 := playedDigits(t, call, 2)
		call.SendDTMF(wrong(d2), 0)
		waitDone(t, call, 10*time.Second, "hangup after the last attempt")
		p := call.Played()
		if !slices.Contains(p, "sound:llamenos/captcha-retry") || p[len(p)-1] != "sound:llamenos/captcha-fail" {
			t.Errorf("caller heard %v", p)
		}
		if len(h.rings()) != 1 {
			t.Error("a failed CAPTCHA rang volunteers")
		}
	})

	t.Run("no digits", func(t *testing.T) {
		call := h.place("+15554440102", nil)
		for n := range 2 {
			h.clock.waitArmed(t, captchaTimeout, "the CAPTCHA to wait for digits")
			if got := strings.Count(strings.Join(call.Played(), " "), "digits:"); got != n+1 {
				t.Fatalf("waiting for digits after %d challenges, want %d", got, n+1)
			}
			h.clock.Advance(captchaTimeout)
		}
		waitDone(t, call, 10*time.Second, "hangup after two timeouts")
		if n := strings.Count(strings.Join(call.Played(), " "), "digits:"); n != 2 {
			t.Errorf("%d challenges, want 2", n)
		}
	})
	rtctest.WaitFor(t, 5*time.Second, "records", func() bool {
		failed := 0
		for _, r := range h.calls() {
			if r.Outcome == store.OutcomeFailed {
				failed++
			}
		}
		return failed == 2
	})
	h.waitEmpty(5 * time.Second)
}
