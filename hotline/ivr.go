package hotline

import (
	"crypto/subtle"
	"fmt"
	"io"
	"strconv"

	"llamenos/ari"
	"llamenos/store"
)

// playThen plays media to the caller and runs then when it has finished.
// then also runs at once if the playback cannot start: a missing prompt
// must not leave the caller stuck.
func (c *call) playThen(media []string, lang string, then func()) {
	c.stopPlayback()
	c.pbSeq++
	id := fmt.Sprintf("%s-pb-%d", c.id, c.pbSeq)
	c.sub.Expect(ari.PlaybackKey(id))
	c.pb = &pendingPlayback{id: id, then: then}
	// The playback's id goes on the channel first: if this daemon dies
	// mid-prompt, the one that adopts the caller finds it there and stops
	// it, rather than letting it hold up the caller's next steps.
	if err := c.e.d.ARI.SetChannelVar(c.ctx(), c.chanID, playbackVar, id); err != nil && !ari.IsNotFound(err) {
		c.log.Warn("note the prompt's playback on the channel", "err", err)
	}
	if _, err := c.e.d.ARI.PlayChannel(c.ctx(), c.chanID, id, media, &ari.PlayOptions{Lang: lang}); err != nil {
		c.pb = nil
		c.sub.Forget(ari.PlaybackKey(id))
		if !ari.IsNotFound(err) {
			c.log.Warn("play a prompt", "err", err)
		}
		then()
	}
}

func (c *call) onPlaybackDone(id string) {
	if c.pb == nil || c.pb.id != id {
		return // stopped or superseded
	}
	then := c.pb.then
	c.pb = nil
	then()
}

// playbackVar is the channel variable holding the id of the last prompt
// played to the caller.
const playbackVar = "LLAMENOS_PLAYBACK"

// stopOrphanedPlayback stops the prompt a previous run of the daemon was
// playing to an adopted caller. Asterisk runs a channel's operations after
// its playback, so a greeting left playing would keep the caller from
// hearing the volunteer who answers until it ends.
func (c *call) stopOrphanedPlayback() {
	id, err := c.e.d.ARI.GetChannelVar(c.ctx(), c.chanID, playbackVar)
	if err != nil || id == "" {
		return // never set (not found), or the channel is gone
	}
	if err := c.e.d.ARI.StopPlayback(c.ctx(), id); err != nil {
		if !ari.IsNotFound(err) {
			c.log.Warn("stop the prompt a previous run left playing", "err", err)
		}
		return
	}
	c.log.Info("stopped the prompt a previous run left playing")
}

// stopPlayback stops the current prompt; its continuation is dropped.
func (c *call) stopPlayback() {
	if c.pb == nil {
		return
	}
	id := c.pb.id
	c.pb = nil
	if err := c.e.d.ARI.StopPlayback(c.ctx(), id); err != nil && !ari.IsNotFound(err) {
		c.log.Debug("stop playback", "err", err)
	}
}

func (c *call) onDigit(d string) {
	switch c.phase {
	case phVoicemail:
		if d == "#" {
			// During the prompt too: the caller chose to leave nothing.
			c.finishVoicemail("# pressed")
		}
	case phMenu:
		idx := -1
		if len(d) == 1 && d[0] >= '1' && d[0] <= '9' {
			idx = int(d[0] - '1')
		}
		c.chooseLanguage(idx)
	case phCaptcha:
		if c.captchaWant == "" {
			return // between challenges
		}
		c.captchaGot += d
		if len(c.captchaGot) < len(c.captchaWant) {
			return
		}
		c.disarm(tCaptcha)
		c.stopPlayback()
		ok := subtle.ConstantTimeCompare([]byte(c.captchaGot), []byte(c.captchaWant)) == 1
		c.captchaWant, c.captchaGot = "", ""
		if ok {
			c.log.Info("CAPTCHA passed")
			c.queue()
			return
		}
		c.captchaWrong()
	}
}

// ---- language menu ----

func (c *call) startMenu() {
	c.phase = phMenu
	c.menuIdx = 0
	c.nextMenuPrompt()
}

// nextMenuPrompt plays "for <language> press <n>" in each language in turn,
// then waits MenuTimeout for a digit.
func (c *call) nextMenuPrompt() {
	if c.phase != phMenu {
		return
	}
	langs := c.settings.Languages
	if c.menuIdx >= len(langs) {
		c.arm(tMenu, c.e.cfg.MenuTimeout)
		return
	}
	lang := langs[c.menuIdx]
	c.menuIdx++
	c.playThen([]string{"sound:" + c.e.cfg.Prompts.LanguageMenu, "digits:" + strconv.Itoa(c.menuIdx)}, lang, c.nextMenuPrompt)
}

// chooseLanguage takes the language at idx, or the first one for a missing
// or invalid digit.
func (c *call) chooseLanguage(idx int) {
	c.disarm(tMenu)
	c.stopPlayback()
	langs := c.settings.Languages
	if idx < 0 || idx >= len(langs) {
		idx = 0
	}
	c.lang = langs[idx]
	c.log.Info("language chosen", "lang", c.lang)
	if c.settings.CaptchaEnabled {
		c.startCaptcha()
		return
	}
	c.queue()
}

// ---- voice CAPTCHA ----

func (c *call) startCaptcha() {
	c.phase = phCaptcha
	c.captchaTries = 0
	c.newChallenge()
}

func (c *call) newChallenge() {
	if c.phase != phCaptcha {
		return
	}
	n := c.settings.CaptchaDigits
	if n <= 0 {
		n = 4
	}
	want, err := randomDigits(c.e.d.Rand, n)
	if err != nil {
		c.log.Error("draw CAPTCHA digits", "err", err)
		c.fail("captcha")
		return
	}
	c.captchaTries++
	c.captchaWant, c.captchaGot = want, ""
	c.playThen([]string{"sound:" + c.e.cfg.Prompts.CaptchaIntro, "digits:" + want}, c.lang, func() {
		if c.phase == phCaptcha && c.captchaWant != "" {
			c.arm(tCaptcha, c.e.cfg.CaptchaTimeout)
		}
	})
}

func (c *call) captchaWrong() {
	attempts := c.settings.CaptchaAttempts
	if attempts <= 0 {
		attempts = 3
	}
	if c.captchaTries >= attempts {
		c.log.Info("CAPTCHA failed; hanging up", "attempts", c.captchaTries)
		c.end(endSpec{outcome: store.OutcomeFailed, prompt: c.e.cfg.Prompts.CaptchaFail})
		return
	}
	// Fresh digits each time, so a caller cannot learn them by retrying.
	c.playThen([]string{"sound:" + c.e.cfg.Prompts.CaptchaRetry}, c.lang, c.newChallenge)
}

// randomDigits draws n uniform decimal digits (rejection sampling: bytes
// 250..255 would favour 0..5).
func randomDigits(r io.Reader, n int) (string, error) {
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("hotline: random digits: %w", err)
		}
		for _, b := range buf {
			if b < 250 && len(out) < n {
				out = append(out, '0'+b%10)
			}
		}
	}
	return string(out), nil
}
